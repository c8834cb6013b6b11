"""Rasa extensions that are not NLU components (loaded by the Rasa server from endpoints.yml)."""
