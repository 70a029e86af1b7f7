"""Benchmarks and the soak, run from the repository root as modules:

    .venv/bin/python -m bench.agi_load     # floor vs engine-in-SQL vs full application
    .venv/bin/python -m bench.soak         # the whole stack under mixed traffic, caps exact
"""
