"""The gateway: Pingvas's edge (Litestar). For now it only watches the services it fronts."""
