"""Allocation round pages for space managers."""
