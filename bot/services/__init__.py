"""The processes of Passerelle and the supervisor that starts and stops them."""
