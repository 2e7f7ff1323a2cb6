"""Database access: the query types callers build (``glance.db.queries``) and the
SQLAlchemy repositories that run them (``glance.db.sqlalchemy``)."""
