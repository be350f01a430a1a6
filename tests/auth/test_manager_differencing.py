"""A site manager knows their own site's figures exactly (Terrain, door level, by quarter too).

Impact must not let them subtract those figures from a published total to recover a hidden cell of
another site (Île-de-France households − Grigny = Saint-Denis, a secret site of 7 households).
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from tests.auth.conftest import SITE_A, SITE_B, SMALL_SITE, AccessEnv


def _csv(client: Any, name: str, query: str = "") -> pd.DataFrame:
    response = client.get(f"/download/impact-{name}.csv?lang=en{query}")
    assert response.status_code == 200, response.status_code
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return pd.read_csv(io.StringIO(text), sep=";", decimal=",", dtype={"Region code": str, "Site code": str})


def _own_cells(access_env: AccessEnv, site: str) -> pd.DataFrame:
    """What the manager of ``site`` knows exactly: the cells of their site (site × QPV × quarter)."""
    from geo.coverage import impact
    from geo.coverage.aggregate import prepare_events
    from geo.coverage.store import load_events, open_store

    engine = open_store(access_env.url)
    try:
        events = load_events(engine)
    finally:
        engine.dispose()
    cells = impact.cells_from_events(prepare_events(events))
    return cells[cells["site"].astype(str) == site]


def _number(value: Any) -> float | None:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iat[0]
    return None if pd.isna(number) else float(number)


def test_manager_cannot_subtract_own_site_from_impact_totals(clients: dict[str, Any], access_env: AccessEnv) -> None:
    for who, own_site in (("manager_a", SITE_A), ("manager_b", SITE_B)):
        client = clients[who]
        own = _own_cells(access_env, own_site)
        own_total = int(own["households"].sum())
        regions = _csv(client, "regions")
        assert len(regions), f"{who}: no région row at all"
        recovered = []
        for _, row in regions.iterrows():
            shown = _number(row["Households met"])
            if shown is not None:
                recovered.append(shown - own_total)
        # the exact attack: région households − own site households; nothing else may remain
        assert all(value == 0 for value in recovered), f"{who}: région minus own site = {recovered}"
        for region in regions["Region code"]:
            sites = _csv(client, "sites", f"&region={region}")
            assert set(sites["Site code"].astype(str)) <= {own_site}, f"{who} sees other sites: {set(sites['Site code'])}"
            assert SMALL_SITE not in set(sites["Site code"].astype(str))
            quarters = _csv(client, "quarters", f"&region={region}")
            by_quarter = own.groupby("quarter")["households"].sum()
            for _, row in quarters.iterrows():
                shown = _number(row["Households met"])
                if shown is not None:
                    known = int(by_quarter.get(row["Quarter"], 0))
                    assert shown - known == 0, f"{who}: région {region} × {row['Quarter']} minus own = {shown - known}"


def test_funders_still_see_every_site(clients: dict[str, Any]) -> None:
    """The narrowing is for managers only: a funder's regions cover all sites (the small one hidden)."""
    sites = pd.concat([_csv(clients["financeur"], "sites", f"&region={code}")
                       for code in _csv(clients["financeur"], "regions")["Region code"]])
    codes = set(sites["Site code"].astype(str))
    assert {SITE_A, SITE_B} <= codes
    small = sites[sites["Site code"].astype(str) == SMALL_SITE]
    assert small.empty or _number(small["Households met"].iat[0]) is None
