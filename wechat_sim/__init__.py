"""A local WeChat platform simulator: the api.weixin.qq.com endpoints, the callback driver that plays
WeChat's servers towards an app, and a chat console page. It never imports ``bot``."""
