"""The gateway: Pingvas's edge (Litestar): authentication, rate limits, routing, the SPA."""
