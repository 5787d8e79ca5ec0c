"""steering — does adding the empathy direction change what the model does, at what alpha, at what cost?

Method. The unit probe direction (`probe_method`, default mean-difference) of each steered layer
(default: the layer the probes phase chose on VALIDATION) is added as alpha x direction to the
residual stream after that block, at the response positions (the last prompt position and every
generated token; `positions: all` adds the prompt), for the raw grid alpha in {0, 1, 2, 3, 5, 7, 10,
15, 20, 25, 30} and its negatives. alpha_rel = alpha / the layer's median residual norm over response
tokens of dataset texts, so "alpha = 20" can be read against the stream's own scale. Prompts: the
situation + question of instances of every scenario family (task-conflict and task-free), plus the
dataset's task-free steering prompts, in each model's chat template. All alphas x samples of a batch
of prompts are rows of ONE generate call (core/models/steer.py); sampling is seeded per row and the seed is
shared across alphas, so each generation is paired with its own alpha = 0 twin.

Scores per generation: P(empathic) from an independent classifier (MiniLM sentence embeddings +
logistic regression fit on the TRAIN families; held-out AUROC on the TEST families in
`steering_classifier`), the empathy-lexicon rate (whole words), VADER compound sentiment, and a
0/1/2 rubric judge read from next-token logits (its model is configurable; `weak` marks a judge under
1B parameters, such as the embedded 135M model; where it runs, beside the steered model or after it is
freed, is analyses/steering/judging.py). Without generating, the forced-choice logit
difference LD = logit(empathic letter) - logit(task letter) under the same intervention. Coherence:
perplexity of the generated tokens under the unsteered model, repeated-trigram rate, and a
degenerate flag (under `degenerate_min_words` words, or repetition >= `degenerate_repetition`).

Verdicts (analyses/steering/verdicts.py) per layer x family x scorer, plus the pooled task-conflict and task-free
groups. The prompt is the unit: effect = mean over prompts of the prompt's paired score(alpha) - score(0)
(averaged over its samples), 95% CI by bootstrapping prompts, p_raw by a two-sided sign-flip test over
prompts, p_holm by Holm over every alpha != 0 x scorer of one (layer, prompt group). success = p_holm
<= `fwer` with the effect in alpha's sign; elbow alpha per sign = the smallest |alpha| from which every
larger |alpha| succeeds; breakdown alpha per sign = the smallest |alpha| whose coherence fails.

Transfer (analyses/steering/transfer.py, `steering_transfer`): this model steered with each other
model's direction carried through a Procrustes map, beside its own direction and a random one of the
same norm, on the same prompts and seeds. A model listed in `transfer_only` runs these arms alone (no alpha
sweep, no judge): the second embedded model on CPU, where a full sweep does not fit the time budget.

Resumable: each (layer, prompt) is a work unit (analyses/harness.py); the harness writes each one's
rows as soon as its batch is scored, so a kill loses at most the batch running (`batch_rows` rows),
and a rerun of a killed sweep generates only the batches not written, planned as in an uninterrupted
sweep, so the tables equal an uninterrupted run's. The transfer arms are one more unit (`transfer`), and a
judge placed after the model scores in units of `batch_rows` generations (analyses/steering/judging.py).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from analyses.harness import PhaseRun, Tables, Units, final
from analyses.steering import judging
from analyses.steering.scorers import EmpathyClassifier, auroc_row, is_degenerate, repetition_rate
from analyses.steering.transfer import transfer_table
from analyses.steering.verdicts import Rules, summarise
from core.config import Params, SteeringConfig
from core.context import RunContext
from core.data import Dataset
from core.data.lexicon import Lexicon
from core.data.prompts import letter_ids, prompt_ids
from core.data.schema import Instance
from core.data.splits import SplitNeed
from core.data.textchecks import sentiment
from core.errors import InputError
from core.models.loader import LoadedModel
from core.models.scoring import continuation_nll, forced_choice_text, judge_scores, steered_last_logits
from core.models.steer import Sampling, SteeredRow, Steering, generate_steered, median_response_norms
from core.raters.judge import JudgeItem
from core.stats.directions import load_directions, selected_layer

GENERIC_RUBRIC = {"0": "Ignores the person in need.", "1": "Offers some help when it costs nothing.",
                  "2": "Helps the person in need at a real cost to itself."}


@dataclass(frozen=True)
class Prompt:
    prompt_id: str
    family: str
    task_free: bool
    text: str  # the user message that is steered
    rubric: dict[str, str]
    instance: Instance | None  # the forced-choice source (None for the task-free steering prompts)


TRANSFER_UNIT = "transfer"  # steering_transfer's arms, after the sweep


def rubric_of(rubric: Mapping[Any, str]) -> dict[str, str]:
    return {str(k): v for k, v in rubric.items()}


def select_prompts(cfg: SteeringConfig, ds: Dataset) -> list[Prompt]:
    """The first `prompts_per_family` instances of each family (by id), then the dataset's steering prompts
    of those families (task-free ones, and v2's familyless ones, up to `task_free_prompts`; task-conflict
    ones up to `conflict_prompts`)."""
    families = cfg.families if cfg.families is not None else sorted(ds.families)
    unknown = sorted(set(families) - set(ds.families))
    if unknown:
        raise InputError("params.yaml", f"unknown families {unknown}", field="steering.families")
    out = []
    for fam in families:
        chosen = sorted((i for i in ds.instances.values() if i.family == fam), key=lambda i: i.instance_id)
        for inst in chosen[: cfg.prompts_per_family or None]:
            text = f"{inst.situation}\n\n{inst.forced_choice.question}"
            f = ds.families[fam]
            out.append(Prompt(inst.instance_id, fam, f.task_free, text, rubric_of(f.rubric), inst))
    free = [f for f in ds.families.values() if f.task_free]
    rubric = rubric_of(free[0].rubric) if free else GENERIC_RUBRIC
    free_sp = [sp for sp in ds.steering_prompts if not sp.task_conflict and sp.family in (None, *families)]
    conflict_sp = [sp for sp in ds.steering_prompts if sp.task_conflict and sp.family in families]
    for sp in free_sp[: cfg.task_free_prompts] + conflict_sp[: cfg.conflict_prompts]:
        if sp.family is None:  # v2's prompts carry no family: one task-free group
            out.append(Prompt(sp.prompt_id, "task_free_prompts", True, sp.text, rubric, None))
        else:
            f = ds.families[sp.family]
            out.append(Prompt(sp.prompt_id, sp.family, not sp.task_conflict, sp.text, rubric_of(f.rubric), None))
    return out


def alpha_grid(cfg: SteeringConfig) -> list[float]:
    grid = {float(a) for a in cfg.alphas} | {0.0}
    return sorted(grid | ({-a for a in grid} if cfg.negative else set()))


def row_seed(seed: int, prompt_id: str, sample: int) -> int:
    """The sampling seed of (prompt, sample): shared by every alpha, so rows pair with alpha = 0."""
    return int(hashlib.sha256(f"{seed}:{prompt_id}:{sample}".encode()).hexdigest()[:8], 16)


def steered_layers(cfg: SteeringConfig, ctx: RunContext) -> dict[int, np.ndarray]:
    folder = ctx.phase_dir("probes")
    directions = load_directions(folder, cfg.probe_method)
    chosen = selected_layer(folder, cfg.probe_method) if cfg.layers == "selected" else None
    layers = ([] if chosen is None else [chosen]) if cfg.layers == "selected" else list(cfg.layers)
    missing = [layer for layer in layers if layer not in directions]
    if missing or not layers:
        raise InputError("params.yaml", f"no {cfg.probe_method} direction for layers {missing}",
                         field="steering.layers")
    return {int(layer): directions[int(layer)] for layer in layers}


@dataclass(frozen=True)
class Tools:
    """What scores a generation: the steered model, the judge, the classifier, the lexicon."""

    model: LoadedModel
    judge: LoadedModel | None  # None: the judge scores after the sweep, once the model is freed
    classifier: EmpathyClassifier
    lexicon: Lexicon


def _batches(units: list[tuple[int, Prompt]], rows_per_unit: int, batch_rows: int) -> list[list[tuple[int, Prompt]]]:
    per = max(1, batch_rows // rows_per_unit)
    by_layer: dict[int, list[tuple[int, Prompt]]] = {}
    for unit in units:
        by_layer.setdefault(unit[0], []).append(unit)
    return [group[i:i + per] for group in by_layer.values() for i in range(0, len(group), per)]


def pending_batches(units: list[tuple[int, Prompt]], todo: set[str], rows_per_unit: int, batch_rows: int
                    ) -> list[list[tuple[int, Prompt]]]:
    """The batches of the whole sweep's plan that hold a unit still to do.

    Planned over every unit, not only those left, so a resumed sweep generates each row in the batch an
    uninterrupted sweep would (same members, same padding) and skips the batches already written.
    """
    plan = _batches(units, rows_per_unit, batch_rows)
    return [batch for batch in plan if any(unit_id(layer, p) in todo for layer, p in batch)]


def _forced_choice(cfg: SteeringConfig, tools: Tools, prompts: list[Prompt], steering: Steering,
                   alphas: list[float]) -> dict[tuple[str, float], float]:
    """(prompt_id, alpha) -> LD under the intervention (mean over option orders), where there is a choice."""
    fc = [p.instance for p in prompts if p.instance is not None]
    orders = [None] if cfg.forced_choice_orders == "instance" else [True, False]
    cases = [(inst, first) for inst in fc for first in orders]
    if not cases:
        return {}
    tok = tools.model.tokenizer
    ids = [prompt_ids(tok, forced_choice_text(inst, first)) for inst, first in cases]
    rows = [SteeredRow(i, a) for i in range(len(cases)) for a in alphas]
    logits, _ = steered_last_logits(tools.model, ids, rows, steering, list(letter_ids(tok)))
    sums: dict[tuple[str, float], list[float]] = {}
    for r, lg in zip(rows, logits, strict=True):
        inst, first = cases[r.prompt]
        sign = 1.0 if (inst.forced_choice.empathic_first if first is None else first) else -1.0
        sums.setdefault((inst.instance_id, r.alpha), []).append(sign * float(lg[0] - lg[1]))
    return {key: float(np.mean(v)) for key, v in sums.items()}


def _generate(cfg: SteeringConfig, ctx: RunContext, tools: Tools, prompts: list[Prompt], steering: Steering,
              norm: float) -> tuple[pd.DataFrame, list[list[int]], list[SteeredRow], list[list[int]]]:
    """One generate call for every prompt x alpha x sample: the generations table, prompt ids, rows, tokens."""
    tok, layer = tools.model.tokenizer, steering.layer
    prompt_tokens = [prompt_ids(tok, p.text) for p in prompts]
    meta = [(i, a, s) for i in range(len(prompts)) for a in alpha_grid(cfg) for s in range(cfg.samples)]
    rows = [SteeredRow(i, a, row_seed(ctx.seed, prompts[i].prompt_id, s)) for i, a, s in meta]
    out = generate_steered(tools.model, prompt_tokens, rows, steering,
                           Sampling(max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature, top_p=cfg.top_p))
    gen = pd.DataFrame({
        "generation_id": [f"L{layer}:{prompts[i].prompt_id}:{a:g}:s{s}" for i, a, s in meta],
        "layer": layer, "alpha": [a for _, a, _ in meta], "alpha_rel": [a / norm for _, a, _ in meta],
        "prompt_id": [prompts[i].prompt_id for i, _, _ in meta], "family": [prompts[i].family for i, _, _ in meta],
        "task_free": [prompts[i].task_free for i, _, _ in meta], "sample": [s for _, _, s in meta],
        "seed": [r.seed for r in rows], "text": [tok.decode(ids, skip_special_tokens=True).strip() for ids in out],
        "n_tokens": [len(ids) for ids in out]})
    return gen, prompt_tokens, rows, out


def _coherence(cfg: SteeringConfig, tools: Tools, gen: pd.DataFrame, prompt_tokens: list[list[int]],
               rows: list[SteeredRow], out: list[list[int]]) -> pd.DataFrame:
    """Perplexity of the generated tokens under the unsteered model, repetition, degenerate flag."""
    nll = continuation_nll(tools.model, prompt_tokens, out, [r.prompt for r in rows])
    return pd.DataFrame({
        "generation_id": gen.generation_id, "perplexity": np.exp(nll),
        "repetition": [repetition_rate(t, cfg.repetition_n) for t in gen.text],
        "degenerate": [is_degenerate(t, cfg.repetition_n, cfg.degenerate_repetition, cfg.degenerate_min_words)
                       for t in gen.text]})


def _scores(cfg: SteeringConfig, tools: Tools, prompts: list[Prompt], gen: pd.DataFrame, rows: list[SteeredRow],
            steering: Steering) -> pd.DataFrame:
    """Long table (generation_id, scorer, value) of every empathy scorer."""
    texts = list(gen.text)
    items = [JudgeItem(prompts[r.prompt].text, prompts[r.prompt].rubric, t) for r, t in zip(rows, texts, strict=True)]
    ld = _forced_choice(cfg, tools, prompts, steering, alpha_grid(cfg))
    values = {"classifier": tools.classifier.predict(texts), "lexicon": [tools.lexicon.rate(t) for t in texts],
              "vader": [sentiment(t) for t in texts],
              "forced_choice_ld": [ld.get((prompts[r.prompt].prompt_id, r.alpha), np.nan) for r in rows]}
    if tools.judge is not None:
        values["judge"] = judge_scores(tools.judge, items)
    scores = pd.concat([pd.DataFrame({"generation_id": gen.generation_id, "scorer": name,
                                      "value": np.asarray(v, dtype=float)}) for name, v in values.items()])
    return scores.dropna(subset=["value"])


def unit_id(layer: int, prompt: Prompt) -> str:
    """The work unit of one (layer, prompt): every alpha x sample of it."""
    return f"L{layer}-{prompt.prompt_id}"


def _generate_batch(cfg: SteeringConfig, ctx: RunContext, tools: Tools, batch: list[tuple[int, Prompt]],
                    direction: np.ndarray, norm: float) -> Iterator[tuple[str, Tables]]:
    """Generate and score every unit of one batch (all on the same layer); yield each unit's rows."""
    layer, prompts = batch[0][0], [p for _, p in batch]
    steering = Steering(layer, torch.from_numpy(direction), cfg.positions)
    gen, prompt_tokens, rows, out = _generate(cfg, ctx, tools, prompts, steering, norm)
    tables = {"steering_scores": _scores(cfg, tools, prompts, gen, rows, steering),
              "steering_coherence": _coherence(cfg, tools, gen, prompt_tokens, rows, out), "steering_generations": gen}
    for prompt in prompts:
        ids = set(gen.generation_id[gen.prompt_id == prompt.prompt_id])
        yield unit_id(layer, prompt), {name: df[df.generation_id.isin(ids)].reset_index(drop=True)
                                       for name, df in tables.items()}


def rubrics(ds: Dataset) -> dict[str, dict[str, str]]:
    """Each family's 0/1/2 rubric, keyed by family id."""
    return {fam: rubric_of(f.rubric) for fam, f in ds.families.items()}


def splits_needed(params: Params) -> SplitNeed:
    """The independent classifier trains on the train families and is validated on the test families."""
    return SplitNeed("families", (("train",), ("test",)), "train families to fit the empathy classifier and "
                     "test families to validate it")


def fit_scorers(cfg: SteeringConfig, ctx: RunContext, judge: LoadedModel | None) -> tuple[Tools, pd.DataFrame]:
    """Fit the classifier on TRAIN families; every scorer's AUROC (empathic vs not) on TEST families (the
    judge's in its own pass when it is None: it runs after the steered model is freed)."""
    ds, lexicon = ctx.dataset, Lexicon.load(ctx.params.data.lexicon)
    train = [t for t in ds.texts if t.split == "train"]
    test = [t for t in ds.texts if t.split == "test"]
    if not train or not test or len({t.empathic for t in train}) < 2 or len({t.empathic for t in test}) < 2:
        raise InputError(ds.path, "the classifier needs both classes in the train and the test split", field="split")
    clf = EmpathyClassifier.fit([t.text for t in train], [t.empathic for t in train], cfg.classifier_c, ctx.seed)
    y = np.array([t.empathic for t in test])
    texts = [t.text for t in test]
    n, seed = cfg.n_bootstrap, ctx.seed
    rows = [auroc_row("classifier", "all-MiniLM-L6-v2 + logistic regression", clf.predict(texts), y, len(train),
                      False, n, seed),
            auroc_row("lexicon", "data/lexicon.json rate", np.array([lexicon.rate(t) for t in texts]), y, 0, False,
                      n, seed),
            auroc_row("vader", "vaderSentiment compound", np.array([sentiment(t) for t in texts]), y, 0, False,
                      n, seed)]
    if judge is not None:
        rows += judging.judge_auroc(cfg, ctx, judge, rubrics(ds))
    return Tools(ctx.model, judge, clf, lexicon), pd.DataFrame(rows)


def norm_texts(ds: Dataset, n: int) -> list[tuple[str, str]]:
    """n dataset texts spread evenly over the file (so over families and cells)."""
    idx = np.linspace(0, len(ds.texts) - 1, min(n, len(ds.texts))).round().astype(int)
    return [(ds.texts[i].prompt, ds.texts[i].text) for i in idx]


def _judge_items(prompts: list[Prompt], gen: pd.DataFrame) -> dict[str, JudgeItem]:
    by_id = {p.prompt_id: p for p in prompts}
    return {g.generation_id: JudgeItem(by_id[g.prompt_id].text, by_id[g.prompt_id].rubric, g.text)
            for g in gen.itertuples()}


def carried(cfg: SteeringConfig, ctx: RunContext, tools: Tools, layers: dict[int, np.ndarray], prompts: list[Prompt],
            norms: Mapping[int, tuple[float, int]]) -> pd.DataFrame:
    """steering_transfer at every steered layer: the other models' carried directions vs own vs random."""
    return pd.concat([transfer_table(cfg, ctx, prompts, layer, layers[layer], tools.classifier.predict, tools.lexicon,
                                     lambda pid, s: row_seed(ctx.seed, pid, s), norms[layer][0])
                      for layer in sorted(layers)], ignore_index=True)


def transfer_only(cfg: SteeringConfig, ctx: RunContext, layers: dict[int, np.ndarray], prompts: list[Prompt],
                  norms: Mapping[int, tuple[float, int]], norm_rows: pd.DataFrame) -> Tables:
    """A model in `transfer_only`: only steering_transfer's arms (and the classifier that scores them), on
    the same prompts and seeds as a full run's; no alpha sweep and no judge (so no summary rows)."""
    tools, classifier_rows = fit_scorers(cfg, ctx, None)
    return {"steering_classifier": classifier_rows, "steering_norms": norm_rows,
            "steering_transfer": carried(cfg, ctx, tools, layers, prompts, norms)}


def run(cfg: SteeringConfig, ctx: RunContext) -> PhaseRun:
    """Sweep alphas on every selected layer and prompt (one work unit per layer x prompt), judge them after
    the sweep when the judge does not fit beside the model (analyses/steering/judging.py), summarise."""
    ds = ctx.dataset
    layers, prompts = steered_layers(cfg, ctx), select_prompts(cfg, ds)
    norms = median_response_norms(ctx.model, norm_texts(ds, cfg.norm_texts), sorted(layers), cfg.norm_max_length)
    norm_rows = pd.DataFrame([{"layer": k, "median_norm": v[0], "n_tokens": v[1], "n_texts": cfg.norm_texts}
                              for k, v in sorted(norms.items())])
    if ctx.alias in cfg.transfer_only:
        yield final(transfer_only(cfg, ctx, layers, prompts, norms, norm_rows))
        return
    longest = max(len(prompt_ids(ctx.model.tokenizer, p.text)) for p in prompts) + cfg.max_new_tokens
    where, device = judging.placement(cfg, ctx, longest)
    judge = None if where == "after_model" else judging.load_judge(cfg, ctx, device)
    tools, classifier_rows = fit_scorers(cfg, ctx, judge)
    units = {unit_id(layer, p): (layer, p) for layer in sorted(layers) for p in prompts}
    rows_per_unit = len(alpha_grid(cfg)) * cfg.samples

    def sweep(todo: list[str]) -> Iterator[tuple[str, Tables]]:
        wanted = set(todo)
        batches = pending_batches(list(units.values()), wanted, rows_per_unit, cfg.batch_rows)
        for batch in tqdm(batches, desc=f"steering {ctx.alias}", unit="batch", file=sys.stderr):
            for uid, tables in _generate_batch(cfg, ctx, tools, batch, layers[batch[0][0]], norms[batch[0][0]][0]):
                if uid in wanted:  # a batch a kill left half-written is generated again; only its missing units kept
                    yield uid, tables

    swept = (yield Units(tuple(units), sweep)).tables
    gen, scores = swept["steering_generations"], swept["steering_scores"]
    # the transfer arms generate with the steered model: before a judge placed after it frees the model
    yield Units((TRANSFER_UNIT,), lambda todo: [(TRANSFER_UNIT, {
        "steering_transfer": carried(cfg, ctx, tools, layers, prompts, norms)})])
    if judge is None:
        del tools  # the steered model's last reference here, so release_model can free its memory
        late = (yield judging.after_model(cfg, ctx, device, gen, _judge_items(prompts, gen), rubrics(ds))).tables
        if "steering_scores" in late:  # no generations: no judge chunk
            scores = pd.concat([scores, late["steering_scores"]], ignore_index=True)
    summary = summarise(gen, scores, swept["steering_coherence"], Rules.of(cfg), ctx.seed)
    yield final({"steering_summary": summary, "steering_classifier": classifier_rows, "steering_norms": norm_rows})
