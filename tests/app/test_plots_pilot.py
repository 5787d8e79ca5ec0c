"""Pilot tests of the Plots screen: keys 1-5 choose a plot, n pages within it; what each plot draws."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static
from textual_plotext import PlotextPlot

from app import make_app
from app.catalog import Catalog
from app.reads import load_plots
from app.screens.plots import PlotsScreen
from app.widgets.charts import heatmap, shade
from tests.app.test_tui_pilot import SIZE, settle


def canvas(screen: PlotsScreen) -> str:
    """Every line the plotext canvas renders (title, legend, axes)."""
    chart = screen.query_one("#chart", PlotextPlot)
    return "\n".join(chart.render_line(y).text for y in range(chart.size.height))


@pytest.mark.asyncio
async def test_plot_keys_and_pages(study: Path) -> None:
    app = make_app(root=study, mode="plots", gpu_probe=())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PlotsScreen)
        text = canvas(screen)
        assert "test AUROC by layer" in text and "m1 logistic" in text and "m1 random q95" in text
        assert "best surface: bow" in text and "chance" in text
        await pilot.press("2")
        text = canvas(screen)
        # Four nulls (random and permutation at layers 20 and 40), the observed AUROC in the title.
        assert screen.pages == 4 and "null at layer" in text and "probe 0." in text
        await pilot.press("n")
        assert screen.page == 1 and "m1 permutation null at layer 20" in canvas(screen)
        await pilot.press("3")
        assert screen.pages == 4 and "m1 ALL:task_conflict classifier" in canvas(screen)
        assert "CI low" in canvas(screen)
        await pilot.press("N")  # back from page 1 of 4 wraps to the last
        assert screen.page == 3 and "ALL:task_free vader" in canvas(screen)
        await pilot.press("4")
        assert "patching" in canvas(screen) and "m1 full@span" in canvas(screen)
        await pilot.press("n")
        assert "mediation" in canvas(screen) and "m1 NIE" in canvas(screen)
        await pilot.press("5")
        box = screen.query_one("#heatmap", Static)
        assert box.display and not screen.query_one("#chart").display
        assert "m1 logistic" in str(box.render()) and "max 0.950 @ 41" in str(box.render())
        await pilot.press("1")
        assert screen.query_one("#chart").display and not box.display


@pytest.mark.asyncio
async def test_plots_without_tables_say_so(repo: Path) -> None:
    app = make_app(root=repo, mode="plots", gpu_probe=())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        for key, words in (("2", "no null samples"), ("3", "no steering_summary"), ("4", "no table yet")):
            await pilot.press(key)
            assert words in canvas(screen), key


def test_plot_data_per_model(study: Path) -> None:
    out = study / "outputs"
    catalog = Catalog(out)
    data = load_plots(catalog)
    assert sorted(data.auroc) == ["m1 logistic [smoke]", "m1 mean_diff [smoke]"]
    assert len(data.auroc["m1 logistic [smoke]"][0]) == 42
    assert data.best_surface == {"m1 best surface: bow": 0.93}
    assert {(n.kind, n.layer, n.method, n.observed) for n in data.nulls} == {
        ("random", 20, "mean_diff", 0.7452), ("permutation", 20, "mean_diff", 0.7452),
        ("random", 40, "logistic", 0.9415), ("permutation", 40, "logistic", 0.9415)}
    assert all(len(n.aurocs) == 200 and n.aurocs == sorted(n.aurocs) for n in data.nulls)
    alphas, effect, lo, hi = zip(*data.dose["m1 ALL:task_free classifier"], strict=True)
    assert alphas == (-5.0, 0.0, 5.0) and lo[2] < effect[2] < hi[2]
    catalog.close()


def test_heatmap_cells_follow_auroc() -> None:
    assert shade(0.5) == shade(0.2) != shade(1.0)
    text = heatmap({"m1 logistic": ([0.0, 1.0], [0.5, 1.0]), "m2 logistic": ([1.0], [0.7])}).plain
    assert "m2 logistic" in text and "max 1.000 @ 1" in text and "max 0.700 @ 1" in text
    assert heatmap({}).plain == "no probes_auroc yet"


def test_an_80_layer_model_fits_120_columns() -> None:
    rows = heatmap({"llama3-70b logistic [paper]": ([float(x) for x in range(80)], [0.9] * 80)}).plain.splitlines()
    assert max(len(r) for r in rows) <= 120 and rows[1].count("█") == 80
