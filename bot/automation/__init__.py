"""Automation: store and consumer profiles (RFM, affinity, lifecycle, tiers), journeys with
holdout and control groups, a controllable clock, and campaign sends (issue 13)."""
