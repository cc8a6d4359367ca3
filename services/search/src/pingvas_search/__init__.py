"""The search service: image and tenant-directory search, rebuilt from events."""
