"""Reminders: the reporting calendar, what is due, the outbox and its dispatcher, the scheduler."""
