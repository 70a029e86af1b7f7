"""Soak: the whole stack under mixed traffic for a set time, on this machine, self-contained.

    .venv/bin/python -m bench.soak                     # 600 s
    .venv/bin/python -m bench.soak --duration 60 --json /tmp/soak.json

What it starts (loopback only, in a temporary directory it deletes):
* an embedded PostgreSQL (app/database/embedded.py), `flask db upgrade`, `flask sample-data load`;
* the API under gunicorn (`--api-workers` sync workers, FLASK_ENV=production, random 48-char
  SECRET_KEY and INTERNAL_API_TOKEN);
* two `flask agi serve` processes on the same database.

Tight caps are set at the start through the API: client seats (admin), campaign concurrency and
a campaign daily cap (sellers), small link concurrency and total caps (sellers).

Then, for `--duration` seconds:
* calls arrive (Poisson, `--rate` per second, at most `--max-channels` at once) and each runs
  the shipped asterisk/extensions.conf like Asterisk would (fake_asterisk/dialplan.py via
  bench/asterisk_channel.py: real FastAGI sessions over TCP), every AGI session going to either
  FastAGI process at random. Each Dial rings a moment, then answers (and talks 1 s to
  `--max-talk`, 8 s by default), is busy, is not answered, fails, or the caller hangs up
  while it rings;
* the two sample sellers (session login, their real passwords) read their routing tables and
  PATCH link caps, weights, priorities and status, and raise the campaign daily cap;
* two admin sessions page through the call logs (keyset cursor, with and without filters),
  open calls and read the summary;
* a sampler reads every link, client and campaign in one snapshot every `--sample-every`
  seconds: in_flight against max_concurrency, delivered + in_flight against the total cap,
  today's answered + in_flight against the campaign daily cap, and in_flight against the
  reservations actually held;
* a trigger this script adds to its own throw-away database (schema `soak`) checks every
  single reservation at the moment it is written, under the engine's own locks: the
  reservations then held per link, client and campaign against the caps in force. This gives
  the exact peak of simultaneous reservations per entity, not a sampled one.

Afterwards (calls drained): leaked reservations and in-flight counters (must be 0), calls
never ended; `flask routing reconcile --grace 0` with no live channel (must end nothing, and
leave 0); every counter against a recount from the call logs; the call logs against what the
channels saw; RSS of every process at start, peak and end (psutil).

Exit code: 0 when every check holds and nothing failed; 1 when a cap was overshot, something
leaked or a counter disagrees with its recount; 3 when the invariants held but there were
errors (5xx, connection errors, FastAGI failures, calls rejected with CC_REASON=error,
tracebacks in the servers' logs, PostgreSQL errors such as deadlocks).

The parts: config (data set, caps, traffic mix), stack (the processes, started with bench.stack
like bench.agi_load), invariants (the exact trigger check, the sampler), memory (RSS and CPU
of every process), api (the sellers' and admins' traffic), calls (the Asterisk side), checks
(after the drain), report, main.
"""
