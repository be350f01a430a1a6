"""Topics and languages on the Impact page are named in the reader's language, through the catalogue."""

from __future__ import annotations

import pandas as pd
import pytest

from app.components import impact_views
from geo import i18n
from geo.coverage import themes, vocabulary


@pytest.mark.parametrize(("kind", "values"), [("topics", vocabulary.TOPICS), ("language", vocabulary.LANGUAGES)])
def test_every_value_of_the_closed_lists_has_a_label_in_both_languages(kind: str, values: tuple[str, ...]) -> None:
    keys = [themes.value_key(v) for v in values]
    assert len(set(keys)) == len(keys)  # no two values share a message id
    for value, key in zip(values, keys, strict=True):
        msgid = f"{themes.PREFIXES[kind]}.{key}"
        assert i18n.has_message(msgid, "fr") and i18n.has_message(msgid, "en"), msgid
        assert themes.value_label(value, kind=kind, lang="fr") == value
    english = [themes.value_label(v, kind=kind, lang="en") for v in values]
    assert sum(e != v for e, v in zip(english, values, strict=True)) > len(values) // 2


def test_labels_read_right_and_unknown_values_stay() -> None:
    assert themes.value_key("chèque énergie") == "cheque_energie"
    assert themes.value_label("chèque énergie", kind="topics", lang="en") == "energy voucher"
    assert themes.value_label("français", kind="language", lang="en") == "French"
    assert themes.value_label("berbère", kind="language", lang="en") == "Berber"
    assert themes.value_label("ancien sujet", kind="topics", lang="en") == "ancien sujet"
    with pytest.raises(ValueError, match="kind"):
        themes.value_label("eau", kind="sujets", lang="en")


def _texts(component: object) -> list[str]:
    if isinstance(component, str):
        return [component]
    children = getattr(component, "children", None)
    if children is None:
        return []
    items = children if isinstance(children, list) else [children]
    return [text for child in items for text in _texts(child)]


def test_the_block_shows_translated_values_in_english_and_french_values_in_french() -> None:
    shares = pd.DataFrame({"value": ["eau", "logement", "santé"], "share_points": [45, 20, 5]})
    english = _texts(impact_views.themes_block(shares, kind="topics", lang="en"))
    french = _texts(impact_views.themes_block(shares, kind="topics", lang="fr"))
    assert {"water", "housing", "health"} <= set(english) and "eau" not in english
    assert {"eau", "logement", "santé"} <= set(french)
    languages = pd.DataFrame({"value": ["arabe", "français"], "share_points": [30, 60]})
    assert {"Arabic", "French"} <= set(_texts(impact_views.themes_block(languages, kind="language", lang="en")))
