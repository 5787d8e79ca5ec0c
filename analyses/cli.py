"""CLI commands beside the phases: `dataset promote`, `dataset --backend`, `review sample|import`.

  python -m analyses dataset [--backend transformers|vllm] [phase options]   (generation, a phase)
  python -m analyses dataset promote [--all] [--model ALIAS] [--out FILE]     (the one writer of data/)
  python -m analyses review sample [--n 20] [--seed S] [--source data|generated] [--model ALIAS]
  python -m analyses review import FILE

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


def dispatch(args: argparse.Namespace) -> bool:
    """Run a non-phase command and return True; `dataset --backend X` becomes an override (False)."""
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
