"""wechat_sim package."""
