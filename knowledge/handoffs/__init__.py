"""Handoffs to a human conseiller: the ticket and its rules (tickets.py), what people read about it (messages.py)."""
