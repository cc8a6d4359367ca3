"""The billing service: plans, Lemon Squeezy, subscriptions and the credit ledger."""
