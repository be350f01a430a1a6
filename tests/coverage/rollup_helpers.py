"""Random door-visit rows for the roll-up tests, and the roll-up recounted from the visits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from geo.coverage import store
from geo.coverage.keys import day_numbers, week_start


def overlapping_files(folder: Path, *, own: int, shared: int, seed: int) -> list[str]:
    """Two CSV files over the same buildings: ``own`` rows each of their own campaign, and the same ``shared``
    rows, shuffled; returns their paths."""
    common = random_rows(shared, seed=seed, campaign="Commun")
    paths = []
    for k in range(2):
        frame = pd.concat([random_rows(own, seed=seed + 3 + k, campaign=f"Fichier {k}"), common], ignore_index=True)
        path = folder / f"f{k}.csv"
        frame.sample(frac=1.0, random_state=k).to_csv(path, sep=";", index=False, encoding="utf-8")
        paths.append(str(path))
    return paths


def random_rows(n: int, *, seed: int, campaign: str = "Printemps", site: str = "91286",
                address_share: float = 0.1, lat: float = 48.642, lon: float = 2.372) -> pd.DataFrame:
    """``n`` valid rows as strings: 40 buildings, doors knocked several times (some without a mark), every
    outcome, dates over 2025, a share of address-only rows (no coordinates) and of rows without a building id."""
    rng = np.random.default_rng(seed)
    b = rng.integers(0, 40, n)
    day = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 330, n), unit="D")
    door = np.where(rng.random(n) < 0.15, "", np.char.add("P", rng.integers(0, 12, n).astype(str)))
    no_building = rng.random(n) < 0.2
    frame = pd.DataFrame({
        "campagne": campaign, "site": site,
        "date": day.strftime("%Y-%m-%d"), "heure": [f"{9 + h}:{m:02d}" for h, m in zip(rng.integers(0, 9, n),
                                                                                        rng.integers(0, 60, n),
                                                                                        strict=True)],
        "latitude": [f"{lat + (k % 8) * 1e-3:.6f}" for k in b],
        "longitude": [f"{lon + (k // 8) * 1e-3:.6f}" for k in b],
        "batiment": np.where(no_building, "", np.char.add("B", b.astype(str))),
        "porte": door,
        "resultat": rng.choice(["ouvert", "absent", "refus", "a_revoir", "ne_pas_deranger"], n),
        "langue": "français", "sujets": "eau", "voisin": "V001",
        "numero": "", "voie": "", "code_postal": "", "commune": "",
    })
    pending = rng.random(n) < address_share
    frame.loc[pending, ["latitude", "longitude", "batiment"]] = ""
    frame.loc[pending, "numero"] = (b[pending] % 5 + 1).astype(str)
    frame.loc[pending, "voie"] = "rue du Minotaure"
    frame.loc[pending, "code_postal"] = "91350"
    frame.loc[pending, "commune"] = "Grigny"
    return frame


_KEY = ["building_key", "week_start", "outcome", "campaign", "site", "located"]


def stored_rollup(engine: sa.Engine) -> pd.DataFrame:
    """The roll-up table, sorted, with plain dtypes."""
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(sa.select(store.ROLLUP)).all(), columns=[c.name for c in store.ROLLUP.c])
    return _normalised(frame)


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({"building_key": str, "outcome": str, "campaign": str, "site": str, "located": bool,
                          "week_start": np.int64, "visits": np.int64, "new_doors": np.int64})
    return frame[[*_KEY, "visits", "new_doors"]].sort_values(_KEY).reset_index(drop=True)


def recount(engine: sa.Engine) -> pd.DataFrame:
    """The roll-up counted again in pandas from the visits (keys and weeks recomputed from the dates)."""
    v = store.VISITS.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(v.id, v.building_key, v.visited_at, v.outcome, v.campaign, v.site, v.lat,
                                      v.door)).all()
    visits = pd.DataFrame(rows, columns=["id", "building_key", "visited_at", "outcome", "campaign", "site", "lat",
                                         "door"])
    visits["week_start"] = week_start(day_numbers(pd.to_datetime(visits["visited_at"])))
    visits["located"] = visits["lat"].notna()
    visits = visits.sort_values(["visited_at", "id"], kind="stable")
    door = visits["door"].where(visits["door"] != "", "#" + visits["id"].astype(str))
    visits["first"] = ~visits.assign(d=door).duplicated(["building_key", "located", "d", "outcome"])
    out = visits.groupby(_KEY, observed=True).agg(visits=("id", "size"), new_doors=("first", "sum")).reset_index()
    return _normalised(out)


def assert_in_step(engine: sa.Engine) -> pd.DataFrame:
    """Check the roll-up against a recount; returns it."""
    stored, counted = stored_rollup(engine), recount(engine)
    pd.testing.assert_frame_equal(stored, counted)
    return stored


def assert_store_in_step(url: str, *, visits: int) -> None:
    """The store at ``url`` holds ``visits`` visits and its roll-up counts them all, as a recount does."""
    engine = store.open_store(url)
    try:
        assert store.count_visits(engine) == visits
        assert assert_in_step(engine)["visits"].sum() == visits
    finally:
        engine.dispose()
