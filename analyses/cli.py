"""CLI commands beside the phases: `dataset promote`, `dataset --backend`, `review sample|import`.

  python -m analyses dataset [--backend transformers|vllm] [phase options]   (generation, a phase)
  python -m analyses dataset promote [--all] [--model ALIAS] [--out FILE]     (the one writer of data/)
  python -m analyses review sample [--n 20] [--seed S] [--source data|generated] [--model ALIAS]
  python -m analyses review import FILE
  python -m analyses claims [--db DB] [--claims FILE] [--update]   (README claims vs results.duckdb)
  python -m analyses report [--check]                              (README results section from claims.yaml)

Heavy imports happen inside the handlers so `python -m analyses list` stays instant.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_dataset_arguments(sp: argparse.ArgumentParser) -> None:
    """Extra arguments of the `dataset` subcommand."""
    sp.add_argument("action", nargs="?", default="run", choices=["run", "promote"])
    sp.add_argument("--backend", choices=["transformers", "vllm"], help="alias of --set dataset.backend=...")
    sp.add_argument("--all", dest="promote_all", action="store_true", help="promote: every pair, reviewed or not")
    sp.add_argument("--out", default=None, help="promote: the new dataset file (default: <dataset>_v<N>.json)")


def add_review_parser(sub: Any) -> None:
    """The `review` subcommand."""
    r = sub.add_parser("review", help="human review: draw a sample sheet, import the filled-in sheet")
    r.add_argument("action", choices=["sample", "import"])
    r.add_argument("file", nargs="?", help="import: the filled-in sheet (CSV)")
    r.add_argument("--n", type=int, default=20)
    r.add_argument("--seed", type=int, default=None, help="default: params.yaml's seed")
    r.add_argument("--source", choices=["data", "generated"], default="data")
    r.add_argument("--model", default=None, help="generated: one generator alias (default: all)")
    r.add_argument("--profile", default="smoke")
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    r.add_argument("--params", default="params.yaml")


def phase_variant(args: argparse.Namespace) -> dict[str, Any]:
    """run_phase's extra arguments for a phase command: `probes --eval FILE` scores FILE with the trained probes
    and publishes beside them (outputs/probes/<model>@eval-<stem>-<sha>/); otherwise none."""
    path = getattr(args, "eval", None)
    if not path:
        return {}
    import hashlib

    from analyses.probes.external import runner
    from core.errors import InputError

    file = Path(path)
    if not file.is_file():
        raise InputError(file, "no such evaluation file")
    sha = hashlib.sha256(file.read_bytes()).hexdigest()[:8]
    return {"run": runner(file), "variant": f"@eval-{file.stem}-{sha}"}


def add_claims_parsers(sub: Any) -> None:
    """The `claims` and `report` subcommands."""
    c = sub.add_parser("claims", help="check every README claim against results.duckdb (exit 1 on a miss)")
    c.add_argument("--db", default=None, help="default: outputs/results.duckdb")
    c.add_argument("--claims", default="claims.yaml")
    c.add_argument("--update", action="store_true", help="rewrite claims.yaml's published values from the db")
    r = sub.add_parser("report", help="write the README's results section from claims.yaml")
    r.add_argument("--claims", default="claims.yaml")
    r.add_argument("--readme", default="README.md")
    r.add_argument("--check", action="store_true", help="write nothing; exit 1 when the README differs")


def dispatch(args: argparse.Namespace) -> bool | int:
    """Run a non-phase command and return True (or its exit code); `dataset --backend X` becomes an
    override (False)."""
    if args.command == "claims":
        return _claims(args)
    if args.command == "report":
        return _report(args)
    if args.command == "review":
        _review(args)
        return True
    if args.command == "dataset":
        if args.action == "promote":
            _promote(args)
            return True
        if args.backend:
            args.overrides.append(f"dataset.backend={args.backend}")
    return False


def _params(args: argparse.Namespace) -> Any:
    from core.config import load_params

    return load_params(args.params, args.profile, args.overrides)


def _promote(args: argparse.Namespace) -> None:
    import pandas as pd

    from analyses.dataset.promote import promote
    from core import paths
    from core.data.generated import load_generated
    from core.review import accepted
    from core.store import read_table

    params = _params(args)
    texts, pairs = load_generated([args.model] if args.model else None)
    if not args.promote_all and not pairs.empty:
        try:
            reviews = read_table(paths.review_dir(), "validate_review")
        except FileNotFoundError:
            reviews = pd.DataFrame(columns=["pair_id"])
        keep = accepted(reviews, params.dataset.promote_min_realism) if len(reviews) else set()
        pairs = pairs[pairs.pair_id.isin(keep)]
    done = promote(Path(params.data.dataset), Path(params.data.scenarios), texts, pairs,
                   Path(args.out) if args.out else None)
    print(f"wrote {done.path}: +{done.n_instances} instances, +{done.n_texts} texts "
          f"({done.n_skipped} already promoted). Point data.dataset at it in params.yaml, then run:\n"
          f"  dvc add data && dvc push")


def _review(args: argparse.Namespace) -> None:
    import pandas as pd

    from core import paths
    from core.errors import InputError
    from core.review import import_sheet, review_pairs, sheet_name, stratified_sample, write_sheet

    params = _params(args)
    if args.action == "sample":
        seed = params.seed if args.seed is None else args.seed
        pairs = review_pairs(params, args.source, args.model)
        if pairs.empty:
            raise InputError(args.source, "no pairs to sample (run `python -m analyses dataset` first?)")
        target = paths.review_sheet(sheet_name(args.source, args.n, seed))
        write_sheet(stratified_sample(pairs, args.n, seed), target)
        print(f"wrote {target}: fill in label_ok_a, label_ok_b (yes/no), realism (1-5), note; then run\n"
              f"  python -m analyses review import {target}")
        return
    if not args.file:
        raise InputError("review import", "give the filled-in sheet: python -m analyses review import FILE")
    known = pd.concat([review_pairs(params, "data", None), review_pairs(params, "generated", None)])
    table = import_sheet(Path(args.file), known, params.dataset.promote_min_realism)
    for r in table.itertuples():
        print(f"{r.scope:28s} {r.check:22s} {r.value:.3f}  (n={r.n})")


def claims_table(results: list[Any]) -> str:
    """The claims check as a plain-text table: claim, published, reproduced, ok."""
    from core.claims import fmt

    rows = [("claim", "published", "reproduced", "ok")]
    for r in results:
        # one more digit than published where there are digits, so a miss within rounding shows
        shown = fmt(r.reproduced, r.digits + (r.digits > 0)) if r.error is None else f"— ({r.error})"
        rows.append((r.id, fmt(r.published, r.digits), shown, "ok" if r.ok else "MISS"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(" ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)) + " " + row[3]
                     for row in rows)


def _claims(args: argparse.Namespace) -> int:
    from core import paths
    from core.claims import evaluate_claims
    from core.claims_report import update_published

    results = evaluate_claims(Path(args.db) if args.db else paths.database(), Path(args.claims))
    print(claims_table(results))
    if args.update:
        changed = update_published(Path(args.claims), results)
        print(f"{args.claims}: {len(changed)} published value(s) rewritten; now run `python -m analyses report`")
        return 0
    missed = [r.id for r in results if not r.ok]
    print(f"{len(results) - len(missed)} of {len(results)} claims reproduced"
          + (f"; missed: {missed}" if missed else ""))
    return 1 if missed else 0


def _report(args: argparse.Namespace) -> int:
    from core.claims import load_claims
    from core.claims_report import current_section, render_results, write_report

    if args.check:
        same = current_section(Path(args.readme).read_text(encoding="utf-8")) == render_results(
            load_claims(Path(args.claims)))
        print(f"{args.readme}: results section " + ("matches" if same else "differs from") + f" {args.claims}")
        return 0 if same else 1
    changed = write_report(Path(args.readme), Path(args.claims))
    print(f"{args.readme}: results section " + ("rewritten" if changed else "already up to date"))
    return 0
