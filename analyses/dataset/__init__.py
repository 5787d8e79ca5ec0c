"""dataset — generate more contrastive responses with a model, with provenance, resumably.

Method. For each selected scenario instance (round-robin over the families, in a seeded family
order, up to `max_instances`) and each sample k, the generator writes the agent's first-person
response in every cell of the 2x2 design — {empathic, not} x {task completed, abandoned}, or
{empathic, not} for task-free families — from a per-cell prompt template (analyses/dataset/templates.py)
rendered with the generator's chat template. All cells of one generated instance share a target
length (seeded, within `target_words`), so its pairs come out length-matched; every `crossed_every`-th
instance uses the lexically crossed templates (the empathic text avoids the empathy lexicon, the
other one uses some of its words in a non-empathic sense). Generation is batched: one work unit is
`instances_per_unit` generated instances, one batched call (transformers: one left-padded `generate`
seeded with the unit's seed; vLLM: one engine call in a separate process, a seed per request), and
one Parquet part per table, so a killed run resumes at the first unfinished unit and never writes an
id twice. Every text records its generator (model id + revision), backend, temperature, top-p, seed
and prompt template id; pairs are derived from the cells exactly as for the authored data.

Tables: `dataset_generated` (one row per text), `dataset_generated_pairs` (one row per pair, with
word counts and whether it meets the 60-150 words and ±15% rules), `dataset_summary`. Nothing is
written under data/: `python -m analyses dataset promote` merges reviewed pairs into a new file there.
"""

from __future__ import annotations

import itertools
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import pandas as pd
from tqdm import tqdm

from analyses.dataset.templates import SYSTEM, Cell, cells_for, template_id, user_prompt
from analyses.harness import PhaseRun, Rows, Tables, Units, final
from core.config import DatasetConfig, ValidateConfig
from core.context import RunContext
from core.data import Dataset, Text, derive_pairs
from core.data.generated import PAIRS, TEXTS
from core.data.lexicon import Lexicon
from core.data.schema import Instance
from core.data.textchecks import word_count
from core.models.generation import GenRequest, GenResult, Sampling, TransformersBackend, VllmBackend, VllmSettings


@dataclass(frozen=True)
class Planned:
    """One request and what its text will be."""

    request: GenRequest
    gid: str  # the generated instance: source instance x generator x seed x sample
    instance: Instance
    cell: Cell
    template: str


def select_instances(ds: Dataset, limit: int | None, seed: int) -> list[Instance]:
    """Instances round-robin over the families (family order shuffled with the seed), first `limit`."""
    families = list(ds.families)
    random.Random(seed).shuffle(families)
    queues = {f: [i for i in ds.instances.values() if i.family == f] for f in families}
    order: list[Instance] = []
    while any(queues.values()):
        order += [queues[f].pop(0) for f in families if queues[f]]
    return order[:limit] if limit else order


def _cells(ds: Dataset, cfg: DatasetConfig, inst: Instance, gid: str, crossed: bool, lexicon: list[str],
           seeds: Iterator[int]) -> list[Planned]:
    """The requests of one generated instance: every cell, one shared target length."""
    rng = random.Random(gid)
    target = rng.randint(*cfg.target_words)
    use = rng.sample(lexicon, min(8, len(lexicon)))  # the words a crossed non-empathic text must use
    family, group = ds.families[inst.family], []
    for cell in cells_for(family.task_free):
        words = (lexicon if cell.empathic else use) if crossed else None
        request = GenRequest(f"{gid}:{cell.name}", SYSTEM, user_prompt(family, inst.situation, cell, target, words),
                             next(seeds))
        group.append(Planned(request, gid, inst, cell, template_id(cell, crossed)))
    return group


def plan(ds: Dataset, cfg: DatasetConfig, lexicon: Lexicon, alias: str, seed: int) -> list[list[Planned]]:
    """Every request of the run, grouped into work units (lists of whole generated instances).

    A request's seed is the run seed plus its position in the plan: stable across reruns and resumes.
    """
    words, seeds = sorted(lexicon.words), itertools.count(seed)
    groups = [_cells(ds, cfg, inst, f"{inst.instance_id}~{alias}~s{seed}~{k}",
                     index % cfg.crossed_every == cfg.crossed_every - 1, words, seeds)
              for index, inst in enumerate(select_instances(ds, cfg.max_instances, seed)) for k in range(cfg.samples)]
    size = cfg.instances_per_unit
    return [[p for g in groups[i:i + size] for p in g] for i in range(0, len(groups), size)]


def unit_id(index: int) -> str:
    """The id of the index-th work unit of the plan."""
    return f"u{index:04d}"


def _text_rows(ds: Dataset, cfg: DatasetConfig, backend: str, model_id: str, revision: str, unit: str,
               planned: list[Planned], results: list[GenResult]) -> pd.DataFrame:
    by_id = {r.request_id: r for r in results}
    rows = []
    for p in planned:
        r = by_id[p.request.request_id]
        rows.append({"text_id": p.request.request_id, "instance_id": p.gid, "source_instance": p.instance.instance_id,
                     "family": p.instance.family, "split": ds.families[p.instance.family].split,
                     "empathic": p.cell.empathic, "task": p.cell.task, "text": r.text, "words": word_count(r.text),
                     "n_tokens": r.n_tokens, "finished": r.finished, "source": f"{model_id}@{revision}",
                     "generator_model": model_id, "generator_revision": revision, "backend": backend,
                     "temperature": cfg.temperature, "top_p": cfg.top_p, "seed": r.seed,
                     "prompt_template": p.template, "max_new_tokens": cfg.max_new_tokens, "unit": unit})
    return pd.DataFrame(rows)


def pair_rows(texts: pd.DataFrame, rules: ValidateConfig) -> pd.DataFrame:
    """The pairs of generated texts, derived from their cells like the authored data's pairs, checked
    against the dataset's length rules (validate's settings)."""
    objs = [Text(r.text_id, r.instance_id, r.family, r.split, bool(r.empathic), r.task, "", r.text, r.source)
            for r in texts.itertuples()]
    rows = []
    for p in derive_pairs(objs):
        wa, wb = word_count(p.positive.text), word_count(p.negative.text)
        rows.append({"pair_id": p.pair_id, "pair_kind": p.kind, "instance_id": p.instance_id, "family": p.family,
                     "split": p.split, "text_id_a": p.positive.text_id, "text_id_b": p.negative.text_id,
                     "words_a": wa, "words_b": wb,
                     "in_range": all(rules.words_min <= w <= rules.words_max for w in (wa, wb)),
                     "within_tolerance": abs(wa - wb) <= rules.length_tolerance * min(wa, wb)})
    return pd.DataFrame(rows)


class Backend(Protocol):
    """What generates the texts (core.models.generation's backends; tests pass a fake through BACKENDS)."""

    name: str
    model_id: str
    revision: str

    def generate_units(self, units: list[tuple[str, list[GenRequest]]]) -> Iterator[tuple[str, list[GenResult]]]:
        """Yield (unit id, results) for each unit, in order, as they finish."""
        ...


def _sampling(cfg: DatasetConfig) -> Sampling:
    return Sampling(max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature, top_p=cfg.top_p)


def transformers_backend(cfg: DatasetConfig, ctx: RunContext) -> Backend:
    """transformers `generate` on the run's model (CPU or GPU)."""
    return TransformersBackend(ctx.model, _sampling(cfg))


def vllm_backend(cfg: DatasetConfig, ctx: RunContext) -> Backend:
    """vLLM in its own process (GPU)."""
    settings = VllmSettings(cfg.vllm_tensor_parallel_size, cfg.vllm_max_model_len, cfg.vllm_gpu_memory_utilization)
    return VllmBackend(ctx.spec, _sampling(cfg), settings, ctx.seed)


# dataset.backend -> how to build it (the public seam: a test swaps in a fake generator here).
BACKENDS: dict[str, Callable[[DatasetConfig, RunContext], Backend]] = {
    "transformers": transformers_backend, "vllm": vllm_backend}


@dataclass
class Speed:
    """What this invocation generated (resumed units cost nothing): new tokens and seconds."""

    tokens: int = 0
    seconds: float = 0.0


def run(cfg: DatasetConfig, ctx: RunContext) -> PhaseRun:
    """Generate every work unit (a rerun of a killed run only the unfinished ones); summarise all units."""
    ds = ctx.dataset
    planned = {unit_id(i): u for i, u in enumerate(plan(ds, cfg, Lexicon.load(ctx.params.data.lexicon), ctx.alias,
                                                        ctx.seed))}
    speed = Speed()

    def generate(todo: list[str]) -> Iterator[tuple[str, Tables]]:
        backend = ctx.opened(BACKENDS[cfg.backend](cfg, ctx))
        started = time.perf_counter()
        stream = backend.generate_units([(uid, [p.request for p in planned[uid]]) for uid in todo])
        for uid, results in tqdm(stream, total=len(todo), desc=f"dataset {ctx.alias}", unit="unit", file=sys.stderr):
            texts = _text_rows(ds, cfg, backend.name, backend.model_id, backend.revision, uid, planned[uid], results)
            speed.tokens += int(texts.n_tokens.sum())
            yield uid, {TEXTS: texts, PAIRS: pair_rows(texts, ctx.params.validate)}
        speed.seconds = time.perf_counter() - started

    generated = yield Units(tuple(planned), generate)
    yield final({"dataset_summary": summarise(cfg, generated, len(planned), speed, ctx.params.validate)})


def summarise(cfg: DatasetConfig, generated: Rows, n_units: int, speed: Speed, rules: ValidateConfig
              ) -> pd.DataFrame:
    """One row: what the run holds (all units, resumed or not) and how fast this invocation was; `rules`
    are the dataset's length rules (validate's settings)."""
    texts, pairs = generated.tables[TEXTS], generated.tables[PAIRS]
    tokens, seconds = speed.tokens, speed.seconds
    row = {"backend": cfg.backend, "generator_model": texts.generator_model.iloc[0],
           "generator_revision": texts.generator_revision.iloc[0], "n_instances": texts.instance_id.nunique(),
           "n_texts": len(texts), "n_pairs": len(pairs), "n_units": n_units, "n_units_resumed": len(generated.resumed),
           "share_texts_in_range": float(texts.words.between(rules.words_min, rules.words_max).mean()),
           "share_pairs_within_tolerance": float(pairs.within_tolerance.mean()) if len(pairs) else 0.0,
           "share_finished": float(texts.finished.mean()), "mean_words": float(texts.words.mean()),
           "max_new_tokens": cfg.max_new_tokens, "new_tokens": tokens, "seconds": round(seconds, 3),
           "tokens_per_s": round(tokens / seconds, 1) if tokens and seconds else None}
    return pd.DataFrame([row])

