"""Every message id the pages and components use is in both catalogues (French and English)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from geo.i18n import LANGS, has_message, translations

APP = Path(__file__).resolve().parents[2] / "app"
#: Modules whose texts come from the catalogues.
SOURCES = sorted([*(APP / "components").glob("*.py"),
                  *(APP / "pages" / f"{name}.py" for name in ("terrain", "impact", "strategie", "donnees", "_strategie_plan",
                                                                  "_strategie_saved", "not_found_404"))])
MSGID = re.compile(r"^[a-z_]+(\.[a-z0-9_]+)+$")


def _prefixes() -> set[str]:
    return {msgid.split(".", 1)[0] for msgid in getattr(translations("fr"), "_catalog", {}) if msgid}


def literal_ids(path: Path, prefixes: set[str]) -> set[str]:
    """String constants of ``path`` that look like message ids of a catalogue area (``terrain.kpi.qpv``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if is_text and MSGID.match(node.value) and node.value.split(".", 1)[0] in prefixes:
            found.add(node.value)
    return found


def formatted_ids() -> set[str]:
    """Ids built from a prefix and a key (``f"outcome.{o}"``), for every key the code uses."""
    from app.components import mapstyle, results
    from geo import siting
    from geo.coverage import schema

    strategie_territories = ("metropole", "guadeloupe", "martinique", "guyane", "reunion", "mayotte",
                             "saint_martin", "polynesie")
    ids = {f"outcome.{o}" for o in schema.OUTCOMES}
    ids |= {f"ind.{k}" for k in mapstyle.INDICATORS} | {f"src.{k}" for k in mapstyle.INDICATORS}
    ids |= {f"wt.{k}" for k in siting.INDICATORS} | {f"col.{c}" for c in results.TABLE_COLUMNS}
    ids |= {f"terr.{k}" for k in strategie_territories}
    ids |= {f"donnees.col.{c}" for c in ("name", "title", "producer", "vintage", "licence", "url", "origin",
                                         "sha256", "layer", "file", "rows", "join", "rate", "detail")}
    return ids


def test_sources_are_found():
    assert len(SOURCES) >= 12
    ids = set().union(*(literal_ids(p, _prefixes()) for p in SOURCES))
    assert {"terrain.kpi.visits", "impact.dl.xlsx", "scen.k", "res.progress_title"} <= ids


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_id_of_the_pages_is_in_the_catalogue(lang):
    prefixes = _prefixes()
    ids = set().union(*(literal_ids(p, prefixes) for p in SOURCES)) | formatted_ids()
    missing = sorted(i for i in ids if not has_message(i, lang))
    assert missing == []


def test_the_pages_register_no_texts_of_their_own():
    for path in [*SOURCES, APP / "layers.py", APP / "scenario.py", APP / "data.py", APP / "settings.py"]:
        assert "i18n.register(" not in path.read_text(encoding="utf-8"), path.name
