"""The team side of the bot: staff accounts by invitation (and, next, handoffs). Never routed through Rasa."""
