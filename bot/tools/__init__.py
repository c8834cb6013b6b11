"""Operator commands behind `passerelle`: classify, evaluation, data imports and queries."""
