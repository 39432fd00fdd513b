"""The operator console at /console/: accounts, sign-in, the layout and its pages (issue 12)."""
