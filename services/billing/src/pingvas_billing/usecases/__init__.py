"""Use cases: what routes, consumers, the sweeps and the CLI call; each opens (or runs in)
the transaction, applies the rules of `domain` and writes its outbox events."""
