"""Talking to Rasa: the REST client, and the Rasa project (data, validation, training, environment)."""
