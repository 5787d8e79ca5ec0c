"""Embedded GGUF locations (in a package, or assembled from chunk packages), and the plain template."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.config import EmbeddedFile, ModelSpec, load_params
from core.models import loader
from core.models.text import encode, render

ROOT = Path(__file__).resolve().parents[3]


def _fake_chunked_package(root: Path, name: str, payload: bytes) -> None:
    """A package whose assemble(path) writes `payload` and counts its calls (like the Gemma-3 wheel)."""
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "CALLS = []\n"
        "def assemble(output_path):\n"
        "    from pathlib import Path\n"
        "    CALLS.append(output_path)\n"
        f"    Path(output_path).write_bytes({payload!r})\n"
        "    return Path(output_path)\n")


def test_an_assembled_gguf_is_written_once_into_the_cache(tmp_path, monkeypatch):
    _fake_chunked_package(tmp_path, "fake_chunked_gguf", b"GGUF-bytes")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("EIA_CACHE", str(tmp_path / "cache"))
    spec = ModelSpec(source="embedded", hf_id="x", family="gemma3", revision="fake==1",
                     embedded=EmbeddedFile(package="fake_chunked_gguf", file="m.gguf", assemble=True))
    first = loader.gguf_path(spec)
    assert first == tmp_path / "cache" / "gguf" / "m.gguf" and first.read_bytes() == b"GGUF-bytes"
    assert loader.gguf_path(spec) == first
    assert len(sys.modules["fake_chunked_gguf"].CALLS) == 1  # the second call reads the cached file
    revision = loader.revision_key(spec)
    assert revision.startswith("fake==1+gguf-") and len(revision.rsplit("-", 1)[-1]) == 12


def test_a_gguf_inside_a_package_is_found_without_importing_it(tmp_path, monkeypatch):
    pkg = tmp_path / "fake_plain_gguf"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise ImportError('needs a CLI we do not install')\n")
    (pkg / "w.gguf").write_bytes(b"x")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = ModelSpec(source="embedded", hf_id="x", family="llama",
                     embedded=EmbeddedFile(package="fake_plain_gguf", file="w.gguf", assemble=False))
    assert loader.gguf_path(spec) == pkg / "w.gguf"


def test_an_embedded_model_needs_its_file_and_a_missing_package_is_named():
    with pytest.raises(ValidationError, match="embedded"):
        ModelSpec(source="embedded", hf_id="x", family="llama")
    spec = ModelSpec(source="embedded", hf_id="x", family="llama", revision="absent==0",
                     embedded=EmbeddedFile(package="no_such_package_here", file="a.gguf", assemble=False))
    with pytest.raises(Exception, match="no_such_package_here"):
        loader.gguf_path(spec)


def test_both_embedded_models_are_configured_and_the_base_one_gets_the_plain_template():
    params = load_params(ROOT / "params.yaml", "smoke")
    assert params.run_models == ["smollm2-135m", "gemma3-270m"]
    gemma, smol = params.model("gemma3-270m"), params.model("smollm2-135m")
    assert gemma.source == smol.source == "embedded"
    assert gemma.family == "gemma3" and gemma.chat == "plain" and smol.chat == "model"
    assert gemma.embedded is not None and gemma.embedded.assemble and smol.embedded is not None


class _Tok:
    """Enough of a tokenizer to render the plain template with jinja, as transformers does."""

    bos_token = "<bos>"

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False):
        import jinja2

        return jinja2.Template(loader.PLAIN_TEMPLATE).render(messages=messages, bos_token=self.bos_token,
                                                             add_generation_prompt=add_generation_prompt)


def test_plain_template_renders_user_assistant_turns_and_locates_the_response():
    tok = _Tok()
    full, start, end = render(tok, "A man drops his wallet.", "I pick it up.", True)
    assert full == "<bos>User: A man drops his wallet.\nAssistant: I pick it up.\n"
    assert full[start:end] == "I pick it up."
    prompt = tok.apply_chat_template([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
                                     add_generation_prompt=True)
    assert prompt == "<bos>Be brief.\n\nUser: Hi\nAssistant:"


@pytest.mark.slow
def test_gemma3_pools_only_response_tokens_under_the_plain_template(embedded_gemma3):
    tok = embedded_gemma3.tokenizer
    enc = encode(tok, "What do you do?", "I stop and help her.", "response_mean", True, 64)
    assert enc.ids[0] == tok.bos_token_id  # the template's BOS, exactly once
    pooled = [i for i, w in zip(enc.ids, enc.weights, strict=True) if w > 0]
    assert tok.decode(pooled).strip() == "I stop and help her."
