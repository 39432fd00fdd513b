"""WeChat's HTTP API paths, served from the simulator's root."""
