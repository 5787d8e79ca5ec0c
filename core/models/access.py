"""Hub access, checked before any compute (a gated model found missing after an hour of extraction
costs that hour).

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
