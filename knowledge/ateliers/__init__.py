"""Ateliers: their sources (YAML, CSV, iCalendar), sign-up with a waiting list, and the messages about them."""
