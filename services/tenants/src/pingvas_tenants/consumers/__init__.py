"""Event handlers (billing plan changes, partner webhooks): none yet. The manifest declares
what tenants consumes; until a handler exists for each type the runtime leaves those events
waiting in the queue."""
