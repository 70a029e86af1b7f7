"""The migration chain builds exactly the schema the models describe."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.database.partitions import include_object
from app.extensions import db


def test_autogenerate_finds_nothing_to_change(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                          "include_object": include_object})
        differences = compare_metadata(context, db.metadata)
    assert differences == []
