"""The mail service's HTTP API: preferences, one-click unsubscribe, the local dev inbox."""
