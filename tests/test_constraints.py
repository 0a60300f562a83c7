"""CI installs a recorded set of versions and prints what it resolved (security review 15), so
that a vulnerability audit can be run against the same set on a machine that reaches a
vulnerability database."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[1]


def pinned() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            requirement = Requirement(text)
            specifiers = list(requirement.specifier)
            assert len(specifiers) == 1 and specifiers[0].operator == "==", line
            out[canonicalize_name(requirement.name)] = specifiers[0].version
    return out


def needed(name: str, extras: frozenset[str]) -> set[str]:
    """Every distribution ``name[extras]`` needs on this machine, from installed metadata."""
    seen: dict[str, frozenset[str]] = {}
    todo = [(name, extras)]
    while todo:
        current, wanted = todo.pop()
        key = canonicalize_name(current)
        if key in seen and wanted <= seen[key]:
            continue
        seen[key] = seen.get(key, frozenset()) | wanted
        for text in metadata.distribution(current).requires or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in wanted | {""}):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return set(seen) - {canonicalize_name(name)}


def test_every_distribution_the_test_install_needs_is_pinned() -> None:
    versions = pinned()
    missing = sorted(needed("alliance", frozenset({"test"})) - set(versions))
    assert not missing, f"not in constraints.txt: {missing}"


def test_ci_installs_the_pinned_versions_and_prints_them() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    command = readme[readme.index("```bash") + 2]
    venv, install, tests = command.split(" && ")
    constrained = install.replace(" -e ", " -c constraints.txt -e ", 1)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    line = f"{venv} && {constrained} && .venv/bin/pip freeze --exclude-editable && {tests}"
    assert line in ci
