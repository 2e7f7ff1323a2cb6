"""Database access. Callers use ``glance.db.api`` (the SQLAlchemy repository)."""
