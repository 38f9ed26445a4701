"""``python -m flows.simulator --port 8800 --accounts 1000 --seed 7``: serve until Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from flows.simulator.server import serve


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m flows.simulator",
                                     description="Serve a simulated government on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8800, help="port to listen on (0: any free port)")
    parser.add_argument("--accounts", type=int, default=12, help="number of accounts to generate")
    parser.add_argument("--seed", type=int, default=7, help="random seed; the same seed gives the same data")
    parser.add_argument("--rate-limit", type=int, default=300,
                        help="requests per window (Mastodon: per instance and client; Discourse: per client)")
    parser.add_argument("--rate-window", type=float, default=300, help="seconds in a rate-limit window (default 300)")
    parser.add_argument("--platforms", default=None,
                        help='"all", or comma-separated fake platforms (default: mastodon,wordpress,feed)')
    parser.add_argument("--inbox-file", default=None, help="also append each apprise delivery to this JSONL file")
    parser.add_argument("--faults", default=None, metavar="SPEC",
                        help="break chosen accounts' responses, e.g. mastodon:5xx-burst@10%%,account=ID:truncated "
                             "(flows/simulator/faults.py)")
    args = parser.parse_args(argv)
    serve(port=args.port, accounts=args.accounts, seed=args.seed, rate_limit=args.rate_limit,
          rate_window_s=args.rate_window, inbox_file=args.inbox_file, platforms=args.platforms, faults=args.faults)
    return 0


if __name__ == "__main__":
    sys.exit(main())
