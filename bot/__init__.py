"""planbot: a chat-based tracker for government action plans."""
