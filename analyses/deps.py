"""`python -m analyses deps [--write]`: the code each dvc.yaml stage depends on, from the import graph.

A stage runs `python -m analyses <phase>`. Its code is the entry files (analyses/__init__.py,
__main__.py, cli.py), the harness, the phase's module, and everything those two import, directly or
not. The graph comes from grimp and includes imports made inside functions. It also includes the
package `__init__` that every import runs, and any module the code starts as a process
(`[sys.executable, "-m", "core.models.vllm_worker"]`). The entry files' own imports are not followed:
they serve the other commands (summary, review, promote). A package folder whose modules are all
used is written as the folder; otherwise each used file is listed. So a change to one phase's
code reruns only the stages that use it: editing a steering verdict leaves extract cached.

The printed or written lists replace each stage's deps under core/ and analyses/. Other deps (data,
outputs/...) stay as they are. Every pipeline in PIPELINES is rewritten: dvc.yaml (the smoke profile) and
pipelines/paper/paper.yaml (the paper profile, run from the root: `wdir: ../..`; copied to
pipelines/paper/dvc.yaml on the GPU box, a name that DVC discovers). In each pipeline collect
depends on each out of that file's stages, one per model of its profile: a folder such as outputs/probes
would also hold the other pipeline's outs and pull its stages into the run (a smoke `dvc repro` would
start the paper profile's GPU stages).
tests/test_contracts.py checks that both files equal what this computes.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CODE = ("core", "analyses")
ENTRY_FILES = ("analyses", "analyses.__main__", "analyses.cli")  # deps as files; imports not followed
PIPELINES = {"dvc.yaml": "smoke", "pipelines/paper/paper.yaml": "paper", "pipelines/v2/dvc.yaml": "v2"}
# collect's outs of other pipelines: the smoke results hold the v2 revision's runs beside v3's
COLLECTS_ALSO = {"dvc.yaml": ("pipelines/v2/dvc.yaml",)}
_STARTS = re.compile(r'"-m",\s*"([\w.]+)"')


def module_file(module: str, root: Path = ROOT) -> Path | None:
    """The source file of a module (a package's __init__.py); None for a namespace package."""
    base = root.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _graph(root: Path) -> tuple[Any, dict[str, set[str]]]:
    """grimp's graph of core and analyses, and the modules each module starts as a process."""
    import grimp  # a dev tool (import-linter brings it); only this command needs it

    if str(root) not in sys.path:  # grimp finds the packages by import
        sys.path.insert(0, str(root))
    graph = grimp.build_graph(*CODE, cache_dir=None)
    starts: dict[str, set[str]] = {}
    for module in graph.modules:
        path = module_file(module, root)
        started = set(_STARTS.findall(path.read_text(encoding="utf-8"))) if path else set()
        starts[module] = started & graph.modules
    return graph, starts


def used_modules(graph: Any, starts: dict[str, set[str]], phase: str) -> set[str]:
    """Every module the stage of `phase` runs: the entry files plus the closure of harness and phase."""
    seen, todo = set(ENTRY_FILES), ["analyses.harness", f"analyses.{phase}"]
    while todo:
        module = todo.pop()
        if module in seen or module not in graph.modules:
            continue
        seen.add(module)
        parents = [".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)]
        todo += [*graph.find_modules_directly_imported_by(module), *starts.get(module, ()), *parents]
    return seen


def _folder_fully_used(folder: Path, used: set[Path]) -> bool:
    files = [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return bool(files) and all(p in used for p in files)


def compact(files: Iterable[Path], root: Path = ROOT) -> list[str]:
    """Repo-relative deps: the topmost folders whose files are all used, then the remaining files."""
    used, out = set(files), set()
    for path in sorted(used):
        rel = path.relative_to(root)
        top = next((root.joinpath(*rel.parts[:i]) for i in range(1, len(rel.parts))
                    if _folder_fully_used(root.joinpath(*rel.parts[:i]), used)), path)
        out.add(top.relative_to(root).as_posix())
    return sorted(out)


def stage_deps(phases: Iterable[str], root: Path = ROOT) -> dict[str, list[str]]:
    """Stage -> its code deps (core/ and analyses/ paths), computed from the import graph."""
    graph, starts = _graph(root)
    result = {}
    for phase in phases:
        files = (module_file(m, root) for m in used_modules(graph, starts, phase))
        result[phase] = compact((f for f in files if f is not None), root)
    return result


def _is_code(dep: str) -> bool:
    return dep.split("/")[0] in CODE


def merged(old: list[str], code: list[str]) -> list[str]:
    """A stage's deps with its code deps replaced: inputs (data), then code, then outputs/."""
    rest = [d for d in old if not _is_code(d)]
    return [d for d in rest if not d.startswith("outputs/")] + code + [d for d in rest if d.startswith("outputs/")]


def foreach_items(expr: str, params: Any) -> list[str]:
    """The list a stage's `foreach: ${a.b.c}` names in params.yaml's tree."""
    node = params
    for key in expr.strip()[2:-1].split("."):
        node = node[key]
    return [str(m) for m in node]


def pipeline_outs(doc: Any, models: list[str], params: Any = None) -> list[str]:
    """Every out of a pipeline's stages but collect, a foreach stage's once per item (`${item}`): the
    models its foreach names in `params`, or `models` when no params are given."""
    outs = []
    for name, stage in doc["stages"].items():
        body = stage.get("do", stage)
        names = [next(iter(o)) if isinstance(o, dict) else str(o) for o in body.get("outs", [])]
        if "foreach" not in stage:
            items = [""]
        else:
            items = foreach_items(stage["foreach"], params) if params is not None else models
        outs += [n.replace("${item}", m) for n in names for m in items if name != "collect"]
    return outs


def collect_deps(params_yaml: Path, profile: str | None, doc: Any) -> list[str] | None:
    """collect's output deps in a profile's own pipeline (None: the file keeps its own)."""
    if profile is None:
        return None
    import yaml

    tree = yaml.safe_load(params_yaml.read_text(encoding="utf-8"))
    return pipeline_outs(doc, [str(m) for m in tree["profiles"][profile]["models"]], tree)


def rewritten(dvc_yaml: Path, deps: dict[str, list[str]], profile: str | None = None, root: Path = ROOT) -> str:
    """dvc.yaml's text with every stage's code deps set to `deps` (comments and layout kept), and in a
    profile's pipeline collect's output deps set to its stages' outs."""
    import io

    from ruamel.yaml import YAML  # what DVC itself edits dvc.yaml with: round-trips comments

    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 120
    doc = yaml.load(dvc_yaml.read_text(encoding="utf-8"))
    outs = collect_deps(root / "params.yaml", profile, doc)
    for other in COLLECTS_ALSO.get(dvc_yaml.relative_to(root).as_posix(), ()):
        other_doc = yaml.load((root / other).read_text(encoding="utf-8"))
        outs = (outs or []) + (collect_deps(root / "params.yaml", PIPELINES[other], other_doc) or [])
    for name, stage in doc["stages"].items():
        body = stage.get("do", stage)
        old = [str(d) for d in body.get("deps", [])]
        if name == "collect" and outs is not None:
            old = [d for d in old if not d.startswith("outputs/")] + outs
        body["deps"] = merged(old, deps[name])
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def main(write: bool, root: Path = ROOT) -> int:
    """Print each stage's code deps; with `write`, put them into every pipeline file. Exit 1 if one was stale."""
    import yaml

    stale = False
    for name, profile in PIPELINES.items():
        dvc_yaml = root / name
        deps = stage_deps(yaml.safe_load(dvc_yaml.read_text(encoding="utf-8"))["stages"], root)
        for stage, paths in deps.items():
            print(f"{name}:{stage}: {' '.join(paths)}")
        text, old = rewritten(dvc_yaml, deps, profile, root), dvc_yaml.read_text(encoding="utf-8")
        stale |= text != old
        if write and text != old:
            dvc_yaml.write_text(text, encoding="utf-8")
            print(f"wrote {dvc_yaml}")
    return 0 if write or not stale else 1
