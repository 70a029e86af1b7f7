"""The soak's report."""
from __future__ import annotations


def print_report(report: dict) -> None:
    p = print
    cfg = report["config"]
    p()
    machine = report["machine"]
    p(f"CapConduit soak — {cfg['duration']:.0f} s, {cfg['rate']:g} calls/s offered (≤ "
      f"{cfg['max_channels']} channels), gunicorn × {cfg['api_workers']} workers, "
      f"{cfg['agi_servers']} FastAGI processes, {machine['cpus']} CPUs")
    p(f"machine CPU busy {machine['busy_share']:.0%} over the run, the soak's own processes "
      f"{machine['soak_share']:.0%} (the rest is other work on this machine); load average "
      f"at the end {machine['load_average_end']:.1f}")
    load = report["calls"]
    p(f"calls placed {load['placed']} ({load['placed'] / cfg['duration']:.1f}/s), dialled at "
      f"least once {load['dialled']}, skipped (generator full) {load['skipped_full']}, "
      f"drained in {load['drain_seconds']:.1f} s")
    p("  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(load["outcomes"].items(),
                                                              key=lambda kv: -kv[1])))
    p("  dials:    " + ", ".join(f"{k} {v}" for k, v in sorted(load["dial_statuses"].items(),
                                                              key=lambda kv: -kv[1])))
    p(f"  FastAGI sessions per process: {load['sessions_per_port']}; route session p50 "
      f"{load['route_p50_ms']:.1f} ms, p99 {load['route_p99_ms']:.1f} ms, max "
      f"{load['route_max_ms']:.0f} ms")
    api = report["api"]
    p(f"API requests {api['requests']} (served per gunicorn's log: "
      f"{report['logs']['served']['requests']}, p50 {report['logs']['served']['p50_ms']:.0f} ms, "
      f"p99 {report['logs']['served']['p99_ms']:.0f} ms); statuses {api['statuses']}")
    for route, values in api["routes"].items():
        p(f"  {route:48} {values['count']:6}  p50 {values['p50_ms'] or 0:6.1f} ms  p99 "
          f"{values['p99_ms'] or 0:7.1f} ms  {values['statuses']}")
    p(f"  seller edits/notes: {api['notes']}")
    p(f"  admin: {report['admin']['pages']} call-log pages, {report['admin']['duplicates']} "
      "rows repeated across pages")
    errors = report["errors"]
    p(f"errors: 5xx {errors['http_5xx']}, connection errors {errors['http_connection']}, "
      f"FastAGI failures {errors['agi_failures']}, calls rejected with CC_REASON=error "
      f"{errors['cc_reason_error']}, timed-out calls {errors['calls_timed_out']}, harness "
      f"{errors['harness']}, actors {errors['actors']}, sampler {errors['sampler']}, in the "
      f"servers' logs {errors['logged']}")
    p(f"  logs: {report['logs']['agi']} gunicorn {report['logs']['gunicorn']} "
      f"postgres {report['logs']['postgres']}")
    exact, sampled = report["caps"]["exact"], report["caps"]["sampled"]
    p(f"cap overshoots: exact (every reservation, {report['caps']['reservations']} checked) "
      f"{exact['overshoots']}, counter drift {exact['drift']}, trigger errors "
      f"{exact['trigger_errors']}; sampled ({sampled['samples']} "
      f"snapshots) {len(sampled['violations'])}, drift {len(sampled['drift'])}, "
      f"cap lowered under live calls {sampled['grandfathered']}")
    p("  peak simultaneous reservations (exact) / cap in force, reservations that filled the cap:")
    for row in exact["peaks"]:
        if row["cap_at_peak"] is None and row["worst"] is None:
            continue
        worst = "-" if row["worst"] is None else f"{row['worst']:+d}"
        p(f"    {row['kind']:15} {row['id']:3}  peak {row['peak']:4} / cap {row['cap_at_peak']}"
          f"  max(held - cap) {worst}  filled it {row['at_cap']} of {row['checked']}")
    p("  sampled: share of snapshots at or over the cap: " + ", ".join(
        f"{k} {v:.0%}" for k, v in sampled["at_cap_share"].items()))
    p(f"leaks after drain: {report['leaks']['after_drain']}")
    p(f"reconcile --grace 0: {report['leaks']['reconcile_output'].strip()}")
    p(f"leaks after reconcile: {report['leaks']['after_reconcile']}")
    rc = report["recount"]
    p(f"counters vs recount: {'agree' if rc['ok'] else 'DISAGREE'} (delivered {rc['delivered']}, "
      f"answered per channels {rc['answered_by_channels']}, calls logged {rc['calls_logged']} of "
      f"{rc['calls_seen']}){'' if rc['ok'] else ' ' + str(rc['problems'])}")
    p(f"  call log statuses: {rc['logged_statuses']}")
    p(f"memory (RSS MB: start → peak → end; USS at the end) and CPU seconds over "
      f"{report['traffic_seconds']:.0f} s:")
    for label, row in report["memory"].items():
        p(f"  {label:20} {row['start']:7.1f} → {row['peak']:7.1f} → {row['end']:7.1f}"
          f"   uss {row['uss_end']:6.1f}   cpu {row['cpu_s']:6.1f} s"
          f"{'   (' + str(row['processes']) + ' processes)' if row['processes'] > 1 else ''}")
    p(f"gunicorn worker pids seen: {report['gunicorn_workers_seen']} (no restarts when = "
      f"{cfg['api_workers']})")
    p(f"RESULT: {report['result']}")
