"""Hub access and the device, checked before any compute (a gated model found missing after an hour of
extraction costs that hour).

`check_device` refuses to run hub models (multi-billion-parameter checkpoints) without a CUDA device:
torch would otherwise load them on the CPU without a word and the run would take days, or run out of
memory. A GPU box whose container sees no GPU (no `--gpus all`, or a host driver older than the CUDA 13
base image needs) fails here, at once, saying so.

`check_access` asks the hub, for every hub model a run will load, whether the token in `HF_TOKEN`
may read it (huggingface_hub's `auth_check`). A gated model whose licence has not been accepted, a
private or unknown id, and a missing token all fail at once, naming the model and its page. Offline
(`HF_HUB_OFFLINE=1`, the CPU default) nothing is asked: a model missing from the local cache then
fails when it loads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

from core.config import ModelSpec, Params
from core.errors import InputError

AuthCheck = Callable[..., None]


def hub_models(params: Params, aliases: Iterable[str], phase: str = "") -> dict[str, ModelSpec]:
    """The hub models among `aliases`, with the judge of the phases that load one (validate, steering)."""
    judge = {"validate": params.validate.judge, "steering": params.steering.judge}.get(phase)
    wanted = {*aliases, *([judge] if judge else [])}
    return {a: params.models[a] for a in sorted(wanted) if a in params.models and params.models[a].source == "hub"}


CUDA_DRIVER = "580"  # the oldest NVIDIA host driver that runs the image's CUDA 13.0 base


def _no_cuda_reason() -> str | None:
    """Why torch sees no CUDA device (None when it sees one)."""
    import torch

    if torch.cuda.is_available():
        return None
    if torch.version.cuda is None:
        return f"this torch ({torch.__version__}) is a CPU build"
    return f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no device"


def check_device(specs: dict[str, ModelSpec], profile: str, reason: Callable[[], str | None] = _no_cuda_reason
                 ) -> None:
    """Raise InputError (exit 2) when hub models would load without a CUDA device (never a silent CPU
    fallback). `reason` says why there is none, or None when there is one (a seam for tests)."""
    if not specs:
        return
    why = reason()
    if why is None:
        return
    raise InputError("params.yaml", f"profile '{profile}' loads hub models ({', '.join(specs)}), which need a CUDA "
                     f"GPU, but {why}; refusing to fall back to the CPU. On a GPU box, run the image with "
                     f"`--gpus all` on a host whose NVIDIA driver is {CUDA_DRIVER} or newer (`nvidia-smi` shows "
                     f"it; the image's CUDA 13 base needs it); without a GPU, use --profile smoke.", field="models")


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes", "on"}


def _message(alias: str, spec: ModelSpec, exc: Exception, token: str | None) -> str:
    page = f"https://huggingface.co/{spec.hf_id}"
    if isinstance(exc, GatedRepoError):  # a subclass of RepositoryNotFoundError: test it first
        fix = "accept its licence there with the account of HF_TOKEN" if token else "set HF_TOKEN (read access)"
        return f"model '{alias}' ({spec.hf_id}) is gated: {fix}; licence page: {page}"
    if isinstance(exc, RepositoryNotFoundError):
        hint = "" if token else "; private models need HF_TOKEN"
        return f"model '{alias}' ({spec.hf_id}) was not found on the hub or is private{hint}: {page}"
    return f"cannot check access to model '{alias}' ({spec.hf_id}) on the hub: {exc}"


def check_access(specs: dict[str, ModelSpec], auth_check: AuthCheck | None = None) -> list[str]:
    """Raise InputError (exit 2) listing every hub model the token cannot read; returns the aliases
    checked (empty offline). `auth_check` defaults to huggingface_hub's."""
    if not specs or _offline():
        return []
    if auth_check is None:
        import huggingface_hub

        auth_check = huggingface_hub.auth_check
    token = os.environ.get("HF_TOKEN") or None
    problems = []
    for alias, spec in specs.items():
        try:
            auth_check(spec.hf_id, token=token)
        except Exception as exc:  # noqa: BLE001 - each failure becomes one line of the error
            problems.append(_message(alias, spec, exc, token))
    if problems:
        raise InputError("params.yaml", "; ".join(problems), field="models")
    return list(specs)
