"""The key figures of the page Impact: before any release a funder reads « – », never « secret statistique »."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from app.components import impact_views
from app.components.impact_summary import Summary


def _summary(**changes) -> Summary:
    base = {"households": None, "doors_opened": None, "qpv_active": 0, "reach_share": None,
            "trend": pd.DataFrame(), "notes": [], "regions": pd.DataFrame(), "sites": pd.DataFrame(),
            "source": "release", "caption": "", "version": None}
    return Summary(**{**base, **changes})


def _values(cards) -> dict[str, str]:
    return {card.id.removeprefix("impact-kpi-"): card.children[0].children for card in cards}


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_release_yet_shows_dashes_not_secrecy(lang: str) -> None:
    cards = impact_views.kpi_cards(_summary(), lang=lang)
    assert _values(cards) == {"households": "–", "qpv": "–", "reach": "–"}
    text = json.dumps([c.to_plotly_json() for c in cards], default=str, ensure_ascii=False)
    assert "secret" not in text.lower()


def test_a_release_with_a_hidden_total_still_says_secrecy() -> None:
    cards = impact_views.kpi_cards(_summary(version=3, qpv_active=4, doors_opened=120), lang="fr")
    values = _values(cards)
    assert "secret statistique" in values["households"] and values["qpv"] == "4" and values["doors"] == "120"
