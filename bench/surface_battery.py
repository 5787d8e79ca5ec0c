"""Print the surface battery on the shipped data, and, where an activation cache exists, the probe's
margin over the best baseline, its LEACE-erased AUROC and the within-pair permutation null.

    python bench/surface_battery.py [--activations outputs/activations/smollm2-135m] [--no-minilm]
                                    [--n-boot 2000] [--n-perm 1000] [--n-perm-logistic 0]

Everything is fit on the train families; probe layers are chosen on validation AUROC; AUROC CIs are
instance-clustered; the margin CI is paired (same instance resamples for probe and baseline).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.cache import ActivationCache  # noqa: E402
from core.data import Dataset, load_dataset  # noqa: E402
from core.data.lexicon import Lexicon  # noqa: E402
from core.data.splits import assign_splits  # noqa: E402
from core.stats.erasure import erase_features  # noqa: E402
from core.stats.estimates import auroc, cluster_bootstrap_auroc  # noqa: E402
from core.stats.nulls import pair_permutation_test  # noqa: E402
from core.stats.probes import fit_probe  # noqa: E402
from core.stats.surface import (  # noqa: E402
    BASELINES,
    battery_table,
    best_baseline,
    crossfit_scores,
    erasure_features,
    probe_margin,
    surface_scores,
)


def find_cache(base: Path, dataset: Dataset) -> ActivationCache | None:
    """The complete cache under `base` built from this dataset (its key.json names the dataset hash)."""
    for key in sorted(base.glob("*/key.json")):
        cache = ActivationCache(key.parent)
        if cache.complete and json.loads(key.read_text()).get("dataset_sha256") == dataset.sha256:
            return cache
    return None


def probe_scores(acts: np.ndarray, y: np.ndarray, split: np.ndarray, method: str) -> tuple[int, np.ndarray]:
    """The validation-chosen layer of one probe method and its scores for every text."""
    train, val = split == "train", split == "validation"
    best: tuple[float, int, np.ndarray] | None = None
    for layer in range(acts.shape[0]):
        score = fit_probe(method, acts[layer][train], y[train]).score(acts[layer])
        a = auroc(score[val], y[val])
        if best is None or a > best[0]:
            best = (a, layer, score)
    assert best is not None
    return best[1], best[2]


def empathy_pairs(ds: Dataset, train: np.ndarray) -> np.ndarray:
    """[m, 2] row indices (empathic, non-empathic) of the train empathy pairs."""
    row = {t.text_id: i for i, t in enumerate(ds.texts)}
    pairs = [(row[p.positive.text_id], row[p.negative.text_id]) for p in ds.pairs if p.kind.startswith("empathy")]
    return np.array([p for p in pairs if train[p[0]] and train[p[1]]], dtype=int)


def probe_rows(acts: np.ndarray, ds: Dataset, scores: dict[str, np.ndarray], table: pd.DataFrame,
               lexicon: Lexicon, args: argparse.Namespace) -> pd.DataFrame:
    """Per probe method: chosen layer, test AUROC (clustered CI), margin over the best baselines, LEACE."""
    y = np.array([t.empathic for t in ds.texts])
    split = np.array(assign_splits(ds.texts, "families"))
    clusters = np.array([t.instance_id for t in ds.texts])
    test, train = split == "test", split == "train"
    best_val = best_baseline(table, "validation")
    best_test = best_baseline(table, "test")
    texts, families = [t.text for t in ds.texts], [t.family for t in ds.texts]
    bow = crossfit_scores("bow_tfidf", texts, y, list(split), families, lexicon)
    z_all = {"leace3": erasure_features(texts, lexicon), "leace3_bow": erasure_features(texts, lexicon, bow)}
    rows = []
    for method in ("mean_diff", "logistic"):
        layer, s = probe_scores(acts, y, split, method)
        lo, hi = cluster_bootstrap_auroc(s[test], y[test], clusters[test], args.n_boot, 0)
        row = {"method": method, "layer": layer, "test_auroc": auroc(s[test], y[test]), "ci_low": lo, "ci_high": hi}
        for tag, name in (("best_val", best_val), ("best_test", best_test)):
            m = probe_margin(s, scores[name], y, split, clusters, args.n_boot, 0)
            row |= {f"{tag}": name, f"margin_{tag}": m["margin"], f"lo_{tag}": m["margin_ci_low"],
                    f"hi_{tag}": m["margin_ci_high"]}
        for tag, z in z_all.items():  # probe refit on erased train activations, scored on erased test
            erased = erase_features(acts[layer].astype(np.float64), z, train)
            row[f"{tag}_test_auroc"] = auroc(fit_probe(method, erased[train], y[train]).score(erased[test]), y[test])
        rows.append(row)
    return pd.DataFrame(rows)


def null_rows(acts: np.ndarray, ds: Dataset, args: argparse.Namespace) -> pd.DataFrame:
    """Within-pair permutation null at every layer (test AUROC): per-layer and family-wise p."""
    y = np.array([t.empathic for t in ds.texts])
    split = np.array(assign_splits(ds.texts, "families"))
    train, test = split == "train", split == "test"
    pairs = empathy_pairs(ds, train)
    local = np.cumsum(train) - 1  # train-row index of each train text
    rows = []
    for method, n in (("mean_diff", args.n_perm), ("logistic", args.n_perm_logistic)):
        if n == 0:
            continue
        out = pair_permutation_test(acts[:, train], y[train], local[pairs], acts[:, test], y[test], n, 0, method)
        rows += [{"method": method, "layer": layer, "n_perm": n, "test_auroc": out["observed"][layer],
                  "null_max": float(out["null"][:, layer].max()), "p_layer": out["p_layer"][layer],
                  "p_family": out["p_family"][layer]} for layer in range(acts.shape[0])]
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--activations", type=Path, default=ROOT / "outputs" / "activations" / "smollm2-135m")
    parser.add_argument("--no-minilm", action="store_true", help="skip the sentence-embedding baseline (slow)")
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--n-perm", type=int, default=1000)
    parser.add_argument("--n-perm-logistic", type=int, default=0)
    args = parser.parse_args()
    ds = load_dataset(ROOT / "data" / "dataset_expanded.json", ROOT / "data" / "scenarios.json")
    lexicon = Lexicon.load(ROOT / "data" / "lexicon.json")
    y = np.array([t.empathic for t in ds.texts])
    splits = assign_splits(ds.texts, "families")
    names = [n for n in BASELINES if not (args.no_minilm and n == "minilm")]
    scores = surface_scores([t.text for t in ds.texts], y, splits, lexicon, names)
    table = battery_table(scores, y, splits, [t.instance_id for t in ds.texts], args.n_boot, 0)
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.float_format", "{:.3f}".format):
        print(table.pivot(index="baseline", columns="split", values=["auroc", "ci_low", "ci_high"]).round(3))
        cache = find_cache(args.activations, ds)
        if cache is None:
            print(f"\nno complete activation cache for this dataset under {args.activations}: probe rows skipped")
            return
        acts = cache.load([t.text_id for t in ds.texts])
        print(f"\nactivations {cache.root}: {acts.shape}")
        print(probe_rows(acts, ds, scores, table, lexicon, args).T)
        nulls = null_rows(acts, ds, args)
        if len(nulls):
            print(nulls.to_string(index=False))


if __name__ == "__main__":
    main()
