"""Field entries (geo.coverage.field): shape checks, buildings and walk list of a campaign, idempotent sync
on the phone's id, the file checks and messages, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from geo.coverage import field
from geo.coverage.errors import row_message
from geo.coverage.importer import import_frame
from geo.coverage.store import IMPORTS, VISITS, count_visits, open_store

SITE = "91286"
CAMPAIGN = "Eau et énergie 2026"
TODAY = dt.date(2026, 11, 30)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """The store on a SQLite file, or on the PostgreSQL database of ``$VOISINMAP_TEST_PG_URL`` emptied first."""
    url = f"sqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite" else os.environ["VOISINMAP_TEST_PG_URL"]
    eng = open_store(url)
    with eng.begin() as conn:
        conn.execute(sa.delete(VISITS))
        conn.execute(sa.delete(IMPORTS))
    yield eng
    eng.dispose()


def _history(engine: sa.Engine) -> None:
    """Four buildings of one campaign on two streets; the second has a door to go back to."""
    rows = []
    for k, (number, street) in enumerate([("12", "avenue des Tuileries"), ("4", "avenue des Tuileries"),
                                          ("2", "rue Vlaminck"), ("30", "avenue des Tuileries")], start=1):
        for door, outcome in (("A-01", "ouvert"), ("A-02", "a_revoir" if k == 2 else "absent")):
            rows.append({"campagne": CAMPAIGN, "site": SITE, "date": "2026-11-02", "heure": f"18:{k:02d}",
                         "numero": number, "voie": street, "code_postal": "91350", "commune": "Grigny",
                         "latitude": f"{48.650 + k * 1e-3:.6f}", "longitude": f"{2.370 + k * 1e-3:.6f}",
                         "batiment": f"GB-{k}", "porte": door, "resultat": outcome, "langue": "", "sujets": "",
                         "voisin": "V009"})
    rows.append({**rows[0], "campagne": "Autre site", "site": "59350", "batiment": "LIL-1", "commune": "Lille"})
    import_frame(pd.DataFrame(rows), name="historique", engine=engine, today=TODAY)


def _entry(**over: object) -> dict[str, object]:
    return {"id": str(uuid.uuid4()), "campaign": CAMPAIGN, "building": "GB-2", "door": "B-03", "outcome": "ouvert",
            "language": "arabe", "topics": ["eau", "énergie"], "at": "2026-11-30T10:15", **over}


def test_check_entries_shape() -> None:
    one = _entry()
    assert field.check_entries([one, {**one}])[0]["id"] == one["id"]  # a repeated id is kept once
    assert len(field.check_entries([one, {**one}])) == 1
    with pytest.raises(field.EntryShapeError, match="entries: expected a list, got dict"):
        field.check_entries({"id": one["id"]})
    with pytest.raises(field.EntryShapeError, match=r"entries\[0\]\.id: expected a UUID"):
        field.check_entries([{**one, "id": "42"}])
    with pytest.raises(field.EntryShapeError, match=r"entries\[0\]\.topics: expected a list"):
        field.check_entries([{**one, "topics": "eau"}])
    with pytest.raises(field.EntryShapeError, match="expected at most 200 entries, got 201"):
        field.check_entries([_entry() for _ in range(201)])
    assert field.entry_content_key(one["id"].upper()) == field.entry_content_key(one["id"])


def test_buildings_and_walk_list_follow_the_street(engine: sa.Engine) -> None:
    _history(engine)
    assert field.site_campaigns(engine, site=SITE) == [CAMPAIGN]
    buildings = field.read_campaign_buildings(engine, site=SITE, campaign=CAMPAIGN)
    assert list(buildings["building"]) == ["GB-2", "GB-1", "GB-4", "GB-3"]  # avenue 4, 12, 30, then rue
    assert buildings.loc[buildings["building"] == "GB-1", "street_number"].item() == "12"
    events = field.store.load_events(engine, sites=[SITE], campaigns=[CAMPAIGN], located_only=False)
    walk = field.walk_list(events, buildings)
    assert walk.to_dict("records") == [{"building": "GB-2", "street_number": "4", "street": "avenue des Tuileries",
                                        "doors": "A-02"}]


def test_sync_is_idempotent_and_checked_like_files(engine: sa.Engine) -> None:
    _history(engine)
    before = count_visits(engine)
    good = [_entry(door=f"B-0{k}") for k in range(3)]
    twins = [_entry(door="C-01"), _entry(door="C-01")]  # two knocks recorded twice: two visits
    bad = [_entry(door="Mme Diallo"), _entry(building="LIL-1"), _entry(campaign="Autre site"),
           _entry(language="klingon"), _entry(at="2026-12-25T10:00")]
    entries = field.check_entries(good + twins + bad)
    first = field.sync_entries(entries, engine=engine, site=SITE, voisin="GRI-V03", today=TODAY)
    assert (first.imported, first.duplicates) == (5, 0)
    assert sorted(first.stored) == sorted(e["id"] for e in good + twins)
    assert set(first.rejected) == {e["id"] for e in bad}
    assert row_message("door", "fr") in first.rejected[bad[0]["id"]]
    assert "bâtiment hors de la liste de la campagne : choisissez un bâtiment de la liste" in first.rejected[bad[1]["id"]]
    assert "campagne inconnue pour ce site : choisissez une campagne de la liste" in first.rejected[bad[2]["id"]]
    assert row_message("language", "fr") in first.rejected[bad[3]["id"]]
    assert any("date" in m for m in first.rejected[bad[4]["id"]])
    assert count_visits(engine) == before + 5
    again = field.sync_entries(entries, engine=engine, site=SITE, voisin="GRI-V03", today=TODAY, lang="en")
    assert (again.imported, again.duplicates, sorted(again.stored)) == (0, 5, sorted(first.stored))
    assert row_message("door", "en") in again.rejected[bad[0]["id"]]
    assert count_visits(engine) == before + 5
    with engine.connect() as conn:
        stored = conn.execute(sa.select(VISITS.c.site, VISITS.c.voisin, VISITS.c.lat, VISITS.c.street_number,
                                        VISITS.c.topics).where(VISITS.c.door == "B-00")).one()
        formats = conn.execute(sa.select(IMPORTS.c.file_format, IMPORTS.c.file_name)
                               .where(IMPORTS.c.file_format == field.SYNC_FORMAT)).all()
    assert stored.site == SITE and stored.voisin == "GRI-V03" and stored.street_number == "4"
    assert stored.lat == pytest.approx(48.652) and stored.topics == "eau|énergie"
    assert len(formats) == 2 and all(name.endswith(".json") and "saisie" not in name for _, name in formats)
    mine = field.voisin_entries_of_day(engine, site=SITE, voisin="gri-v03", campaign=CAMPAIGN, day=TODAY)
    assert len(mine) == 5 and set(mine["door"]) == {"B-00", "B-01", "B-02", "C-01"}
    assert field.voisin_entries_of_day(engine, site=SITE, voisin="V009", campaign=CAMPAIGN, day=TODAY).empty
