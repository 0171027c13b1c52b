"""Reminders: what a person asked to be told later, delivered once where it was asked."""
