"""Use cases that touch the database: load, apply the pure rules, write, record events; never commit."""

# Every unit of work that records events tells the people concerned: importing any operation installs
# the notification centre's before-commit hook.
from matchmaker.operations import notifications as _notifications  # noqa: F401
