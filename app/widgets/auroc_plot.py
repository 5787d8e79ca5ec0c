"""AUROC by layer (one line per model x method), drawn with textual-plotext."""

from __future__ import annotations

from textual_plotext import PlotextPlot


class AurocPlot(PlotextPlot):
    """Test-split AUROC by layer from `probes_auroc`, with chance (0.5) for reference."""

    def show_series(self, series: dict[str, tuple[list[int], list[float]]], split: str = "test") -> None:
        """Replace the plotted lines."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(f"{split} AUROC by layer")
        plt.xlabel("layer")
        plt.ylim(0.4, 1.0)
        for name, (layers, aurocs) in sorted(series.items()):
            plt.plot(layers, aurocs, label=name, marker="braille")
        if series:
            layers = sorted({x for xs, _ in series.values() for x in xs})
            plt.plot(layers, [0.5] * len(layers), label="chance", color="gray")
        self.refresh()
