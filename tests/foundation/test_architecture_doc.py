"""docs/architecture.md keeps one line per module of ``geo/`` and ``app/``."""

from __future__ import annotations

from geo import config

DOC = config.PROJECT_ROOT / "docs" / "architecture.md"


def _modules() -> list[str]:
    found = []
    for package in ("geo", "app"):
        for path in sorted((config.PROJECT_ROOT / package).rglob("*.py")):
            rel = path.relative_to(config.PROJECT_ROOT).as_posix()
            if "migrations" in rel or "/vendor/" in rel or "__pycache__" in rel:
                continue
            found.append(rel)
    return found


def test_every_module_has_its_line() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [m for m in _modules() if f"`{m}`" not in text]
    assert not missing, f"docs/architecture.md lacks a line for: {missing}"


def test_no_line_names_a_module_that_is_gone() -> None:
    import re

    named = set(re.findall(r"`((?:geo|app)/[\w/]+\.py)`", DOC.read_text(encoding="utf-8")))
    assert named <= set(_modules()), sorted(named - set(_modules()))
