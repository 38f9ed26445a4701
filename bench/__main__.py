"""``python -m bench``: the performance benchmark (bench/perf.py)."""

from bench.perf import main

main()
