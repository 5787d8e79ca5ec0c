"""params.yaml as typed, validated configuration (DESIGN P5).

`load_params(path, profile, overrides)` reads params.yaml, overlays the profile's sections and any
`--set section.key=value` overrides, and validates the result with pydantic (`extra="forbid"`), so a
typo in a knob is an error naming the key rather than a silently ignored setting.
"""

from __future__ import annotations

import copy
import hashlib
import json
import warnings
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import InputError

PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]

# `validate` is the phase's name (P4); pydantic warns that it shadows BaseModel.validate, a deprecated
# classmethod nothing here calls.
warnings.filterwarnings("ignore", message='Field name "validate"', category=UserWarning)

Pooling = Literal["response_mean", "last_token", "v0_mean"]


class Section(BaseModel):
    """Base for every params section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(Section):
    """One model: where it comes from and how to load it."""

    source: Literal["embedded", "hub", "tiny"]
    hf_id: str
    revision: str = "main"
    family: Literal["llama", "phi3", "gemma2", "qwen2", "mistral", "mixtral"]
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    device_map: str | None = None


class DataConfig(Section):
    dataset: str = "data/dataset_expanded.json"
    scenarios: str = "data/scenarios.json"
    lexicon: str = "data/lexicon.json"


class ExtractConfig(Section):
    pooling: Pooling = "response_mean"
    chat_template: bool = True
    batch_tokens: PositiveInt = 4096
    max_length: Annotated[int, Field(gt=8)] = 512
    cache_dtype: Literal["float16", "bfloat16", "float32"] = "float16"


class ProbesConfig(Section):
    methods: list[Literal["mean_diff", "logistic"]] = ["mean_diff", "logistic"]
    layers: Literal["all"] | list[int] = "all"
    logistic_c: PositiveFloat = 1.0
    n_bootstrap: Annotated[int, Field(ge=10)] = 1000
    threshold: Literal["train_midpoint", "test_median"] = "train_midpoint"
    split: Literal["families", "v0_random_pairs"] = "families"
    select_on: Literal["validation", "test"] = "validation"
    tsne_perplexity: PositiveFloat = 30.0


class CollectConfig(Section):
    pass


# Sections of the later phases. Each is owned by its phase: fields are added here, with defaults,
# and documented in params.yaml.
class DatasetConfig(Section):
    backend: Literal["transformers", "vllm"] = "transformers"
    max_instances: PositiveInt | None = None
    samples: PositiveInt = 1
    temperature: Annotated[float, Field(ge=0)] = 0.8
    top_p: Annotated[float, Field(gt=0, le=1)] = 0.95
    max_new_tokens: PositiveInt = 256
    target_words: tuple[Annotated[int, Field(ge=60)], Annotated[int, Field(le=150)]] = (80, 120)
    crossed_every: PositiveInt = 4
    instances_per_unit: PositiveInt = 8
    vllm_engine: str = "vllm"
    vllm_tensor_parallel_size: PositiveInt = 1
    vllm_max_model_len: PositiveInt = 4096
    vllm_gpu_memory_utilization: Annotated[float, Field(gt=0, le=1)] = 0.9
    promote_min_realism: Annotated[int, Field(ge=1, le=5)] = 3


class ValidateConfig(Section):
    judge: str = "smollm2-135m"
    judge_pairs: PositiveInt | None = None
    batch_size: PositiveInt = 16
    words_min: PositiveInt = 60
    words_max: PositiveInt = 150
    length_tolerance: Annotated[float, Field(ge=0)] = 0.15
    shingle: PositiveInt = 5
    near_duplicate: Annotated[float, Field(gt=0, le=1)] = 0.5
    ngram: PositiveInt = 8
    max_ngram_sharing: Annotated[float, Field(ge=0, le=1)] = 0.05
    sentiment_gap: Annotated[float, Field(gt=0)] = 1.0
    include_generated: list[str] = []


class BaselinesConfig(Section):
    n_directions: Annotated[int, Field(ge=100)] = 1000
    n_permutations: Annotated[int, Field(ge=100)] = 1000
    layers: Literal["all"] | list[int] = "all"


class PatchingConfig(Section):
    probe_method: Literal["mean_diff", "logistic"] = "mean_diff"
    instances_per_family: Annotated[int, Field(ge=0)] = 0  # 0 = every instance
    behaviour_per_family: Annotated[int, Field(ge=0)] = 0  # behaviour table's sample; 0 = every instance
    layers: Literal["all"] | list[int] = "all"
    max_span_positions: PositiveInt | None = None  # cap on span tokens patched one at a time
    final_positions: PositiveInt = 3
    min_effect: PositiveFloat = 0.1  # |LD_clean - LD_corrupt| below this: recovered is undefined
    batch_rows: PositiveInt = 64
    n_bootstrap: Annotated[int, Field(ge=10)] = 1000
    attribution: bool = True


class AblationConfig(Section):
    mode: Literal["replace", "remove"] = "replace"
    splits: list[Literal["train", "validation", "test"]] = ["test"]
    layers: Literal["all"] | list[int] = "all"
    methods: list[Literal["mean_diff", "logistic"]] = ["mean_diff", "logistic"]
    n_bootstrap: Annotated[int, Field(ge=10)] = 1000


class MediationConfig(Section):
    probe_method: Literal["mean_diff", "logistic"] = "mean_diff"
    instances_per_family: Annotated[int, Field(ge=0)] = 0  # 0 = every instance
    layers: Literal["all"] | list[int] = "all"
    positions: Literal["from_cue", "after_cue"] = "from_cue"
    min_effect: PositiveFloat = 0.1
    batch_rows: PositiveInt = 64
    n_bootstrap: Annotated[int, Field(ge=10)] = 1000


class SteeringConfig(Section):
    probe_method: Literal["mean_diff", "logistic"] = "mean_diff"
    layers: Literal["selected"] | list[int] = "selected"  # selected = the probes phase's validation choice
    alphas: list[Annotated[float, Field(ge=0)]] = [0, 1, 2, 3, 5, 7, 10, 15, 20, 25, 30]
    negative: bool = True  # also run -alpha for every alpha
    positions: Literal["response", "all"] = "response"
    families: list[str] | None = None  # None = every family
    prompts_per_family: Annotated[int, Field(ge=0)] = 0  # 0 = every instance
    task_free_prompts: Annotated[int, Field(ge=0)] | None = None  # None = every dataset steering prompt
    samples: PositiveInt = 5
    temperature: Annotated[float, Field(ge=0)] = 0.7
    top_p: Annotated[float, Field(gt=0, le=1)] = 0.9
    max_new_tokens: PositiveInt = 128
    batch_rows: PositiveInt = 256
    norm_texts: PositiveInt = 16
    forced_choice_orders: Literal["both", "instance"] = "both"  # both = mean LD over the two option orders
    judge: str = "smollm2-135m"
    judge_validation_texts: Annotated[int, Field(ge=0)] = 60
    classifier_c: PositiveFloat = 1.0
    n_bootstrap: Annotated[int, Field(ge=10)] = 1000
    min_units: Annotated[int, Field(ge=2)] = 5
    repetition_n: PositiveInt = 3
    degenerate_repetition: Annotated[float, Field(gt=0, le=1)] = 0.5
    degenerate_min_words: Annotated[int, Field(ge=0)] = 3
    breakdown_perplexity: PositiveFloat = 2.0
    breakdown_degenerate: Annotated[float, Field(gt=0, lt=1)] = 0.2


class Profile(Section):
    """A named overlay: which models run, and per-section overrides."""

    models: list[str]
    extract: dict[str, Any] = {}
    probes: dict[str, Any] = {}
    collect: dict[str, Any] = {}
    dataset: dict[str, Any] = {}
    validate: dict[str, Any] = {}  # type: ignore[assignment]  # shadows the deprecated BaseModel.validate
    baselines: dict[str, Any] = {}
    patching: dict[str, Any] = {}
    ablation: dict[str, Any] = {}
    mediation: dict[str, Any] = {}
    steering: dict[str, Any] = {}


class Params(Section):
    """The whole of params.yaml after the profile and overrides are applied."""

    seed: int
    profile: str = "smoke"
    run_models: list[str] = []
    data: DataConfig = DataConfig()
    models: dict[str, ModelSpec]
    profiles: dict[str, Profile]
    extract: ExtractConfig = ExtractConfig()
    probes: ProbesConfig = ProbesConfig()
    collect: CollectConfig = CollectConfig()
    dataset: DatasetConfig = DatasetConfig()
    validate: ValidateConfig = ValidateConfig()  # type: ignore[assignment]  # see the warnings filter above
    baselines: BaselinesConfig = BaselinesConfig()
    patching: PatchingConfig = PatchingConfig()
    ablation: AblationConfig = AblationConfig()
    mediation: MediationConfig = MediationConfig()
    steering: SteeringConfig = SteeringConfig()

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


SECTIONS = ("extract", "probes", "collect", "dataset", "validate", "baselines", "patching", "ablation",
            "mediation", "steering")


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


def load_params(path: str | Path = "params.yaml", profile: str = "smoke",
                overrides: list[str] | None = None) -> Params:
    """Read, overlay and validate params.yaml; raises InputError (exit 2) on any problem."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read parameters: {exc}") from exc
    tree = copy.deepcopy(raw)
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
    return params
