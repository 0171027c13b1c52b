"""matrix adapter."""
