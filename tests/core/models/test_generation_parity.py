"""The HF and vLLM generation paths feed the model identical token ids, for every family (issue 11.4).

The tiny models share the embedded model's tokenizer (ChatML, no BOS), which cannot show the double-BOS
bug; so each family gets that tokenizer with a chat template of its family's shape and, like the real
tokenizers, a BOS added on encode (Qwen2's adds none). Templates that write `{{ bos_token }}` themselves
(Llama-3, Gemma, Mistral/Mixtral) then get two BOS from a rendered string tokenized with special tokens
(what vLLM does with a string prompt); `chat_ids` gives one. Phi-3's template writes no BOS and
`chat_ids` adds none, as HF's own `apply_chat_template(tokenize=True)` does.
"""

from __future__ import annotations

import copy

import pytest
from tokenizers.processors import TemplateProcessing

from core.config import ModelSpec
from core.models.generation import (
    GenRequest,
    Sampling,
    TransformersBackend,
    VllmBackend,
    VllmSettings,
    chat_ids,
    chat_messages,
)
from core.models.loader import load_model, load_tokenizer
from core.models.tiny import build_tiny
from tests.conftest import FAMILIES

BOS = "<|endoftext|>"  # an existing special token of the shared vocabulary, standing in for <s>/<bos>
_TURNS = "{% for m in messages %}"
_NO_SYSTEM = "{% if m['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
TEMPLATES = {
    "llama": "{{ bos_token }}" + _TURNS + "<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
             "{{ m['content'] | trim }}<|eot_id|>{% endfor %}"
             "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}",
    "gemma2": "{{ bos_token }}" + _TURNS + _NO_SYSTEM + "<start_of_turn>"
              "{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n{{ m['content'] | trim }}<end_of_turn>\n"
              "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}",
    "mistral": "{{ bos_token }}" + _TURNS + _NO_SYSTEM + "{% if m['role'] == 'user' %}[INST] {{ m['content'] }} "
               "[/INST]{% else %}{{ m['content'] }}{{ eos_token }}{% endif %}{% endfor %}",
    "phi3": _TURNS + "<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|>\n{% endif %}",
    "qwen2": _TURNS + "<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
             "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
}
TEMPLATES["mixtral"] = TEMPLATES["mistral"]
ADDS_BOS = {f: f != "qwen2" for f in TEMPLATES}  # Phi-3's tokenizer adds <s> on encode; its template does not
REQUESTS = [GenRequest("a", "Answer briefly.", "A man drops his wallet. What do you do?", 1),
            GenRequest("b", "Answer briefly.", "Hi.", 2)]


def family_tokenizer(family: str):
    """The shared tiny tokenizer with `family`'s template shape and BOS behaviour."""
    tok = copy.deepcopy(load_tokenizer(ModelSpec(source="tiny", hf_id="tiny", family=family)))
    tok.bos_token, tok.chat_template = BOS, TEMPLATES[family]
    if ADDS_BOS[family]:
        bos = tok.convert_tokens_to_ids(BOS)
        tok._tokenizer.post_processor = TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A $B",
                                                           special_tokens=[(BOS, bos)])
    return tok


def hf_chat_ids(tok, system: str, user: str) -> list[int]:
    """HF's own chat path (the oracle): apply_chat_template(tokenize=True), the system turn folded into the
    user turn where the template rejects it."""
    turns = [[{"role": "system", "content": system}, {"role": "user", "content": user}],
             [{"role": "user", "content": f"{system}\n\n{user}"}]]
    for messages in turns:
        try:
            return list(tok.apply_chat_template(messages, tokenize=True, add_generation_prompt=True)["input_ids"])
        except Exception:  # noqa: BLE001, S112 - jinja's TemplateError: try the folded form
            continue
    raise AssertionError("no template form accepted")


@pytest.mark.parametrize("family", FAMILIES)
def test_prompt_ids_hold_the_templates_bos_once(family):
    tok = family_tokenizer(family)
    bos = tok.convert_tokens_to_ids(BOS)
    ours = chat_ids(tok, "Answer briefly.", "What do you do?")
    in_template = TEMPLATES[family].startswith("{{ bos_token }}")
    assert ours.count(bos) == int(in_template) and (ours[0] == bos) == in_template
    assert ours == hf_chat_ids(tok, "Answer briefly.", "What do you do?")
    naive = tok(chat_messages(tok, "Answer briefly.", "What do you do?"))["input_ids"]  # a string given to vLLM
    assert naive.count(bos) == int(in_template) + int(ADDS_BOS[family])


@pytest.fixture(scope="module", params=FAMILIES)
def checkpoint(request, tmp_path_factory):
    """A saved tiny checkpoint of each family (its family-shaped tokenizer, two end-of-turn ids in its
    generation config, like Phi-3's and Gemma-2's), loaded as a hub model by path."""
    family = request.param
    model, _ = build_tiny(family)
    tok = family_tokenizer(family)
    model.generation_config.eos_token_id = [tok.eos_token_id, 107]
    folder = tmp_path_factory.mktemp(family)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return ModelSpec(source="hub", hf_id=str(folder), revision="main", family=family, dtype="float32")


def test_hf_and_vllm_paths_feed_identical_token_ids(checkpoint, monkeypatch):
    loaded = load_model("ckpt", checkpoint)
    fed: dict[str, object] = {}
    real = loaded.hf.generate

    def spy(**kwargs):
        fed["rows"] = [ids[mask.bool()].tolist() for ids, mask in zip(kwargs["input_ids"], kwargs["attention_mask"],
                                                                       strict=True)]
        fed["eos"] = kwargs["eos_token_id"]
        return real(**kwargs)

    monkeypatch.setattr(loaded.hf, "generate", spy)
    sampling = Sampling(max_new_tokens=3)
    list(TransformersBackend(loaded, sampling).generate_units([("u", REQUESTS)]))
    job = VllmBackend(checkpoint, sampling, VllmSettings(), seed=0).job([("u", REQUESTS)])  # loads no weights
    sent = [r["prompt_token_ids"] for r in job["units"][0]["requests"]]
    assert fed["rows"] == sent == [hf_chat_ids(loaded.tokenizer, r.system, r.user) for r in REQUESTS]
    assert fed["eos"] == job["stop_token_ids"] == loaded.eos_ids == [loaded.tokenizer.eos_token_id, 107]
    assert len(sent[0]) != len(sent[1])  # the HF rows were left-padded, and the padding was not fed
