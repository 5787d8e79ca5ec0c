"""`python -m analyses` — the one entry point that DVC, the Makefile and the TUI all call (P10).

  python -m analyses list
  python -m analyses validate-data PATH [--scenarios FILE]
  python -m analyses PHASE [--profile smoke|v0|paper] [--model ALIAS] [--set key=value ...]
  python -m analyses summary
  python -m analyses claims [--update]; python -m analyses report [--check]   (analyses/cli.py)
  python -m analyses deps [--write]   (each dvc.yaml stage's code deps, from the import graph)
  python -m analyses plan [--profile paper] [--gpu-memory GB] [--gpus N] [--price USD]   (GPU sizing, analyses/plan.py)
  python -m analyses dataset [promote] ...; python -m analyses review sample|import ...  (analyses/cli.py)

Exit codes: 0 ok, 2 bad input (file:line: field message, nothing written), 1 any other failure.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from analyses import PHASES, cli, plan
from core.errors import InputError

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m analyses", description="Empathy-in-Action probes v1")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="print the phases")
    sub.add_parser("summary", help="print headline results from outputs/results.duckdb")
    d = sub.add_parser("deps", help="each dvc.yaml stage's code deps from the import graph (exit 1: dvc.yaml stale)")
    d.add_argument("--write", action="store_true", help="write them into dvc.yaml")
    v = sub.add_parser("validate-data", help="check a dataset file (ours or v0 JSONL)")
    v.add_argument("path")
    v.add_argument("--scenarios", default="data/scenarios.json")
    for name, phase in PHASES.items():
        sp = sub.add_parser(name, help=phase.summary)
        sp.add_argument("--profile", default="smoke")
        sp.add_argument("--model", default=None, help="one model alias (default: the profile's models)")
        sp.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
        sp.add_argument("--params", default="params.yaml")
        if name == "dataset":
            cli.add_dataset_arguments(sp)
        if name == "probes":
            sp.add_argument("--eval", default=None, metavar="FILE",
                            help="score FILE (ours or v0 JSONL) with the probes trained on our train families")
    cli.add_review_parser(sub)
    plan.add_parser(sub)
    cli.add_claims_parsers(sub)
    return p


def _validate_data(path: str, scenarios: str) -> None:
    from core.data import load_dataset

    ds = load_dataset(path, scenarios)
    families = sorted({t.family for t in ds.texts})
    print(f"{path}: OK — {len(ds.texts)} texts, {len(ds.pairs)} pairs, {len(families)} families, "
          f"sha256 {ds.short_hash}")


def _run(args: argparse.Namespace) -> None:
    from analyses.harness import phase_models, run_phase
    from core.config import load_params
    from core.models.access import check_access, check_device, hub_models

    params = load_params(args.params, args.profile, args.overrides)
    aliases = phase_models(args.command, params, args.model)
    hub = hub_models(params, [a for a in aliases if a != "_all"], args.command)
    if PHASES[args.command].needs_model:  # phases that read extract's cache run anywhere
        check_device(hub, params.profile)  # before any compute, and before asking the hub
    check_access(hub)
    for alias in aliases:
        if alias != "_all":
            params.model(alias)
        tables = run_phase(args.command, params, alias, **cli.phase_variant(args))
        sizes = ", ".join(f"{k}={len(v)}" for k, v in tables.items() if k != "runs")
        print(f"{args.command} [{alias}] done: {sizes}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            for name, phase in PHASES.items():
                print(f"{name:10s} {phase.summary}")
        elif args.command == "validate-data":
            _validate_data(args.path, args.scenarios)
        elif args.command == "summary":
            from analyses.summary import print_summary

            print_summary()
        elif args.command == "plan":
            return plan.main(args)
        elif args.command == "deps":
            from analyses.deps import main as deps

            return deps(args.write)
        else:
            done = cli.dispatch(args)
            if done is False:
                _run(args)
            elif done is not True:
                return int(done)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception:  # noqa: BLE001 - the CLI's job is to map failures to exit code 1
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
