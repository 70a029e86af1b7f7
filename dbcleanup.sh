#!/usr/bin/env bash
# Stop the embedded development PostgreSQL and delete its data (instance/postgres), so that the
# next `python3 dev.py run` starts from a fresh database with the sample data.
set -euo pipefail
cd "$(dirname "$0")"
data=instance/postgres
if [ -f "$data/postmaster.pid" ]; then
  pid=$(head -n 1 "$data/postmaster.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
fi
rm -rf "$data"
echo "removed $data"
