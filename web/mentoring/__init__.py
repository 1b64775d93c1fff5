"""Mentoring in the browser: the mentor inbox, calendar and hours, and the escalation schedule."""
