"""HTTP pages and endpoints that are not WeChat callbacks: health, metrics, H5 pages."""
