"""Render's HTTP API: the public routes (through the gateway) and the workers' internal API."""
