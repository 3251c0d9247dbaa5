"""Alembic environment: migrations run on the connection the application hands over."""

from alembic import context
from triage_api.models import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through triage_api.db.migrate(), which passes a connection")
context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
