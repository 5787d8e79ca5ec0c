"""`python -m app [--outputs DIR] [--profile P] [--mode M]`: open the TUI (DESIGN §6)."""

from __future__ import annotations

import argparse

from app import make_app
from app.config import MODES


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the app until the user quits."""
    p = argparse.ArgumentParser(prog="python -m app", description="Empathy-in-Action probes: TUI")
    p.add_argument("--outputs", default=None, help="results folder (default: ./outputs)")
    p.add_argument("--profile", default="smoke", help="profile for launched phases (smoke|v0|paper)")
    p.add_argument("--mode", default="findings", choices=list(MODES), help="the screen to open on")
    p.add_argument("--results", action="store_true", help="open on the Results screen (same as --mode results)")
    args = p.parse_args(argv)
    make_app(args.outputs, profile=args.profile, mode="results" if args.results else args.mode).run()


if __name__ == "__main__":
    main()
