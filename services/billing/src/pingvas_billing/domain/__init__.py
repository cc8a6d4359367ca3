"""Billing's rules: Lemon Squeezy payloads read into plain values, subscription state
changes, the events they publish, and what a tenant is told to do."""
