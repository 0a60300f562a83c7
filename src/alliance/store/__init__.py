"""Persistence: SQLAlchemy 2 models, the engine, and Alembic migrations (the only DDL)."""
