"""Which prompts a steering sweep uses: instances per family, then the dataset's own steering prompts."""

from __future__ import annotations

from analyses.steering import select_prompts
from core.config import load_params
from core.data import load_dataset
from tests.conftest import ROOT


def _params(*overrides: str):
    return load_params(ROOT / "params.yaml", "smoke", list(overrides))


def test_v3_prompts_are_filtered_by_family_and_capped_per_kind():
    ds = load_dataset(ROOT / "data" / "v3" / "dataset.json", ROOT / "data" / "v3" / "scenarios.json")
    cfg = _params("steering.families=[task_free, weak_conflict]", "steering.prompts_per_family=1",
                  "steering.task_free_prompts=3", "steering.conflict_prompts=1").steering
    prompts = select_prompts(cfg, ds)
    assert [p.prompt_id for p in prompts] == ["task_free_01", "weak_conflict_01", "task_free_steer_1",
                                              "task_free_steer_2", "task_free_steer_3", "weak_conflict_steer_1"]
    assert [p.task_free for p in prompts] == [True, False, True, True, True, False]
    assert {p.family for p in prompts} == {"task_free", "weak_conflict"}


def test_the_smoke_sweep_has_enough_prompts_in_each_group_for_a_test():
    params = _params()
    ds = load_dataset(params.data.dataset, params.data.scenarios, params.data.instances_per_family, params.seed)
    prompts = select_prompts(params.steering, ds)
    conflict = [p for p in prompts if not p.task_free]
    free = [p for p in prompts if p.task_free]
    assert len(conflict) >= params.steering.min_units and len(free) >= params.steering.min_units
    assert {ds.families[p.family].split for p in prompts} == {"test"}
