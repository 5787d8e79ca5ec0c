"""params.yaml as typed, validated configuration (DESIGN P5).

`load_params(path, profile, overrides)` reads params.yaml, overlays the profile's sections and any
`--set section.key=value` overrides, and validates the result with pydantic (`extra="forbid"`), so a
typo in a knob is an error naming the key rather than a silently ignored setting.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from core.data.jsonlines import read_text
from core.errors import InputError
from core.specs import EmbeddedFile, ModelShape, ModelSpec, Section

__all__ = ["EmbeddedFile", "ModelShape", "ModelSpec", "Section", "Params", "load_params", "parse_override"]

PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]

# `validate` is the phase's name (P4); pydantic warns that it shadows BaseModel.validate, a deprecated
# classmethod nothing here calls.
warnings.filterwarnings("ignore", message='Field name "validate"', category=UserWarning)

Pooling = Literal["response_mean", "last_token", "v0_mean"]


SplitName = Literal["train", "validation", "test"]


class DataConfig(Section):
    dataset: str
    scenarios: str
    lexicon: str
    # model phases see a seeded sample of N instances of each family; validate always checks them all
    instances_per_family: PositiveInt | None


class ExtractConfig(Section):
    pooling: Pooling
    chat_template: bool
    batch_tokens: PositiveInt
    max_length: Annotated[int, Field(gt=8)]
    cache_dtype: Literal["float16", "bfloat16", "float32"]
    flush_every_batches: PositiveInt  # a cache part after this many batches ...
    flush_every_seconds: PositiveFloat  # ... or this long since the last part, whichever comes first


SurfaceBaseline = Literal["bow_tfidf", "bow_tfidf_no_lexicon", "bow_binary", "minilm", "pronoun_count", "sentiment",
                          "length", "lexicon_count", "format_markers", "token_embeddings"]


class ProbesConfig(Section):
    methods: list[Literal["mean_diff", "logistic"]]
    layers: Literal["all"] | list[int]
    logistic_c: PositiveFloat
    n_bootstrap: Annotated[int, Field(ge=10)]
    threshold: Literal["train_midpoint", "test_median"]
    split: Literal["families", "v0_random_pairs"]
    select_on: Literal["validation", "test"]
    tsne_perplexity: PositiveFloat
    surface_baselines: Annotated[list[SurfaceBaseline], Field(min_length=1)]
    crossfit_folds: Annotated[int, Field(ge=2)]
    n_task_shuffles: Annotated[int, Field(ge=10)]


class CollectConfig(Section):
    pass


# Sections of the later phases. Each is owned by its phase: a field is typed here and given its value
# (and its documentation) in params.yaml only, so the two cannot drift (config once; a test checks it).
class DatasetConfig(Section):
    backend: Literal["transformers", "vllm"]
    max_instances: PositiveInt | None
    samples: PositiveInt
    temperature: Annotated[float, Field(ge=0)]
    top_p: Annotated[float, Field(gt=0, le=1)]
    max_new_tokens: PositiveInt
    target_words: tuple[PositiveInt, PositiveInt]  # within validate's words_min..words_max (checked in Params)
    crossed_every: PositiveInt
    instances_per_unit: PositiveInt
    vllm_tensor_parallel_size: Literal["auto"] | PositiveInt  # auto: every visible GPU, resolved at run time
    vllm_max_model_len: PositiveInt
    vllm_gpu_memory_utilization: Annotated[float, Field(gt=0, le=1)]
    promote_min_realism: Annotated[int, Field(ge=1, le=5)]


class ValidateConfig(Section):
    judge: str
    judge_pairs: PositiveInt | None
    batch_size: PositiveInt
    words_min: PositiveInt
    words_max: PositiveInt
    length_tolerance: Annotated[float, Field(ge=0)]
    shingle: PositiveInt
    near_duplicate: Annotated[float, Field(gt=0, le=1)]
    ngram: PositiveInt
    max_ngram_sharing: Annotated[float, Field(ge=0, le=1)]
    sentiment_gap: Annotated[float, Field(gt=0)]
    min_crossed_share: Annotated[float, Field(ge=0, le=1)]
    include_generated: list[str]
    n_bootstrap: Annotated[int, Field(ge=10)]  # instance-clustered bootstrap of validate_targets' AUROCs


class BaselinesConfig(Section):
    n_directions: Annotated[int, Field(ge=100)]
    n_permutations: Annotated[int, Field(ge=100)]  # within-pair swaps (mean-difference refits, every layer)
    logistic_permutations: Annotated[int, Field(ge=10)]  # the first K swaps refit by logistic regression
    logistic_layers: Literal["all"] | list[int]  # the logistic null's layers (its family-wise family)
    n_bootstrap: Annotated[int, Field(ge=10)]  # instance-clustered bootstrap of each probe AUROC
    layers: Literal["all"] | list[int]


class BehaviourConfig(Section):
    """The behaviour instrument (one definition for patching, mediation and the behaviour phase)."""

    metric: Literal["continuation", "letter"]  # the metric patching and mediation use
    min_mass: Annotated[float, Field(ge=0, le=1)]  # letter metric: median P(A)+P(B) a verdict needs
    instances_per_family: Annotated[int, Field(ge=0)]  # the behaviour phase's sample; 0 = every instance
    splits: list[SplitName]  # its instances are drawn from these splits' families
    batch_rows: PositiveInt
    n_bootstrap: Annotated[int, Field(ge=10)]


class PatchingConfig(Section):
    probe_method: Literal["mean_diff", "logistic"]
    instances_per_family: Annotated[int, Field(ge=0)]  # 0 = every instance
    splits: list[SplitName]  # instances are drawn from these splits' families
    layers: Literal["all"] | list[int]
    max_span_positions: PositiveInt | None  # cap on span tokens patched one at a time
    final_positions: PositiveInt
    min_effect: PositiveFloat  # |LD_clean - LD_corrupt| (metric units) below this: recovered is undefined
    batch_rows: PositiveInt
    n_bootstrap: Annotated[int, Field(ge=10)]
    attribution: bool
    attribution_agree: Annotated[float, Field(ge=-1, le=1)]  # Spearman rho for the verdict "yes"
    attribution_partly: Annotated[float, Field(ge=-1, le=1)]  # ... and for "partly"
    n_sign_flips: Annotated[int, Field(ge=100)]  # sign-flip test over instances (exact when 2^n <= this)
    alpha: Annotated[float, Field(gt=0, lt=1)]  # family-wise error rate of Holm across layers


class AblationConfig(Section):
    mode: Literal["replace", "remove"]
    splits: list[SplitName]
    layers: Literal["all"] | list[int]
    methods: list[Literal["mean_diff", "logistic"]]
    n_bootstrap: Annotated[int, Field(ge=10)]
    frequency_band_log2: PositiveFloat  # width of a corpus-frequency band of the matched control (log2 count)
    margin: Annotated[float, Field(ge=0, lt=1)]  # extra AUROC drop over the control still called "survives"


class MediationConfig(Section):
    probe_method: Literal["mean_diff", "logistic"]
    instances_per_family: Annotated[int, Field(ge=0)]  # 0 = every instance
    splits: list[SplitName]  # instances are drawn from these splits' families
    layers: Literal["all"] | list[int]
    positions: Literal["from_cue", "after_cue"]
    min_effect: PositiveFloat
    batch_rows: PositiveInt
    n_bootstrap: Annotated[int, Field(ge=10)]
    n_sign_flips: Annotated[int, Field(ge=100)]
    alpha: Annotated[float, Field(gt=0, lt=1)]


class SteeringConfig(Section):
    probe_method: Literal["mean_diff", "logistic"]
    layers: Literal["selected"] | list[int]  # selected = the probes phase's validation choice
    alphas: list[Annotated[float, Field(ge=0)]]
    negative: bool  # also run -alpha for every alpha
    positions: Literal["response", "all"]
    families: list[str] | None  # None = every family
    prompts_per_family: Annotated[int, Field(ge=0)]  # 0 = every instance
    task_free_prompts: Annotated[int, Field(ge=0)] | None  # task-free steering prompts (first n); None = all
    conflict_prompts: Annotated[int, Field(ge=0)] | None  # its task-conflict steering prompts (first n); None = all
    samples: PositiveInt
    temperature: Annotated[float, Field(ge=0)]
    top_p: Annotated[float, Field(gt=0, le=1)]
    max_new_tokens: PositiveInt
    batch_rows: PositiveInt
    norm_texts: PositiveInt
    norm_max_length: Annotated[int, Field(gt=8)]
    forced_choice_orders: Literal["both", "instance"]  # both = mean LD over the two option orders
    judge: str
    judge_validation_texts: Annotated[int, Field(ge=0)]
    classifier_c: PositiveFloat
    n_bootstrap: Annotated[int, Field(ge=10)]
    n_signflips: Annotated[int, Field(ge=100)]  # sign patterns of the per-(alpha, scorer) test (exact if 2^n fits)
    fwer: Annotated[float, Field(gt=0, lt=1)]  # Holm family-wise error over alpha != 0 x scorer per layer x group
    min_units: Annotated[int, Field(ge=2)]  # prompts
    repetition_n: PositiveInt
    degenerate_repetition: Annotated[float, Field(gt=0, le=1)]
    degenerate_min_words: Annotated[int, Field(ge=0)]
    breakdown_perplexity: PositiveFloat
    breakdown_degenerate: Annotated[float, Field(gt=0, lt=1)]
    transfer_alphas: list[float]  # steering_transfer's alphas (0 is the shared reference; [] = no transfer)
    transfer_only: list[str]  # models steered only with the transfer arms (no sweep, no judge)
    transfer_relative: bool  # transfer_alphas are multiples of the layer's median residual norm (alpha_rel)


class PlanConfig(Section):
    """`python -m analyses plan`: the sizing assumptions (not a phase; each is documented in params.yaml)."""

    forward_tokens_per_s_per_b: PositiveFloat  # prefill throughput of one GPU on a 1B-parameter model
    decode_tokens_per_s_per_b: PositiveFloat  # generated tokens per second, same scaling
    load_gb_per_s: PositiveFloat  # weights read from disk into GPU memory
    tokens_per_word: PositiveFloat
    template_tokens: Annotated[int, Field(ge=0)]  # chat template and system tokens around each text
    memory_headroom: Annotated[float, Field(gt=0, le=1)]  # usable share of a GPU's memory
    gpu_memory_gb: PositiveFloat  # default of --gpu-memory
    price_per_gpu_hour: Annotated[float, Field(ge=0)]  # default of --price (dollars)


class Profile(Section):
    """A named overlay: which models run, and per-section overrides."""

    models: list[str]
    gpu: bool  # its models need a GPU: the TUI badges its model phases "GPU"
    beside: bool  # a comparison profile (v0): its runs sit beside the main ones, as <model>@<profile>
    # phases that run on only some of `models` (the pipeline's foreach reads these lists)
    phase_models: dict[str, list[str]] = {}
    data: dict[str, Any] = {}
    extract: dict[str, Any] = {}
    probes: dict[str, Any] = {}
    collect: dict[str, Any] = {}
    dataset: dict[str, Any] = {}
    validate: dict[str, Any] = {}  # type: ignore[assignment]  # shadows the deprecated BaseModel.validate
    baselines: dict[str, Any] = {}
    behaviour: dict[str, Any] = {}
    patching: dict[str, Any] = {}
    ablation: dict[str, Any] = {}
    mediation: dict[str, Any] = {}
    steering: dict[str, Any] = {}


class Params(Section):
    """The whole of params.yaml after the profile and overrides are applied."""

    seed: int
    profile: str = "smoke"
    run_models: list[str] = []
    data: DataConfig
    models: dict[str, ModelSpec]
    profiles: dict[str, Profile]
    extract: ExtractConfig
    probes: ProbesConfig
    collect: CollectConfig
    dataset: DatasetConfig
    validate: ValidateConfig  # type: ignore[assignment]  # see the warnings filter above
    baselines: BaselinesConfig
    behaviour: BehaviourConfig
    patching: PatchingConfig
    ablation: AblationConfig
    mediation: MediationConfig
    steering: SteeringConfig
    plan: PlanConfig

    @model_validator(mode="after")
    def _targets_within_length_rules(self) -> Params:
        lo, hi = self.dataset.target_words
        if not self.validate.words_min <= lo <= hi <= self.validate.words_max:
            raise ValueError(f"dataset.target_words {lo}-{hi} must lie within validate's words_min..words_max "
                             f"({self.validate.words_min}-{self.validate.words_max})")
        return self

    @property
    def comparison(self) -> str | None:
        """The profile's name when its runs sit beside the main ones (outputs/<phase>/<model>@<profile>)."""
        return self.profile if self.profiles[self.profile].beside else None

    def model(self, alias: str) -> ModelSpec:
        """The spec of a configured model, or a clear error listing the known aliases."""
        if alias not in self.models:
            raise InputError("params.yaml", f"unknown model '{alias}'; known: {sorted(self.models)}",
                             field="models")
        return self.models[alias]

    def hash(self) -> str:
        """A short content hash of the effective parameters (recorded as provenance)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


SECTIONS = ("data", "extract", "probes", "collect", "dataset", "validate", "baselines", "behaviour", "patching",
            "ablation", "mediation", "steering")


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = tree
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


def parse_override(text: str) -> tuple[str, Any]:
    """Split `key=value`; the value is parsed as YAML so numbers, lists and booleans work."""
    if "=" not in text:
        raise InputError("--set", f"expected key=value, got '{text}'")
    key, raw = text.split("=", 1)
    return key.strip(), yaml.safe_load(raw)


def _read_yaml(path: Path) -> dict[str, Any]:
    """The parameters file as a mapping; a YAML error names its line and column (a leading UTF-8 BOM is fine)."""
    text = read_text(path)  # InputError for unreadable or non-UTF-8 files, with the line
    try:
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (column {mark.column + 1})" if mark is not None else ""
        start = exc.context_mark
        context = f"{exc.context} started at line {start.line + 1}" if exc.context and start else exc.context
        what = ", ".join(str(s) for s in (context, exc.problem) if s)
        raise InputError(path, f"malformed YAML: {what}{where}", line=mark.line + 1 if mark else None) from exc
    except yaml.YAMLError as exc:
        raise InputError(path, f"malformed YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise InputError(path, "parameters must be a YAML mapping of sections")
    return raw


def load_params(path: str | Path = "params.yaml", profile: str = "smoke",
                overrides: list[str] | None = None) -> Params:
    """Read, overlay and validate params.yaml; raises InputError (exit 2) on any problem."""
    path = Path(path)
    tree = _read_yaml(path)
    profiles = tree.get("profiles", {})
    if profile not in profiles:
        raise InputError(path, f"unknown profile '{profile}'; known: {sorted(profiles)}", field="profiles")
    chosen = profiles[profile]
    for section in SECTIONS:
        tree.setdefault(section, {}).update(chosen.get(section, {}))
    tree["profile"], tree["run_models"] = profile, list(chosen.get("models", []))
    for item in overrides or []:
        _set_dotted(tree, *parse_override(item))
    try:
        params = Params.model_validate(tree)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise InputError(path, err["msg"], field=field) from exc
    for alias in params.run_models:
        params.model(alias)
    for name, prof in params.profiles.items():
        for phase, models in prof.phase_models.items():
            if phase not in SECTIONS or not set(models) <= set(prof.models):
                raise InputError(path, f"phase_models.{phase}: a phase of {SECTIONS[1:]} and models among "
                                 f"{prof.models}", field=f"profiles.{name}.phase_models")
    return params
