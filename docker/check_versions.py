"""Fail the image build when an installed package lies outside the range the code is tested on.

    python3 docker/check_versions.py [--installed NAME=VERSION ...]

The GPU image takes transformers from vLLM's resolution (vLLM 0.33 pins transformers<5.21), not from
requirements/cpu.lock, so the version that ends up there is only known at build time. The tested
range is pyproject.toml's requirement for each package in CHECKED (CI runs the suite on both ends);
anything else fails the build loudly instead of failing on first use. `--installed` stands in for
the installed version (tests).
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement

CHECKED = ("transformers", "nnsight")
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def tested_ranges() -> dict[str, Requirement]:
    """pyproject.toml's requirement for each checked package."""
    deps = [Requirement(d) for d in tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]]
    return {r.name: r for r in deps if r.name in CHECKED}


def problems(installed: dict[str, str]) -> list[str]:
    """One message per checked package that is missing or outside its tested range."""
    out = []
    for name, req in tested_ranges().items():
        found = installed.get(name)
        if found is None:
            try:
                found = version(name)
            except PackageNotFoundError:
                out.append(f"{name} is not installed (tested: {req.specifier})")
                continue
        if not req.specifier.contains(found, prereleases=True):
            out.append(f"{name} {found} is outside the tested range {req.specifier} (pyproject.toml)")
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--installed", action="append", default=[], metavar="NAME=VERSION")
    args = p.parse_args()
    found = problems(dict(item.split("=", 1) for item in args.installed))
    for msg in found:
        print(f"check_versions: {msg}", file=sys.stderr)
    if not found:
        print("check_versions: " + ", ".join(f"{n} {r.specifier}" for n, r in tested_ranges().items()) + " ok")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
