"""SQLite (aiosqlite) stores: the embedded default, no server needed."""
