"""The WeCom (企业微信) channel: a self-built app's encrypted callback in, the WeCom API out."""
