"""Render's domain: prices, request validation, job state transitions, entitlements."""
