"""Staff accounts, their roles, and the append-only audit log of what they did."""
