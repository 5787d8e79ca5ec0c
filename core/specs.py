"""The base of every params section, and the model spec with its architecture shape (DESIGN P5).

Apart from core/config.py so that core/sizing.py (the GPU plan's arithmetic) can read a model's shape
without the whole params tree; core.config re-exports all three.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PositiveInt = Annotated[int, Field(gt=0)]


class Section(BaseModel):
    """Base for every params section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelShape(Section):
    """A decoder's architecture facts, as in its config.json: enough to count its parameters, size its
    weights and its KV cache without downloading it (`python -m analyses plan`)."""

    layers: PositiveInt  # num_hidden_layers
    hidden: PositiveInt  # hidden_size (d_model)
    intermediate: PositiveInt  # intermediate_size (of one expert, for a mixture of experts)
    vocab: PositiveInt  # vocab_size
    heads: PositiveInt  # num_attention_heads
    kv_heads: PositiveInt  # num_key_value_heads
    head_dim: PositiveInt | None  # head_dim where the config sets it (Gemma-2); null = hidden / heads
    tied_embeddings: bool  # tie_word_embeddings: the LM head reuses the embedding matrix
    experts: PositiveInt  # num_local_experts (1 = dense)
    active_experts: PositiveInt  # num_experts_per_tok (1 = dense)
    qkv_bias: bool  # biases on the q, k, v projections (Qwen2)
    norms_per_layer: PositiveInt  # RMSNorm weight vectors per block (2; Gemma-2 has 4)


class EmbeddedFile(Section):
    """Where an embedded model's GGUF lives: a file inside an installed package, or (assemble) a file
    that the package's `assemble(path)` writes from its chunk packages."""

    package: str
    file: str
    assemble: bool


class ModelSpec(Section):
    """One model: where it comes from, how to load it, and (for the plan) its shape."""

    source: Literal["embedded", "hub", "tiny"]
    hf_id: str
    revision: str = "main"
    family: Literal["llama", "phi3", "gemma2", "gemma3", "qwen2", "mistral", "mixtral"]
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    device_map: str | None = None
    remote: Literal["ndif"] | None = None  # ndif: traces run on NDIF (core/models/remote.py), no weights here
    embedded: EmbeddedFile | None = None
    # base models have no chat template: ours (core/models/loader.py PLAIN_TEMPLATE) renders their prompts
    chat: Literal["model", "plain"] = "model"
    shape: ModelShape | None = None  # required by `analyses plan` for the profile's models

    @model_validator(mode="after")
    def _embedded_has_a_file(self) -> ModelSpec:
        if self.source == "embedded" and self.embedded is None:
            raise ValueError("an embedded model needs `embedded: {package, file, assemble}`")
        return self
