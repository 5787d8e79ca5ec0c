"""The workbench's plots, drawn from series read by app/reads.py (textual-plotext), and the layer x model
heatmap (Rich text: a grid of coloured cells reads better in a terminal than a plotext matrix).

Each `draw_*` fills a plotext figure and returns how many pages the plot has (`n` steps through them:
one null histogram per kind and layer, one dose-response per model, family and scorer, ...). Nothing is
computed here beyond binning a histogram for display.
"""

from __future__ import annotations

from rich.text import Text
from textual_plotext.plot import Plot

from app.reads import PlotData, Series

PLOTS = ("AUROC by layer", "Null histogram", "Dose-response by α", "Patching / mediation by layer",
         "Layer × model test AUROC")


def _reset(plt: Plot, title: str, xlabel: str) -> None:
    plt.clear_data()
    plt.clear_figure()
    plt.title(title)
    plt.xlabel(xlabel)


def draw_auroc(plt: Plot, data: PlotData, page: int) -> int:
    """Test AUROC by layer per model x method, with the random-null q95 and the best surface baseline."""
    _reset(plt, "test AUROC by layer (dotted: random-direction 95th pct; flat: best surface baseline)", "layer")
    for name, (xs, ys) in sorted(data.auroc.items()):
        plt.plot(xs, ys, label=name, marker="braille")
    for name, (xs, ys) in sorted(data.null_band.items()):
        plt.plot(xs, ys, label=name, marker="dot", color="gray")
    layers = sorted({x for xs, _ in data.auroc.values() for x in xs})
    for name, level in sorted(data.best_surface.items()):
        plt.plot(layers, [level] * len(layers), label=name, color="orange")
    if layers:
        plt.plot(layers, [0.5] * len(layers), label="chance", color="gray")
    return 1


def draw_null(plt: Plot, data: PlotData, page: int) -> int:
    """Histogram of one stored null (random directions or label permutations), the probe's AUROC marked."""
    if not data.nulls:
        _reset(plt, "no null samples (baselines_null_samples) yet", "AUROC")
        return 1
    null = data.nulls[page % len(data.nulls)]
    _reset(plt, f"{null.model} {null.kind} null at layer {null.layer} ({len(null.aurocs)} samples); "
           f"| = {null.method} probe {null.observed:.3f}", "AUROC")
    plt.hist(null.aurocs, bins=40, label=f"{null.kind} null")
    plt.vline(null.observed, color="red")
    plt.xlim(min(min(null.aurocs), 0.4), max(max(null.aurocs), null.observed, 0.6) + 0.02)
    return len(data.nulls)


def draw_dose(plt: Plot, data: PlotData, page: int) -> int:
    """Effect vs alpha=0 by alpha for one model/family/scorer, with its 95% CI."""
    names = sorted(data.dose)
    if not names:
        _reset(plt, "no steering_summary yet", "α")
        return 1
    name = names[page % len(names)]
    rows = data.dose[name]
    _reset(plt, f"steering effect vs α=0, 95% CI: {name}", "α")
    xs = [r[0] for r in rows]
    plt.plot(xs, [r[1] for r in rows], label="effect", marker="braille")
    plt.plot(xs, [r[2] for r in rows], label="CI low", color="gray")
    plt.plot(xs, [r[3] for r in rows], label="CI high", color="gray")
    plt.plot(xs, [0.0] * len(xs), color="white")
    return len(names)


def draw_causal(plt: Plot, data: PlotData, page: int) -> int:
    """Page 0: patching's change in logit difference by layer; page 1: mediation's NIE by layer."""
    pages = [("patching: mean change in logit difference by layer", data.patching),
             ("mediation: natural indirect effect by layer", data.mediation)]
    title, lines = pages[page % 2]
    _reset(plt, title if lines else f"{title}: no table yet", "layer")
    for name, (xs, ys) in sorted(lines.items()):
        plt.plot(xs, ys, label=name, marker="braille")
    return 2


DRAW = (draw_auroc, draw_null, draw_dose, draw_causal)

# Ten shades from chance (0.5, red) to perfect (1.0, green).
_SHADES = ["#a50026", "#d73027", "#f46d43", "#fdae61", "#fee08b", "#d9ef8b", "#a6d96a", "#66bd63",
           "#1a9850", "#006837"]


def shade(auroc: float) -> str:
    """The cell colour of an AUROC (values at or below 0.5 share the first shade)."""
    step = int((min(max(auroc, 0.5), 1.0) - 0.5) / 0.5 * (len(_SHADES) - 1) + 0.5)
    return _SHADES[step]


def heatmap(series: Series) -> Text:
    """Rows = model x method x profile, columns = layers (two cells each, one past 40 layers so an
    80-layer model still fits 120 columns), with the best layer per row and a legend."""
    if not series:
        return Text("no probes_auroc yet")
    layers = sorted({int(x) for xs, _ in series.values() for x in xs})
    cell = 2 if len(layers) <= 40 else 1
    width = max(len(name) for name in series)
    ticks = "".join(f"{x:<{5 * cell}d}"[: 5 * cell] for x in layers if x % 5 == 0) if cell == 1 else \
        "".join(f"{x:<2d}"[:2] if x % 5 == 0 else "  " for x in layers)
    out, bests = Text(f"{'layer':<{width}} {ticks}\n"), []
    for name, (xs, ys) in sorted(series.items()):
        out.append(f"{name:<{width}} ")
        by_layer = dict(zip((int(x) for x in xs), ys, strict=True))
        for layer in layers:
            value = by_layer.get(layer)
            out.append(" " * cell if value is None else "█" * cell, style="" if value is None else shade(value))
        best = max(by_layer, key=lambda k: by_layer[k])
        bests.append(f"{name:<{width}} max {by_layer[best]:.3f} @ {best}")
        # Beside the row while it fits; below the grid for deep models.
        out.append(f"  max {by_layer[best]:.3f} @ {best}\n" if cell == 2 else "\n")
    if cell == 1:
        out.append("\n" + "\n".join(bests) + "\n")
    out.append("\nAUROC  0.5 ")
    for colour in _SHADES:
        out.append("██", style=colour)
    out.append(" 1.0")
    return out
