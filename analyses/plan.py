"""`python -m analyses plan --profile P [--gpu-memory GB] [--gpus N] [--price USD]`: what a profile's phases
need on a GPU box, per phase x model, before anything runs.

Memory and disk are computed from facts: each model's shape in params.yaml (its config.json numbers, so
Llama-3-8B counts 8.03e9 parameters and Llama-3-70B 70.55e9, 141.1 GB in bfloat16), the dtypes, the
dataset (its texts, pairs and instances, words x `plan.tokens_per_word` tokens) and each phase's batch
settings, through core.sizing. A phase's GPUs are the fewest whose usable memory (`plan.memory_headroom`
of each) holds its working set split evenly; vLLM's tensor-parallel size is that count rounded up to a
power of two dividing the heads (or every visible GPU, `--gpus`, when the profile says "auto").

GPU-hours are an ESTIMATE: tokens x (active) billions of parameters / the throughputs that params.yaml's
`plan` section states as assumptions, plus loading the weights, times the GPUs the phase holds. A model
split with device_map="auto" runs its GPUs one after another, so they all count for the whole run;
vLLM's tensor parallelism divides the time among them. Replace the assumptions by measurements.
Steering's judge is placed as the phase places it (core.sizing.judge_placement): beside the model, on a
GPU of its own, or after the model is freed.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass

from core import sizing
from core.config import ModelSpec, Params, load_params
from core.data import Dataset, load_dataset
from core.data.textchecks import words
from core.errors import InputError
from core.sizing import GB

GPU_PHASES = ("dataset", "validate", "extract", "patching", "ablation", "mediation", "steering")
CPU_PHASES = ("probes", "baselines", "collect")
JUDGE_WORDS = {"self": "the model is its own judge", "beside": "judge beside it", "own_gpu": "judge on its own GPU",
               "after_model": "judge after the model is freed"}


@dataclass(frozen=True)
class Work:
    """One phase x model: peak GPU bytes, tokens read (forward) and generated (decode), outputs on disk."""

    phase: str
    model: str
    need: float
    forward: float = 0.0
    decode: float = 0.0
    disk: float = 0.0
    parallel: bool = False  # vLLM tensor parallelism: GPUs share the time instead of taking turns
    judge: str = ""


@dataclass(frozen=True)
class Row:
    """A printed line of the plan."""

    phase: str
    model: str
    gpus: int
    gb_per_gpu: float
    gpu_hours: float
    disk_gb: float
    judge: str
    note: str


class Facts:
    """Token counts of the dataset under the plan's tokens-per-word assumption."""

    def __init__(self, params: Params, ds: Dataset):
        self.params, self.ds = params, ds
        self.texts = [self.tokens(t.prompt) + self.tokens(t.text) for t in ds.texts]
        self.fc = [self.tokens(f"{i.situation} {i.forced_choice.question} {i.forced_choice.empathic_option} "
                               f"{i.forced_choice.task_option}") for i in ds.instances.values()]

    def tokens(self, text: str) -> float:
        """Tokens of a text with its template: words x tokens_per_word + template_tokens."""
        p = self.params.plan
        return len(words(text)) * p.tokens_per_word + p.template_tokens

    def per_family(self, n: int) -> int:
        """Instances used when a phase takes n per family (0: all)."""
        counts = [sum(i.family == f for i in self.ds.instances.values()) for f in self.ds.families]
        return sum(min(n, c) if n else c for c in counts)


def shape_of(params: Params, alias: str) -> tuple[ModelSpec, sizing.ModelShape]:
    """A model's spec and shape; a model without a shape cannot be planned (exit 2)."""
    spec = params.model(alias)
    if spec.shape is None:
        raise InputError("params.yaml", f"model '{alias}' has no shape to plan from", field=f"models.{alias}.shape")
    return spec, spec.shape


def layers_of(choice: str | list[int], n_layers: int) -> int:
    """Layers a phase visits: "all" of them, or the listed ones."""
    return n_layers if isinstance(choice, str) else len(choice)


def dataset_work(params: Params, f: Facts, alias: str) -> Work:
    """vLLM generation: the dataset's cells x samples, each up to max_new_tokens; a unit's rows in flight."""
    cfg, (spec, s) = params.dataset, shape_of(params, alias)
    share = min(1.0, (cfg.max_instances or len(f.ds.instances)) / len(f.ds.instances))
    requests = len(f.ds.texts) * share * cfg.samples
    prompt = max(f.fc) + f.params.plan.template_tokens
    rows = cfg.instances_per_unit * 4 * cfg.samples
    need = sizing.generation_bytes(s, spec.dtype, rows, int(prompt + cfg.max_new_tokens))
    return Work("dataset", alias, need, requests * prompt, requests * cfg.max_new_tokens, parallel=True)


def validate_work(params: Params, f: Facts) -> Work:
    """The judge alone reads both texts of each judged empathy pair with its rubric."""
    cfg, (spec, s) = params.validate, shape_of(params, params.validate.judge)
    pairs = [p for p in f.ds.pairs if p.kind.startswith("empathy")][: cfg.judge_pairs or None]
    per_text = max(f.texts) + 60 * params.plan.tokens_per_word  # + the three rubric lines
    need = sizing.forward_bytes(s, spec.dtype, int(cfg.batch_size * per_text))
    return Work("validate", cfg.judge, need, 2 * len(pairs) * per_text)


def extract_work(params: Params, f: Facts, alias: str) -> Work:
    """One forward over every text; the cache holds every layer (and the embeddings) per text."""
    cfg, (spec, s) = params.extract, shape_of(params, alias)
    need = sizing.forward_bytes(s, spec.dtype, cfg.batch_tokens)
    disk = len(f.texts) * (s.layers + 1) * s.hidden * sizing.DTYPE_BYTES[cfg.cache_dtype]
    return Work("extract", alias, need, sum(f.texts), disk=disk)


def ablation_work(params: Params, f: Facts, alias: str) -> Work:
    """Re-extraction of the edited texts: lexicon-ablated and matched-control variants of each split."""
    spec, s = shape_of(params, alias)
    texts = [n for n, t in zip(f.texts, f.ds.texts, strict=True) if t.split in params.ablation.splits]
    disk = 2 * len(texts) * (s.layers + 1) * s.hidden * sizing.DTYPE_BYTES[params.extract.cache_dtype]
    need = sizing.forward_bytes(s, spec.dtype, params.extract.batch_tokens)
    return Work("ablation", alias, need, 2 * sum(texts), disk=disk)


def patching_work(params: Params, f: Facts, alias: str) -> Work:
    """Exact sweep: instances x layers x positions x {full, direction} forced-choice forwards; attribution
    adds a backward pass per instance."""
    cfg, (spec, s) = params.patching, shape_of(params, alias)
    prompt = max(f.fc)
    positions = (cfg.max_span_positions or 4) + cfg.final_positions + 1  # + the whole span as a group
    rows = f.per_family(cfg.instances_per_family) * layers_of(cfg.layers, s.layers) * positions * 2
    need = sizing.forward_bytes(s, spec.dtype, int(cfg.batch_rows * prompt))
    if cfg.attribution:
        need = max(need, sizing.backward_bytes(s, spec.dtype, int(2 * prompt)))
    return Work("patching", alias, need, rows * prompt)


def mediation_work(params: Params, f: Facts, alias: str) -> Work:
    """Per instance and layer: the cue run, the neutral run and the mediator-patched run."""
    cfg, (spec, s) = params.mediation, shape_of(params, alias)
    prompt = max(f.fc)
    rows = f.per_family(cfg.instances_per_family) * layers_of(cfg.layers, s.layers) * 3
    return Work("mediation", alias, sizing.forward_bytes(s, spec.dtype, int(cfg.batch_rows * prompt)), rows * prompt)


def steering_work(params: Params, f: Facts, alias: str, gpu_bytes: float, visible: int | None) -> list[Work]:
    """Generation of prompts x alphas x samples, perplexity and forced choice on the steered model; the
    judge's reading of every generation on the judge, placed as the phase places it."""
    cfg, (spec, s) = params.steering, shape_of(params, alias)
    prompts = f.per_family(cfg.prompts_per_family) + len(f.ds.steering_prompts[: cfg.task_free_prompts])
    alphas = len({a for a in cfg.alphas} | {0.0}) * (2 if cfg.negative else 1) - (1 if cfg.negative else 0)
    rows, per_row = prompts * alphas * cfg.samples, int(max(f.fc) + cfg.max_new_tokens)
    layers = 1 if cfg.layers == "selected" else len(cfg.layers)
    model_need = sizing.generation_bytes(s, spec.dtype, min(cfg.batch_rows, rows), per_row)
    forward = layers * (rows * per_row + 2 * len(f.fc) * alphas * max(f.fc))  # perplexity + forced choice
    work = Work("steering", alias, model_need, forward, layers * rows * cfg.max_new_tokens)
    if cfg.judge == alias:
        return [Work(**{**work.__dict__, "judge": "self"})]
    jspec, js = shape_of(params, cfg.judge)
    _, judge_need = sizing.steering_needs(s, spec.dtype, js, jspec.dtype, cfg.batch_rows, per_row)
    headroom = params.plan.memory_headroom
    model_gpus = sizing.gpus_needed(model_need, gpu_bytes, headroom)
    if spec.device_map == "auto" and visible:
        model_gpus = max(model_gpus, visible)  # device_map="auto" spreads over every visible GPU
    where = sizing.judge_placement(model_need, judge_need, model_gpus, visible or model_gpus, gpu_bytes, headroom)
    judge = Work("steering", f"{cfg.judge} (judge)", judge_need, layers * rows * (per_row + 60), judge=where)
    return [Work(**{**work.__dict__, "judge": where}), judge]


def workloads(params: Params, f: Facts, gpu_bytes: float, visible: int | None) -> Iterator[Work]:
    """Every phase x model of the profile, in pipeline order."""
    models = params.run_models
    yield from (dataset_work(params, f, m) for m in models)
    yield validate_work(params, f)
    for m in models:
        yield extract_work(params, f, m)
        yield from (Work(p, m, 0.0) for p in CPU_PHASES[:2])
        yield from steering_work(params, f, m, gpu_bytes, visible)
        yield patching_work(params, f, m)
        yield ablation_work(params, f, m)
        yield mediation_work(params, f, m)
    yield Work("collect", "_all", 0.0)


def row(params: Params, w: Work, gpu_bytes: float, visible: int | None) -> Row:
    """GPUs, memory per GPU and GPU-hours of one workload."""
    if not w.need:
        return Row(w.phase, w.model, 0, 0.0, 0.0, w.disk / GB, "", "CPU")
    p, alias = params.plan, w.model.removesuffix(" (judge)")
    spec, s = shape_of(params, alias)
    gpus = sizing.gpus_needed(w.need, gpu_bytes, p.memory_headroom)
    note = f"does not fit: needs {gpus} GPUs, {visible} visible" if visible and gpus > visible else ""
    if w.parallel:
        tp = params.dataset.vllm_tensor_parallel_size
        gpus = visible if tp == "auto" and visible else max(gpus, 1 if tp == "auto" else tp)
        gpus = sizing.tensor_parallel(gpus, s.heads, s.kv_heads)
    elif spec.device_map == "auto" and visible:
        gpus = max(gpus, visible)
    billions = sizing.n_params(s, active=True) / 1e9
    compute_s = billions * (w.forward / p.forward_tokens_per_s_per_b + w.decode / p.decode_tokens_per_s_per_b)
    load_s = sizing.weight_bytes(s, spec.dtype) / GB / p.load_gb_per_s
    hours = (compute_s + load_s * gpus) / 3600 if w.parallel else (compute_s + load_s) * gpus / 3600
    judge = JUDGE_WORDS.get(w.judge, w.judge)
    return Row(w.phase, w.model, gpus, w.need / gpus / GB, hours, w.disk / GB, judge, note)


def plan(params: Params, gpu_gb: float, visible: int | None) -> list[Row]:
    """The plan's rows for the loaded profile on GPUs of `gpu_gb` GB (`visible` of them, if known)."""
    for alias in {*params.run_models, params.validate.judge, params.steering.judge}:
        shape_of(params, alias)
    f = Facts(params, load_dataset(params.data.dataset, params.data.scenarios))
    return [row(params, w, gpu_gb * GB, visible) for w in workloads(params, f, gpu_gb * GB, visible)]


def render(params: Params, rows: list[Row], gpu_gb: float, price: float) -> list[str]:
    """The printed table, the per-model weights to download, and totals."""
    p = params.plan
    out = [f"plan for profile '{params.profile}': {gpu_gb:g} GB GPUs ({p.memory_headroom:.0%} usable), "
           f"${price:g} per GPU-hour",
           f"assumed (params.yaml plan, to be measured): {p.forward_tokens_per_s_per_b:g} forward and "
           f"{p.decode_tokens_per_s_per_b:g} generated tokens/s per GPU for a 1B model, "
           f"{p.load_gb_per_s:g} GB/s weight loading, {p.tokens_per_word:g} tokens per word", "",
           f"{'phase':10s} {'model':22s} {'GPUs':>4s} {'GB/GPU':>7s} {'GPU-h':>7s} {'disk GB':>8s} {'$':>8s}  "
           "judge / note"]
    for r in rows:
        notes = "; ".join(x for x in (r.judge, r.note) if x)
        out.append(f"{r.phase:10s} {r.model:22s} {r.gpus:4d} {r.gb_per_gpu:7.1f} {r.gpu_hours:7.2f} "
                   f"{r.disk_gb:8.2f} {r.gpu_hours * price:8.2f}  {notes}".rstrip())
    hours, disk = sum(r.gpu_hours for r in rows), sum(r.disk_gb for r in rows)
    out.append(f"{'total':10s} {'':22s} {'':4s} {'':7s} {hours:7.2f} {disk:8.2f} {hours * price:8.2f}")
    for alias in sorted({*params.run_models, params.validate.judge, params.steering.judge}):
        spec, s = shape_of(params, alias)
        out.append(f"weights {alias}: {sizing.n_params(s) / 1e9:.2f}e9 parameters, "
                   f"{sizing.weight_bytes(s, spec.dtype) / GB:.1f} GB in {spec.dtype} (hub download, HF cache)")
    return out


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `plan` subcommand."""
    sp = sub.add_parser("plan", help="GPU memory, GPUs, GPU-hours, disk and dollars per phase x model")
    sp.add_argument("--profile", default="paper")
    sp.add_argument("--gpu-memory", type=float, default=None, metavar="GB", help="default: params plan.gpu_memory_gb")
    sp.add_argument("--gpus", type=int, default=None, help="GPUs on the box (default: as many as each phase needs)")
    sp.add_argument("--price", type=float, default=None, metavar="USD", help="per GPU-hour (default: params)")
    sp.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    sp.add_argument("--params", default="params.yaml")


def main(args: argparse.Namespace) -> int:
    """Print the plan; bad input (unknown profile, a model without a shape, a bad flag) exits 2."""
    params = load_params(args.params, args.profile, args.overrides)
    gpu_gb = params.plan.gpu_memory_gb if args.gpu_memory is None else args.gpu_memory
    price = params.plan.price_per_gpu_hour if args.price is None else args.price
    if gpu_gb <= 0 or price < 0 or (args.gpus is not None and args.gpus < 1):
        raise InputError("plan", "--gpu-memory and --gpus must be positive, --price not negative")
    for line in render(params, plan(params, gpu_gb, args.gpus), gpu_gb, price):
        print(line)
    return 0
