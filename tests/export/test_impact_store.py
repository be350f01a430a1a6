"""Impact figures stored once per data version read back identical (pickle-free)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from geo.coverage import impact, impact_store


def _figures(report: impact.ImpactReport) -> impact_store.Figures:
    topics = pd.DataFrame({"value": ["emploi", "logement"], "share_points": [40, 15]})
    languages = pd.DataFrame({"value": ["arabe"], "share_points": [20]})
    return impact_store.Figures(report=report, topics=topics, languages=languages)


def test_round_trip_keeps_every_view(small_report: impact.ImpactReport, tmp_path: Path) -> None:
    folder = impact_store.version_folder(tmp_path, store_url="sqlite:///x.db", version=(12, 40))
    impact_store.save_figures(_figures(small_report), folder)
    back = impact_store.load_figures(folder)
    assert back is not None
    report = back.report
    assert report.national() == small_report.national()
    assert report.period == small_report.period and report.demo and report.regions == small_report.regions
    for name in impact.TABLES:
        for region in (None, "11"):
            pd.testing.assert_frame_equal(report.table(name, region=region, lang="en"),
                                          small_report.table(name, region=region, lang="en"), check_dtype=False)
    for region in (None, "11", "32"):
        got, notes = report.trend(region, lang="fr")
        want, want_notes = small_report.trend(region, lang="fr")
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
        assert notes == want_notes
    assert (report.cube.relations != small_report.cube.relations).nnz == 0
    assert report.qpv.geometry.equals(small_report.qpv.geometry)
    assert back.topics["value"].tolist() == ["emploi", "logement"] and back.languages["share_points"].tolist() == [20]


def test_folder_names_store_and_version(tmp_path: Path) -> None:
    one = impact_store.version_folder(tmp_path, store_url="sqlite:///a.db", version=(5, 9))
    assert one != impact_store.version_folder(tmp_path, store_url="sqlite:///a.db", version=(6, 10))
    assert one != impact_store.version_folder(tmp_path, store_url="sqlite:///b.db", version=(5, 9))
    with pytest.raises(ValueError, match="version"):
        impact_store.version_folder(tmp_path, store_url="sqlite:///a.db", version=(5,))


def test_missing_or_other_format_reads_none(small_report: impact.ImpactReport, tmp_path: Path) -> None:
    assert impact_store.load_figures(tmp_path / "absent") is None
    folder = impact_store.save_figures(_figures(small_report), tmp_path / "f")
    meta = folder / "meta.json"
    meta.write_text(meta.read_text(encoding="utf-8").replace('"format": 1', '"format": 0'), encoding="utf-8")
    assert impact_store.load_figures(folder) is None
