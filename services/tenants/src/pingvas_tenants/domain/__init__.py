"""The tenants context's rules: plain Python, no web framework, no database."""
