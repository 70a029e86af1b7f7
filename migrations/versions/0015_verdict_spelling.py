"""One spelling for the routing verdicts: `weight 0` becomes `zero_weight`, an identifier like
the others (`no_endpoint`, `would_dial`, `capped:<cap>`).

The planner writes the new word (the routing SQL is installed again), and the decisions
already stored with the calls (`call_logs.decision`: rounds of candidates, each with its
verdict) are rewritten, so a call's page, the API and the export read one word whatever the
call's age. Downgrade rewrites them back and puts back a planner that writes the old word.

Revision ID: 0015_verdict_spelling
"""
from alembic import op

from app.services.routing import sql as routing_sql

revision = "0015_verdict_spelling"
down_revision = "0014_counters_while_capped"
branch_labels = None
depends_on = None

# routing_sql.fingerprint() of the files this revision installs (tests compare it).
INSTALLS_ROUTING_SQL = "57d2cbe52873174e"

# The words as of this revision (a migration keeps its history: not read from app.domain).
OLD, NEW = "weight 0", "zero_weight"
PLANNER_FILE = "20_plan.sql"


def _respell(old: str, new: str) -> str:
    """Rewrite one verdict in every stored decision that has it, keeping the order of rounds
    and candidates and every other key."""
    return f"""
    UPDATE call_logs c
    SET decision = (
        SELECT jsonb_agg(
                   CASE WHEN jsonb_typeof(round_ -> 'candidates') = 'array'
                        THEN jsonb_set(round_, '{{candidates}}', (
                            SELECT coalesce(jsonb_agg(
                                       CASE WHEN candidate ->> 'verdict' = '{old}'
                                            THEN jsonb_set(candidate, '{{verdict}}', '"{new}"')
                                            ELSE candidate END ORDER BY n), '[]'::jsonb)
                            FROM jsonb_array_elements(round_ -> 'candidates')
                                 WITH ORDINALITY x(candidate, n)))
                        ELSE round_ END ORDER BY r)
        FROM jsonb_array_elements(c.decision) WITH ORDINALITY y(round_, r))
    WHERE jsonb_typeof(c.decision) = 'array'
      AND c.decision @> '[{{"candidates": [{{"verdict": "{old}"}}]}}]'
    """


def upgrade():
    for signature in routing_sql.SUPERSEDED:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    routing_sql.install(op.execute)
    op.execute(_respell(OLD, NEW))


def downgrade():
    # The other routing functions stay the newest files' (see 0009's downgrade); the planner
    # must write the word the older pages know.
    planner = (routing_sql.SQL_DIR / PLANNER_FILE).read_text()
    assert planner.count(f"'{NEW}'") == 1, f"{PLANNER_FILE} no longer spells {NEW!r} once"
    op.execute("SET LOCAL check_function_bodies = off")
    op.execute(planner.replace(f"'{NEW}'", f"'{OLD}'"))
    op.execute(_respell(NEW, OLD))
