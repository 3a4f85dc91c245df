"""Conversations, channel-agnostic: an Inbound message in, Replies out."""
