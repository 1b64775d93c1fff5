"""Use cases that touch the database: load, apply the pure rules, write, record events; never commit."""
