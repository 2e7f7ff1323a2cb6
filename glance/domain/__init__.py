"""Domain entities: plain Python objects that own their rules (no HTTP, no SQL)."""
