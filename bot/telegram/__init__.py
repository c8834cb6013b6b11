"""The Telegram front (python-telegram-bot): handlers, rendering, and the jobs of the bot process."""
