"""Every event's data model, one module per publishing context."""

from . import billing, mail, render, tenants  # noqa: F401
