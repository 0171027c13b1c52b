"""The web server in the bot process: operator dashboard, self-service memory pages, health and metrics."""
