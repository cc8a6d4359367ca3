"""The gateway's way out: the upstream services' HTTP APIs."""
