"""Loans of the network's shared equipment: inventory, rules, periods in French, bookings."""
