"""Alembic environment: runs on the engine the application hands over (see store.db)."""

from alembic import context

from bot.store.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # the alembic CLI, for generating revisions: WSOA_DATABASE_URL or SQLite
    from bot.config import Settings
    from bot.store.db import make_engine

    engine = make_engine(Settings().database_url)

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode rebuilds a table by copying it, dropping the old one and renaming the
        # copy; with foreign keys enforced, dropping a table others refer to fails.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
