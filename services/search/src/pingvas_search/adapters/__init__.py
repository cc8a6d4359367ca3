"""Database, bus and external-API adapters."""
