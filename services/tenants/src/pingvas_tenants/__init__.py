"""The tenants service: tenants, users, memberships, invitations, API keys, webhooks."""
