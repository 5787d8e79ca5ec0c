"""Where steering's rubric judge runs, and its own pass after the sweep when it cannot sit beside the model.

The judge is the steered model itself, or a second model placed by core.sizing.judge_placement (the
decision `python -m analyses plan` prints): beside the steered model on its GPU, on a GPU the model does
not use, or, when neither has the room, after the sweep. Llama-3-70B in bfloat16 is 141 GB of weights, so
on one H200 (141 GB) or two H100s the 8B judge fits nowhere beside it. In that case the sweep scores
everything but the judge. Then the steered model is freed, the judge loads, and more work units score
the generations (`judge-0000`, ...: `steering.batch_rows` each, so a kill loses at most one) and measure
the judge's AUROC (`judge`), the rows the sweep would have written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from analyses.harness import Tables, Units
from analyses.steering.scorers import auroc_row
from core.config import SteeringConfig
from core.context import RunContext
from core.models.loader import LoadedModel, load_model, visible_gpus
from core.models.scoring import judge_scores
from core.raters.judge import JudgeItem
from core.sizing import judge_placement, steering_needs

JUDGE_UNIT = "judge"


def placement(cfg: SteeringConfig, ctx: RunContext, tokens_per_row: int) -> tuple[str, str]:
    """(where the judge runs, its device): "self" (the steered model judges), "beside", "own_gpu" or
    "after_model". On the CPU, or for a model without a recorded shape, the judge goes beside it."""
    if cfg.judge == ctx.alias:
        return "self", ctx.device
    spec, judge = ctx.spec, ctx.params.model(cfg.judge)
    count, gpu_bytes = visible_gpus()
    if not ctx.device.startswith("cuda") or not count or spec.shape is None or judge.shape is None:
        return "beside", ctx.device
    model_need, judge_need = steering_needs(spec.shape, spec.dtype, judge.shape, judge.dtype, cfg.batch_rows,
                                            tokens_per_row)
    model_gpus = count if spec.device_map == "auto" else 1  # device_map="auto" spreads over every GPU
    where = judge_placement(model_need, judge_need, model_gpus, count, gpu_bytes, ctx.params.plan.memory_headroom)
    return where, (f"cuda:{model_gpus}" if where == "own_gpu" else ctx.device)


def load_judge(cfg: SteeringConfig, ctx: RunContext, device: str) -> LoadedModel:
    """The judge model: the run's own when it is the judge, else loaded on `device`."""
    if cfg.judge == ctx.alias:
        return ctx.model
    return load_model(cfg.judge, ctx.params.model(cfg.judge), device)


def judge_auroc(cfg: SteeringConfig, ctx: RunContext, judge: LoadedModel, rubric: Mapping[str, Any]) -> list[dict]:
    """The judge's AUROC (empathic vs not) on evenly spaced TEST texts; none when they hold one class."""
    test = [t for t in ctx.dataset.texts if t.split == "test"]
    pick = np.linspace(0, len(test) - 1, min(cfg.judge_validation_texts, len(test))).round().astype(int)
    y = np.array([test[i].empathic for i in pick])
    if len(set(y)) < 2:
        return []
    items = [JudgeItem(test[i].prompt, rubric[test[i].family], test[i].text) for i in pick]
    weak = sum(p.numel() for p in judge.hf.parameters()) < 1e9
    return [auroc_row("judge", cfg.judge, judge_scores(judge, items), y, 0, weak, cfg.n_bootstrap, ctx.seed)]


def judged(judge: LoadedModel, items: list[tuple[str, JudgeItem]]) -> pd.DataFrame:
    """steering_scores rows of the judge: (generation_id, "judge", expected rubric score)."""
    values = judge_scores(judge, [item for _, item in items]) if items else np.zeros(0)
    return pd.DataFrame({"generation_id": [gid for gid, _ in items], "scorer": "judge",
                         "value": np.asarray(values, dtype=float)})


def after_model(cfg: SteeringConfig, ctx: RunContext, device: str, generations: pd.DataFrame,
                items_of: Mapping[str, JudgeItem], rubric: Mapping[str, Any]) -> Units:
    """The judge pass after the sweep, as work units: `judge` (the judge's own AUROC on validation texts) and
    `judge-0000`, ... (cfg.batch_rows generations each), so a kill loses at most one of them. Only when a
    unit is left to compute is the steered model freed and the judge loaded."""
    ids = list(generations.generation_id)
    n = cfg.batch_rows
    chunks = {f"{JUDGE_UNIT}-{k:04d}": ids[s:s + n] for k, s in enumerate(range(0, len(ids), n))}

    def compute(todo: list[str]) -> Iterator[tuple[str, Tables]]:
        ctx.release_model()
        judge = load_judge(cfg, ctx, device)
        for unit in todo:
            if unit == JUDGE_UNIT:
                yield unit, {"steering_classifier": pd.DataFrame(judge_auroc(cfg, ctx, judge, rubric))}
            else:
                yield unit, {"steering_scores": judged(judge, [(gid, items_of[gid]) for gid in chunks[unit]])}

    return Units((JUDGE_UNIT, *chunks), compute)
