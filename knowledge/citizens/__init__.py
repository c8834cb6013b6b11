"""What Passerelle keeps about citizens and how it is protected: conversations and their retention, masking of
sensitive data, « Ça a marché ? » feedback, erasure on request, and the purge of Rasa's tracker events."""
