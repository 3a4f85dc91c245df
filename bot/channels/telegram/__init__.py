"""The Telegram channel: python-telegram-bot over HTTP, polling or webhook, within Telegram's limits."""
