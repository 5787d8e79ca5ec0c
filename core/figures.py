"""Figures (PNG + PDF via ctx.save_figure); each comes with the table it is drawn from."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: figures are files, never windows
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.manifold import TSNE  # noqa: E402


def embedding_table(x: np.ndarray, y: np.ndarray, families: np.ndarray, layer: int, perplexity: float,
                    seed: int) -> pd.DataFrame:
    """PCA (2 components) and t-SNE coordinates of one layer's activations."""
    pca = PCA(n_components=2, random_state=seed).fit_transform(x)
    tsne = TSNE(n_components=2, perplexity=min(perplexity, (len(x) - 1) / 3), random_state=seed,
                init="pca").fit_transform(x)
    return pd.DataFrame({"layer": layer, "empathic": y, "family": families, "pca_1": pca[:, 0], "pca_2": pca[:, 1],
                         "tsne_1": tsne[:, 0], "tsne_2": tsne[:, 1]})


def plot_embedding(ctx: Any, x: np.ndarray, y: np.ndarray, families: np.ndarray, layer: int,
                   perplexity: float) -> pd.DataFrame:
    """2x2 panels: PCA and t-SNE, coloured by class and by family."""
    table = embedding_table(x, y, families, layer, perplexity, ctx.seed)
    fig, axes = plt.subplots(2, 2, figsize=(11, 10))
    codes, names = pd.factorize(table.family)
    for row, (a, b) in enumerate((("pca_1", "pca_2"), ("tsne_1", "tsne_2"))):
        for label, colour in ((True, "tab:red"), (False, "tab:blue")):
            part = table[table.empathic == label]
            axes[row, 0].scatter(part[a], part[b], s=9, c=colour, label="empathic" if label else "not empathic")
        axes[row, 1].scatter(table[a], table[b], s=9, c=codes, cmap="tab20")
        axes[row, 0].set_title(f"{a[:-2].upper()} of layer {layer}, by class")
        axes[row, 1].set_title(f"{a[:-2].upper()} of layer {layer}, by family ({len(names)})")
    axes[0, 0].legend()
    ctx.save_figure(fig, f"embedding_layer{layer}")
    plt.close(fig)
    return table


def plot_auroc_by_layer(ctx: Any, table: pd.DataFrame, split: str = "test") -> None:
    """AUROC by layer per method with the bootstrap 95% CI as a band."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for method, part in table[table.split == split].groupby("method"):
        part = part.sort_values("layer")
        ax.plot(part.layer, part.auroc, label=method)
        ax.fill_between(part.layer, part.ci_low, part.ci_high, alpha=0.2)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set(xlabel="layer (decoder block output)", ylabel=f"{split} AUROC", ylim=(0, 1.02),
           title=f"{ctx.alias}: empathy probe AUROC by layer ({split} families)")
    ax.legend()
    ctx.save_figure(fig, f"auroc_by_layer_{split}")
    plt.close(fig)


def plot_null(ctx: Any, null: np.ndarray, observed: float, layer: int, kind: str) -> None:
    """Histogram of a null AUROC distribution with the probe's AUROC marked."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(null, bins=40, color="tab:grey")
    ax.axvline(observed, color="tab:red", lw=2, label=f"probe {observed:.3f}")
    ax.set(xlabel="AUROC", ylabel="count", title=f"{ctx.alias} layer {layer}: {kind} null (N={len(null)})")
    ax.legend()
    ctx.save_figure(fig, f"null_{kind}_layer{layer}")
    plt.close(fig)


def plot_erased_by_layer(ctx: Any, erased: pd.DataFrame, auroc_table: pd.DataFrame, surface: pd.DataFrame) -> None:
    """Per probe method, test AUROC by layer: the raw probe, the probe refit on each LEACE-erased set,
    and the best surface baseline's test AUROC (a flat line: it has no layer)."""
    methods = sorted(erased.method.unique())
    fig, axes = plt.subplots(1, len(methods), figsize=(7 * len(methods), 4.5), squeeze=False, sharey=True)
    best = surface[surface.chosen & (surface.split == "test")].iloc[0]
    raw = auroc_table[auroc_table.split == "test"]
    for ax, method in zip(axes[0], methods, strict=True):
        part = raw[raw.method == method].sort_values("layer")
        ax.plot(part.layer, part.auroc, color="black", label="probe (raw)")
        for name, rows in erased[erased.method == method].groupby("erased"):
            rows = rows.sort_values("layer")
            ax.plot(rows.layer, rows.auroc, label=f"erased: {name}")
            ax.fill_between(rows.layer, rows.ci_low, rows.ci_high, alpha=0.15)
        ax.axhline(best.auroc, color="tab:red", ls=":", label=f"best baseline: {best.baseline}")
        ax.axhline(0.5, color="grey", lw=0.8, ls="--")
        ax.set(xlabel="layer (decoder block output)", ylabel="test AUROC", ylim=(0.3, 1.02),
               title=f"{ctx.alias}: {method} probe, raw vs LEACE-erased")
        ax.legend(fontsize=8, loc="lower right")
    ctx.save_figure(fig, "erased_by_layer")
    plt.close(fig)
