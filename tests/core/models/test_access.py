"""Hub access and the device are checked before any compute: gated, unknown and reachable models, offline
skip; hub models with no CUDA device fail at once (exit 2, nothing loaded, nothing written)."""

from __future__ import annotations

import httpx
import pytest
from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

import core.models.loader
from analyses.__main__ import main
from core.config import ModelSpec, load_params
from core.errors import InputError
from core.models.access import CUDA_DRIVER, check_access, check_device, hub_models
from tests.conftest import ROOT

SPECS = {"llama3-8b": ModelSpec(source="hub", hf_id="meta-llama/Meta-Llama-3-8B-Instruct", family="llama"),
         "qwen2.5-7b": ModelSpec(source="hub", hf_id="Qwen/Qwen2.5-7B-Instruct", family="qwen2")}


def _response(code: int) -> httpx.Response:
    return httpx.Response(code, request=httpx.Request("GET", "https://huggingface.co/api/models/x"))


def _hub(gated: set[str], missing: set[str], seen: list[tuple[str, object]]):
    def auth_check(repo_id: str, token=None) -> None:
        seen.append((repo_id, token))
        if repo_id in gated:
            raise GatedRepoError("gated", response=_response(403))
        if repo_id in missing:
            raise RepositoryNotFoundError("missing", response=_response(404))
    return auth_check


def test_gated_model_fails_naming_model_and_licence_page(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    seen: list[tuple[str, object]] = []
    with pytest.raises(InputError) as err:
        check_access(SPECS, _hub({"meta-llama/Meta-Llama-3-8B-Instruct"}, set(), seen))
    msg = str(err.value)
    assert "'llama3-8b'" in msg and "https://huggingface.co/meta-llama/Meta-Llama-3-8B-Instruct" in msg
    assert "licence" in msg and "qwen" not in msg  # only the failing model is named
    assert seen == [(s.hf_id, "hf_test") for s in SPECS.values()]  # every model asked, with the token


def test_missing_token_and_unknown_model_are_explained(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(InputError) as err:
        check_access(SPECS, _hub({"meta-llama/Meta-Llama-3-8B-Instruct"}, {"Qwen/Qwen2.5-7B-Instruct"}, []))
    assert "set HF_TOKEN" in str(err.value) and "not found on the hub or is private" in str(err.value)


def test_reachable_models_pass_and_offline_asks_nothing(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    seen: list[tuple[str, object]] = []
    assert check_access(SPECS, _hub(set(), set(), seen)) == list(SPECS)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert check_access(SPECS, _hub({s.hf_id for s in SPECS.values()}, set(), seen)) == []
    assert len(seen) == 2


def test_hub_models_of_a_profile():
    paper = load_params(ROOT / "params.yaml", "paper")
    found = hub_models(paper, paper.run_models, "extract")
    assert found and all(s.source == "hub" for s in found.values()) and set(found) <= set(paper.run_models)
    judge = paper.steering.judge
    assert (judge in hub_models(paper, [], "steering")) == (paper.models[judge].source == "hub")
    assert judge not in hub_models(paper, [], "extract") or judge in paper.run_models
    smoke = load_params(ROOT / "params.yaml", "smoke")
    assert hub_models(smoke, smoke.run_models) == {}  # the embedded model needs no hub


def test_hub_models_without_cuda_fail_saying_why():
    with pytest.raises(InputError, match="need a CUDA GPU, but this torch .* is a CPU build") as err:
        check_device(SPECS, "paper", lambda: "this torch (2.13.0+cpu) is a CPU build")
    assert "llama3-8b, qwen2.5-7b" in str(err.value) and f"driver is {CUDA_DRIVER} or newer" in str(err.value)
    check_device(SPECS, "paper", lambda: None)  # a CUDA device: nothing to say
    check_device({}, "smoke", lambda: "no GPU")  # the embedded model runs on the CPU


def _no_load(*args, **kwargs):
    raise AssertionError("a model was loaded")


@pytest.mark.parametrize("argv", [["extract", "--profile", "paper", "--model", "phi3-mini"],
                                  ["validate", "--profile", "paper"],
                                  ["dataset", "--profile", "paper", "--model", "llama3-70b"]])
def test_a_gpu_profile_without_cuda_exits_2_before_loading(argv, in_tmp_outputs, monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(core.models.loader, "load_model", _no_load)
    monkeypatch.setattr(core.models.loader, "load_tokenizer", _no_load)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # the device check comes before any hub request
    monkeypatch.setattr("huggingface_hub.auth_check", _no_load)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error: params.yaml: field 'models'" in err and "need a CUDA GPU" in err and "--gpus all" in err
    assert not (in_tmp_outputs / "outputs").exists()  # nothing written


def test_phases_that_read_the_cache_do_not_need_cuda(in_tmp_outputs, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    calls: list[int] = []
    monkeypatch.setattr("core.models.access.check_device", lambda *a: calls.append(1))
    main(["probes", "--profile", "paper", "--model", "phi3-mini"])  # fails later: no activations here
    assert calls == []
