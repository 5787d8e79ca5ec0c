"""params.yaml validation: unknown keys are errors, profiles overlay, --set overrides."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
import yaml

from core.config import load_params
from core.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def test_profiles_overlay_sections():
    v0 = load_params(ROOT / "params.yaml", "v0")
    assert v0.extract.pooling == "v0_mean" and v0.probes.layers == [8, 12, 16, 20, 24]
    smoke = load_params(ROOT / "params.yaml", "smoke")
    assert smoke.extract.pooling == "response_mean" and smoke.run_models == ["smollm2-135m", "gemma3-270m"]
    assert smoke.hash() != v0.hash()


def test_set_overrides_are_typed():
    p = load_params(ROOT / "params.yaml", "smoke", ["probes.n_bootstrap=50", "probes.layers=[1, 2]"])
    assert p.probes.n_bootstrap == 50 and p.probes.layers == [1, 2]


def _error_field(tmp_path, edit) -> str | None:
    """The field that load_params names for params.yaml changed by `edit(raw)`."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    edit(raw)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(InputError) as err:
        load_params(path)
    return err.value.field


def test_unknown_key_is_an_error_naming_it(tmp_path):
    assert _error_field(tmp_path, lambda raw: raw["probes"].update(n_bootstrp=10)) == "probes.n_bootstrp"


def test_unknown_profile_and_model():
    with pytest.raises(InputError, match="unknown profile"):
        load_params(ROOT / "params.yaml", "nightly")
    with pytest.raises(InputError, match="unknown model"):
        load_params(ROOT / "params.yaml").model("gpt-9")


def test_paper_profile_names_the_four_models():
    paper = load_params(ROOT / "params.yaml", "paper")
    assert paper.run_models == ["phi3-mini", "llama3-8b", "gemma2-9b", "llama3-70b"]
    assert all(paper.model(m).source == "hub" for m in paper.run_models)


def test_a_missing_knob_is_an_error_naming_it(tmp_path):
    # no default fills it in: params.yaml is the only value
    field = _error_field(tmp_path, lambda raw: raw["steering"].pop("norm_max_length"))
    assert field == "steering.norm_max_length"


def test_target_words_must_meet_the_length_rules():
    with pytest.raises(InputError, match="words_min"):
        load_params(ROOT / "params.yaml", "smoke", ["dataset.target_words=[40, 120]"])
    widest = load_params(ROOT / "params.yaml", "smoke", ["dataset.target_words=[60, 150]"])
    assert widest.dataset.target_words == (60, 150)


def test_comparison_profiles_publish_beside_the_main_runs():
    assert load_params(ROOT / "params.yaml", "v0").comparison == "v0"
    assert load_params(ROOT / "params.yaml", "smoke").comparison is None
    assert load_params(ROOT / "params.yaml", "paper").comparison is None


def test_the_v2_profile_reads_the_previous_revision_beside_v3():
    v2, smoke = load_params(ROOT / "params.yaml", "v2"), load_params(ROOT / "params.yaml", "smoke")
    assert v2.comparison == "v2" and v2.data.dataset == "data/dataset_expanded.json"
    assert smoke.data.dataset == "data/v3/dataset.json"
    assert v2.data.instances_per_family == smoke.data.instances_per_family  # the same sampling protocol


def test_phase_models_must_be_a_phase_and_models_of_the_profile(tmp_path):
    tree = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert load_params(ROOT / "params.yaml").profiles["smoke"].phase_models["ablation"] == ["smollm2-135m"]
    for bad in ({"steering": ["phi3-mini"]}, {"nonsense": ["smollm2-135m"]}):
        tree["profiles"]["smoke"]["phase_models"] = bad
        path = tmp_path / "params.yaml"
        path.write_text(yaml.safe_dump(tree))
        with pytest.raises(InputError, match="phase_models"):
            load_params(path)


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: 1\nmodels: [a, b\nprofiles: {}\n")
    with pytest.raises(InputError) as err:
        load_params(path)
    assert err.value.line == 3 and "column 9" in str(err.value)
    assert "flow sequence started at line 2" in str(err.value)


def test_params_file_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_bytes(codecs.BOM_UTF8 + (ROOT / "params.yaml").read_bytes())
    assert load_params(path) == load_params(ROOT / "params.yaml")
