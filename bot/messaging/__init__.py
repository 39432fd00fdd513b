"""What was pushed to whom, and what WeChat reported back (delivery receipts)."""
