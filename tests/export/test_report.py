"""The funders' report: figures from door visits, secrecy in every table, no door-level data."""

from __future__ import annotations

import io
import json

import numpy as np
import openpyxl
import pandas as pd
import pytest

from geo import privacy
from geo.coverage import impact
from geo.export import bundle


def test_cells_from_events_counts_households_once() -> None:
    agg = pytest.importorskip("geo.coverage.aggregate")
    events = pd.DataFrame({
        "visited_at": pd.to_datetime(["2025-01-10", "2025-02-01", "2025-04-02", "2025-04-03", "2025-05-01"]),
        "outcome": ["absent", "ouvert", "ouvert", "ouvert", "refus"],
        "lat": [48.65, 48.65, 48.65, 48.66, 48.66], "lon": [2.38, 2.38, 2.38, 2.39, 2.39],
        "campaign": "c", "site": "91286", "building": ["b1", "b1", "b1", "b2", "b2"],
        "door": ["A-1", "A-1", "A-1", "B-1", "B-2"], "code_qp": ["QN09125M"] * 3 + [None, None],
    })
    cells = impact.cells_from_events(agg.prepare_events(events))
    assert set(cells.columns) == {"site", "code_qp", "quarter", *impact.MEASURES}
    assert not {"lat", "lon", "building", "door"} & set(cells.columns)
    by = cells.set_index(["code_qp", "quarter"])
    assert by.loc[("QN09125M", "2025-T1"), "households"] == 1  # first met in February
    assert by.loc[("QN09125M", "2025-T2"), "households"] == 0  # met again: not counted twice
    assert by.loc[("QN09125M", "2025-T2"), "doors_opened"] == 1
    assert by.loc[(impact.OUTSIDE, "2025-T2"), "households"] == 1
    assert cells["visits"].sum() == 5


def test_quarter_label() -> None:
    days = np.array(["2024-12-31", "2025-01-01", "2025-07-15"], dtype="datetime64[D]")
    assert impact.quarter_label(days).tolist() == ["2024-T4", "2025-T1", "2025-T3"]


def test_every_visible_household_figure_covers_11_or_more(small_report: impact.ImpactReport) -> None:
    for name in ("regions", "quarters", "sites", "qpv"):
        for region in (None, "11", "32"):
            if name == "regions" and region:
                continue
            table = small_report.table(name, region=region)
            visible = table.loc[~table["secret"], "households"].astype(float)
            assert (visible >= privacy.THRESHOLD).all(), (name, region)
            hidden = table[table["secret"]]
            assert hidden[["households", "doors_opened", "visits", "open_rate"]].isna().all().all()
    qpv = small_report.table("qpv", region="11")
    assert qpv.loc[qpv["secret"], "coverage_rate"].isna().all()
    assert qpv["secret"].any()


def test_differencing_two_views_of_the_report(small_report: impact.ImpactReport) -> None:
    """National figure − visible régions, région − visible sites, site − visible QPV, total − quarters."""
    nat = small_report.national()
    regions = small_report.table("regions")
    sites11 = small_report.table("sites", region="11")
    qpv11 = small_report.table("qpv", region="11")
    quarters = small_report.table("quarters")

    def residue(total: float, table: pd.DataFrame) -> tuple[float, int]:
        hidden = int(table["secret"].sum())
        return total - table.loc[~table["secret"], "households"].astype(float).sum(), hidden

    checks = [residue(nat["households"], regions), residue(nat["households"], quarters)]
    r11 = regions.set_index("region").loc["11"]
    if not r11["secret"]:
        checks.append(residue(float(r11["households"]), sites11))
    for site, group in qpv11.groupby("site"):
        row = sites11.set_index("site").loc[site]
        if not row["secret"]:
            checks.append(residue(float(row["households"]), group))
    for value, hidden in checks:
        # a difference that hides exactly one cell would give it away; it must mix several or none
        assert hidden != 1, f"a single hidden cell is recoverable as {value}"
    audit = privacy.audit(small_report.cube)
    assert len(audit) and (audit["width"] >= privacy.THRESHOLD).all()


def test_exports_respect_the_threshold(small_report: impact.ImpactReport, outlines) -> None:
    xlsx = bundle.impact_bytes(small_report, "xlsx", regions=outlines)
    wb = openpyxl.load_workbook(io.BytesIO(xlsx))
    assert wb.sheetnames == ["Notes", "Régions", "Trimestres", "Sites", "QPV"]
    notes = {r[0].value: r[1].value for r in wb["Notes"].iter_rows()}
    assert "11" in notes["Secret statistique"] and "Données fictives" in notes
    for name in wb.sheetnames[1:]:
        frame = pd.read_excel(io.BytesIO(xlsx), sheet_name=name)
        values = frame["Ménages rencontrés"].dropna()
        assert (values >= 11).all()
        assert (frame.loc[frame["Secret statistique"] == "oui", "Ménages rencontrés"].isna()).all()
    qpv = pd.read_excel(io.BytesIO(xlsx), sheet_name="QPV")
    assert qpv["QPV"].astype(str).str[:1].isin(["=", "+", "-", "@"]).sum() == 0
    geo = json.loads(bundle.impact_bytes(small_report, "geojson"))
    props = [f["properties"] for f in geo["features"]]
    assert {p["niveau"] for p in props} == {"qpv", "site"}
    assert all(p["Ménages rencontrés"] is None or p["Ménages rencontrés"] >= 11 for p in props)
    csv = bundle.impact_bytes(small_report, "csv", table="sites").decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("Code région;Code site;Site")
    with pytest.raises(ValueError, match="table: expected 'all' or one of"):
        bundle.impact_bytes(small_report, "csv", table="doors")


def test_errors() -> None:
    with pytest.raises(ValueError, match="cells: expected the columns"):
        impact.build_report(pd.DataFrame({"site": []}), sites=pd.DataFrame({"site": [], "region": []}),
                         qpv=pd.DataFrame({"code_qp": [], "lib_qp": [], "households": []}))
    with pytest.raises(ValueError, match="covered: expected 2 booleans"):
        impact.reach_table(pd.DataFrame({"insee_reg": ["11", "32"], "population": [1.0, 2.0]}), np.array([True]))


def test_reach_table() -> None:
    qpv = pd.DataFrame({"insee_reg": ["11", "11", "32"], "population": [100.0, np.nan, 300.0]})
    out = impact.reach_table(qpv, np.array([True, True, False])).set_index("region")
    assert out.loc["*", "reach_share"] == pytest.approx(0.25)
    assert out.loc["11", "reach_share"] == 1.0 and out.loc["32", "reach_share"] == 0.0


def test_trend_in_adaptive_bins_ends_at_the_headline(small_report: impact.ImpactReport) -> None:
    """Every bin of the chart passes the rule, no bin is blank, the cumulative ends at the total."""
    for region, total in ((None, small_report.national()["households"]), ("32", 350)):
        series, notes = small_report.trend(region, lang="fr")
        assert len(series) and series["households"].notna().all()
        assert (series["households"] >= privacy.THRESHOLD).all()
        assert int(series["cumulative"].iat[-1]) == total
        assert series["cumulative"].is_monotonic_increasing
        assert all(isinstance(n, str) and n for n in notes)
    series, _ = small_report.trend("11", lang="fr")
    assert series["code"].tolist() == ["2025-T1", "2025-T2"]
    assert int(series["cumulative"].iat[-1]) == 120 + 80 + 60 + 4 + 7 + 45
    # Ris-Orangis met 7 households in 2025-T1: its quarters are merged into the half-year, with a note
    from geo import timebins

    site = small_report.bins.series(("11", "91521"))
    assert site["code"].tolist() == ["2025-S1"] and site["households"].tolist() == [52]
    assert "regroupés en 2025-S1" in timebins.notes(small_report.bins, ("11", "91521"), lang="fr")[0]
