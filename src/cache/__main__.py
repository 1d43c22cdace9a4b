"""``python -m cache``: the operator's command line (see :mod:`cache.cli`)."""

from cache.cli import main

main(prog_name="cache")
