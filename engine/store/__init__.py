"""Persistence: SQLAlchemy 2.0 models, the database set-up and Alembic migrations."""
