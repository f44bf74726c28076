"""Bench-only Django site: the real settings and URLs plus a bare signing view (bench/api.py).

Lives in a sub-package so that `make bench`, which runs every bench/*.py, does not run it."""
