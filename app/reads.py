"""What the workbench screens read, as plain data (no Textual): provenance, transcripts, plot series.

Every query is one of core.views' (P3: the SQL lives there); this module only shapes rows for display.
Screens call these from thread workers and post the result back as a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from app.catalog import Catalog
from core import views

Series = dict[str, tuple[list[float], list[float]]]
Dose = dict[str, list[tuple[float, float, float, float]]]


@dataclass(frozen=True)
class PromptKey:
    """One steering prompt and sample: what the Transcripts screen steps through."""

    model: str
    layer: int
    prompt_id: str
    family: str
    task_free: bool
    sample: int


@dataclass(frozen=True)
class Generation:
    """One steered generation with its scores and coherence."""

    alpha: float
    alpha_rel: float | None
    text: str
    n_tokens: int | None
    generation_id: str
    run_id: str
    perplexity: float | None
    repetition: float | None
    degenerate: bool | None
    scores: str


@dataclass(frozen=True)
class NullSample:
    """The null AUROCs of one (model, kind, layer), and the probe's test AUROC there."""

    model: str
    kind: str
    method: str
    layer: int
    observed: float
    aurocs: list[float]


def provenance(catalog: Catalog, run_id: str) -> list[tuple[str, str]]:
    """(field, value) of the run `run_id`; library versions one per line; [] when unknown."""
    names, rows = catalog.read_named(views.PROVENANCE, [run_id])
    if not rows:
        return []
    fields: list[tuple[str, str]] = []
    for name, value in zip(names, rows[0], strict=True):
        if name == "versions" and isinstance(value, str):
            fields += [(f"  {lib}", str(v)) for lib, v in sorted(_json(value).items())]
            continue
        fields.append((name, "" if value is None else str(value)))
    return fields


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"versions": text}
    return value if isinstance(value, dict) else {"versions": text}


def steering_prompts(catalog: Catalog) -> list[PromptKey]:
    """Every (model, layer, prompt, sample) with generations, task prompts first."""
    return [PromptKey(m, int(layer), p, f, bool(tf), int(s))
            for m, layer, p, f, tf, s in catalog.read(views.STEERING_PROMPTS)]


def transcripts(catalog: Catalog, key: PromptKey) -> list[Generation]:
    """The prompt's generations across alpha (ascending), for one sample."""
    rows = catalog.read(views.TRANSCRIPTS, [key.model, key.layer, key.prompt_id, key.sample])
    return [Generation(float(a), _float(ar), t or "", n, g, r, _float(pp), _float(rep), d, sc or "")
            for a, ar, t, n, g, r, pp, rep, d, sc in rows]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def series(catalog: Catalog, query: views.Query) -> Series:
    """(name, x, y) rows of a plot query grouped into one (xs, ys) line per name."""
    out: Series = {}
    for name, x, y in catalog.read(query):
        if y is None:
            continue
        xs, ys = out.setdefault(str(name), ([], []))
        xs.append(float(x))
        ys.append(float(y))
    return out


def levels(catalog: Catalog, query: views.Query) -> dict[str, float]:
    """(name, value) rows as a mapping: horizontal reference lines such as the best surface baseline."""
    return {str(name): float(value) for name, value in catalog.read(query) if value is not None}


def dose_response(catalog: Catalog) -> Dose:
    """Per model/family/scorer: (alpha, effect, ci_low, ci_high) rows, alpha ascending."""
    out: Dose = {}
    for name, alpha, effect, lo, hi in catalog.read(views.PLOT_DOSE):
        if effect is not None:
            out.setdefault(str(name), []).append(
                (float(alpha), float(effect), float(lo if lo is not None else effect),
                 float(hi if hi is not None else effect)))
    return out


def null_samples(catalog: Catalog) -> list[NullSample]:
    """The stored null samples at each chosen layer."""
    return [NullSample(m, k, meth, int(layer), float(obs), [float(v) for v in aurocs])
            for m, k, meth, layer, obs, aurocs in catalog.read(views.PLOT_NULL_SAMPLES)]


@dataclass
class PlotData:
    """Everything the Plots screen draws, read in one worker."""

    auroc: Series = field(default_factory=dict)
    null_band: Series = field(default_factory=dict)
    best_surface: dict[str, float] = field(default_factory=dict)
    nulls: list[NullSample] = field(default_factory=list)
    dose: Dose = field(default_factory=dict)
    patching: Series = field(default_factory=dict)
    mediation: Series = field(default_factory=dict)
    heatmap: Series = field(default_factory=dict)


def load_plots(catalog: Catalog) -> PlotData:
    """Every plot's series in one pass (a worker calls this)."""
    return PlotData(
        auroc=series(catalog, views.PLOT_AUROC), null_band=series(catalog, views.PLOT_NULL_BAND),
        best_surface=levels(catalog, views.PLOT_BEST_SURFACE), nulls=null_samples(catalog),
        dose=dose_response(catalog), patching=series(catalog, views.PLOT_PATCHING),
        mediation=series(catalog, views.PLOT_MEDIATION), heatmap=series(catalog, views.PLOT_HEATMAP))
