"""Use cases: one explicit method each (policy -> rules -> repository -> store -> notify)."""
