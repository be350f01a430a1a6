"""The fictitious demo history, inside the real QPV of the current sites (built national data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from coverage_helpers import TODAY

from geo.coverage import aggregate, demo, importer, store
from geo.load import load_arrondissements, load_qpv


@pytest.fixture(scope="session")
def national(processed_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return load_qpv(data_dir=processed_dir), load_arrondissements(data_dir=processed_dir)


@pytest.fixture(scope="session")
def demo_rows(national: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    qpv, arrondissements = national
    return demo.generate_demo(qpv, arrondissements=arrondissements)


def test_sites_select_their_real_qpv(national: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    qpv, arrondissements = national
    codes = {s.code: set(demo.site_qpv(qpv, s, arrondissements=arrondissements)["code_qp"]) for s in demo.SITES}
    assert codes["91286"] == {"QN09125M", "QN09126M"}  # La Grande Borne, Grigny 2
    assert {"QN09123M"} <= codes["91521"]  # Le Plateau, Ris-Orangis
    assert all(c.startswith("QN059") for c in codes["59350"] | codes["200042190"])
    assert all(c.startswith("QN075") for c in codes["75119"])
    hainaut = qpv[qpv["siren_epci"] == "200042190"]
    assert codes["200042190"] <= set(hainaut["code_qp"])
    assert all(codes.values())


def test_demo_is_seeded_and_labelled(demo_rows: pd.DataFrame, national: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    qpv, arrondissements = national
    again = demo.generate_demo(qpv, arrondissements=arrondissements)
    pd.testing.assert_frame_equal(demo_rows, again)
    other = demo.generate_demo(qpv, arrondissements=arrondissements, seed=7, sites=demo.SITES[:1])
    assert not other.equals(demo_rows.head(len(other)))
    assert demo_rows["campagne"].str.endswith(f"({demo.DEMO_LABEL})").all()
    assert set(demo_rows["site"]) == {s.code for s in demo.SITES}
    assert pd.to_datetime(demo_rows["date"]).max() <= pd.Timestamp(demo.DEMO_END)
    shares = demo_rows["resultat"].value_counts(normalize=True)
    assert 0.35 < shares["ouvert"] < 0.5 and 0.3 < shares["absent"] < 0.45
    assert 20_000 < len(demo_rows) < 80_000


def test_demo_visits_lie_in_their_site_qpv(demo_rows: pd.DataFrame, national: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    qpv, arrondissements = national
    codes = aggregate.assign_qpv(demo_rows["longitude"].astype(float).to_numpy(),
                                 demo_rows["latitude"].astype(float).to_numpy(), qpv)
    for site in demo.SITES:
        allowed = set(demo.site_qpv(qpv, site, arrondissements=arrondissements)["code_qp"])
        mine = codes[(demo_rows["site"] == site.code).to_numpy()]
        assert set(mine) <= allowed, site.code


def test_demo_imports_cleanly_with_plausible_coverage(demo_rows: pd.DataFrame, national, tmp_path: Path) -> None:  # noqa: ANN001
    qpv, _ = national
    engine = store.open_store(f"sqlite:///{tmp_path / 'demo.db'}")
    summary = importer.import_frame(demo_rows, name="démo", engine=engine, qpv=qpv, today=max(TODAY, demo.DEMO_END),
                                    demo=True)
    assert summary.rejected == 0 and summary.imported == len(demo_rows) and summary.outside_qpv == 0
    prep = aggregate.prepare_events(store.load_events(engine), qpv=qpv)
    assert aggregate.summarise(prep)["demo"] is True
    frame = aggregate.aggregate_qpv(prep, qpv=qpv)
    rates = frame["coverage_rate"].dropna()
    assert len(rates) >= 15 and (rates > 0.02).all() and (rates < 0.7).all()
    assert np.nanmedian(frame["open_rate"]) == pytest.approx(0.43, abs=0.05)
    engine.dispose()


def test_demo_needs_the_arrondissements_for_paris(national: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    qpv, _ = national
    paris = next(s for s in demo.SITES if s.code == "75119")
    with pytest.raises(ValueError, match="arrondissements: expected the arrondissements layer"):
        demo.site_qpv(qpv, paris)
    rows = demo.generate_demo(qpv, sites=(paris,))
    assert rows.empty or "75119" not in set(rows["site"])
    with pytest.raises(ValueError, match="qpv: expected a column 'insee_com'"):
        demo.generate_demo(qpv.drop(columns="insee_com"))


def test_demo_sites_are_the_shipped_network() -> None:
    """The demo history covers exactly the sites of data/sites.csv, so every page counts the same sites."""
    from geo import config
    from geo.coverage import demo
    from geo.siting import read_sites

    shipped = set(read_sites(config.PROJECT_ROOT / "data" / "sites.csv")["code"].astype(str))
    assert {s.code for s in demo.SITES} == shipped
