"""A campaign's and a client's counters are kept only while a cap reads them.

Every call used to raise and lower the in-flight counters of its link, its client and its
campaign, and those rows stayed locked until the call's commit was durable: one slow commit
paused every call of the campaign (and of the client across campaigns). A campaign now keeps
its in-flight and day counters only while it has a concurrency or daily cap, a client its
in-flight counter only while it has seats; otherwise the routing steps only key-share-lock the
row. Setting a cap takes the row FOR UPDATE (waiting for those steps) and recounts it, by a
trigger on the cap columns, whatever writes them; removing the last cap stops counting.

Rows without caps are zeroed here (their counters are no longer kept); capped rows keep their
exact counts. The routing functions are installed again.

Revision ID: 0014_counters_while_capped
"""
from alembic import op

from app.services.routing import sql as routing_sql

revision = "0014_counters_while_capped"
down_revision = "0013_hot_path_writes"
branch_labels = None
depends_on = None

# routing_sql.fingerprint() of the files this revision installs (tests compare it).
INSTALLS_ROUTING_SQL = "ba0aff33e6ff60fe"

# table -> (the trigger's function, the cap columns whose change starts or stops counting)
COUNTING_TRIGGERS = {
    "clients": ("cc_start_counting_client", "max_concurrency"),
    "campaigns": ("cc_start_counting_campaign", "max_concurrency, daily_cap"),
}


def upgrade():
    for signature in routing_sql.SUPERSEDED:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    routing_sql.install(op.execute)
    op.execute("UPDATE clients SET in_flight = 0 WHERE max_concurrency IS NULL AND in_flight <> 0")
    op.execute("UPDATE campaigns SET in_flight = 0, day_count = 0, day_start = NULL "
               "WHERE NOT cc_campaign_counts(max_concurrency, daily_cap)")
    for table, (function, columns) in COUNTING_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {function} BEFORE UPDATE OF {columns} ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {function}()")


def downgrade():
    # The routing functions stay the newest files' (see 0009's downgrade); the counters the
    # older engine keeps on every row are recounted.
    for table, (function, _) in COUNTING_TRIGGERS.items():
        op.execute(f"DROP TRIGGER {function} ON {table}")
    op.execute("UPDATE clients c SET in_flight = "
               "(SELECT count(*) FROM reservations r WHERE r.client_id = c.id)")
    op.execute("""UPDATE campaigns cp SET in_flight =
                      (SELECT count(*) FROM reservations r WHERE r.campaign_id = cp.id),
                  day_start = cc_period_start('day', cp.timezone, now()),
                  day_count = (SELECT count(*) FROM call_logs c
                               WHERE c.campaign_id = cp.id AND c.status = 'answered'
                                 AND c.ended_at >= cc_period_start('day', cp.timezone, now()))
                  WHERE NOT cc_campaign_counts(cp.max_concurrency, cp.daily_cap)""")
