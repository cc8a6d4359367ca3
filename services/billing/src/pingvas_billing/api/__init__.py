"""Billing's HTTP API: the public routes (through the gateway) and Lemon Squeezy's webhook."""
