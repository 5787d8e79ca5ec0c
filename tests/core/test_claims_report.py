"""The README's results section is generated from claims.yaml (core.claims_report): the test fails when the
README and the claims disagree, so a number typed into that section by hand, or a claim changed without
`python -m analyses report`, cannot go unnoticed."""

from __future__ import annotations

import pytest

from analyses.__main__ import main
from core.claims import fmt, load_claims
from core.claims_report import RESULTS_BEGIN, RESULTS_END, current_section, render_results, replace_section
from core.errors import InputError
from tests.conftest import ROOT


def test_the_readme_results_section_is_exactly_the_render_of_claims_yaml():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    expected = render_results(load_claims(ROOT / "claims.yaml"))
    assert current_section(readme) == expected, "run `python -m analyses report` (README differs from claims.yaml)"


def test_every_claim_appears_with_its_published_value():
    section = render_results(claims := load_claims(ROOT / "claims.yaml"))
    for c in claims:
        assert f"`{c.id}`" in section and fmt(c.published, c.digits) in section, c.id


def test_report_check_fails_on_a_hand_edited_readme(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text((ROOT / "README.md").read_text(encoding="utf-8"))
    claims = ["--claims", str(ROOT / "claims.yaml"), "--readme", str(readme)]
    assert main(["report", "--check", *claims]) == 0
    first = load_claims(ROOT / "claims.yaml")[0]
    readme.write_text(readme.read_text().replace(fmt(first.published, first.digits), "0.999", 1))
    assert main(["report", "--check", *claims]) == 1
    assert main(["report", *claims]) == 0 and main(["report", "--check", *claims]) == 0  # rewritten back
    assert "rewritten" in capsys.readouterr().out


def test_a_readme_without_both_markers_is_refused():
    with pytest.raises(InputError, match="results:end"):
        replace_section(f"intro\n{RESULTS_BEGIN}\nno end", "x")
    assert replace_section(f"a\n{RESULTS_BEGIN}\nold\n{RESULTS_END}\nb", "NEW") == "a\nNEW\nb"
