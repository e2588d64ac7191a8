"""The dependency floors pyproject.toml declares are the versions CI runs.

CI installs every package at constraints.txt's pins and tests nothing older, so a floor
below the pinned release would claim support nobody tests. Each runtime requirement's floor
is therefore the major.minor release CI runs (its patch pinned in constraints.txt), and an
install beside an older numpy, Keras or JAX upgrades it rather than running untested. The
tools' extras (dev, docs) only need floors that admit their pins.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Extras of tools around the package (linting, tests' helpers, the site), not what it runs with.
TOOL_EXTRAS = {"dev", "docs"}
# Where the CPU-only TensorFlow wheel does not exist, the regular wheel of the same release.
STAND_INS = {"tensorflow": "tensorflow-cpu"}


def pins() -> dict[str, Version]:
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not name==version"
            pinned[canonicalize_name(name)] = Version(version)
    return pinned


PINS = pins()


def requirements(tools: bool) -> list[Requirement]:
    groups = [] if tools else [PROJECT["dependencies"]]
    extras = PROJECT["optional-dependencies"]
    groups += [reqs for extra, reqs in extras.items() if (extra in TOOL_EXTRAS) == tools]
    return [Requirement(text) for group in groups for text in group]


def pin_of(requirement: Requirement) -> Version:
    name = canonicalize_name(requirement.name)
    name = name if name in PINS else STAND_INS.get(name, name)
    assert name in PINS, f"{requirement}: not pinned in constraints.txt, so CI runs no known version of it"
    return PINS[name]


def major_minor(version: Version) -> tuple[int, int]:
    return (tuple(version.release) + (0, 0))[:2]


@pytest.mark.parametrize("requirement", requirements(tools=False), ids=str)
def test_each_runtime_floor_is_the_release_ci_runs(requirement):
    pin = pin_of(requirement)
    floors = [spec for spec in requirement.specifier if spec.operator in (">=", "==", "~=")]
    assert floors, f"{requirement}: no floor; CI runs {pin}"
    for spec in floors:
        floor = Version(spec.version)
        if spec.operator == "==":
            assert floor == pin, f"{requirement}: pinned to another version than constraints.txt's {pin}"
        else:
            assert major_minor(floor) == major_minor(pin) and floor <= pin, (
                f"{requirement}: the floor must be the major.minor CI runs and tests, "
                f"{'.'.join(map(str, major_minor(pin)))} (constraints.txt: {pin})"
            )
    assert requirement.specifier.contains(pin, prereleases=True), f"{requirement} refuses CI's {pin}"


@pytest.mark.parametrize("requirement", requirements(tools=True), ids=str)
def test_each_tool_floor_admits_the_pinned_version(requirement):
    pin = pin_of(requirement)
    assert requirement.specifier.contains(pin, prereleases=True), f"{requirement} refuses CI's {pin}"


def test_the_floors_cover_numpy_keras_and_jax():
    """The three whose older releases are most often already installed."""
    names = {canonicalize_name(r.name) for r in requirements(tools=False)}
    assert {"numpy", "keras", "jax", "tensorflow-cpu", "pandas"} <= names
