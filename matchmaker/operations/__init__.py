"""Use cases that touch the database: load rows, apply the pure rules, write rows, record events; never commit."""
