"""The gateway's way out: the upstream services' HTTP APIs, and the Litestar stores its
little state lives in (Redis, or in process)."""
