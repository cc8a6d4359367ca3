"""HTTP routes, all under /api/v1 exactly as the gateway exposes them (plus /internal)."""
