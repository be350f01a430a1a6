"""The siting texts exist in both catalogues with the same placeholders, and no French leaks into English."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from geo.i18n import po_path


def _catalogue(lang: str) -> dict[str, str]:
    with po_path(lang).open("rb") as handle:
        cat = read_po(handle, locale=lang)
    return {m.id: m.string for m in cat if m.id and str(m.id).startswith("siting.")}


def test_siting_messages_are_complete_in_both_languages():
    fr, en = _catalogue("fr"), _catalogue("en")
    assert set(fr) == set(en) and len(fr) > 100
    for key in fr:
        assert fr[key] and en[key], key
        assert set(re.findall(r"{(\w+)}", fr[key])) == set(re.findall(r"{(\w+)}", en[key])), key
    assert not [k for k, v in en.items() if re.search(r"\b(habitants|quartiers prioritaires|ménages)\b", v)]
