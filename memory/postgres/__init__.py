"""Postgres backends (asyncpg) for every relational store, chosen by `DATABASE_URL`."""
