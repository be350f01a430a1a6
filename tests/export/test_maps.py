"""HTML maps open offline in headless Chromium with every feature drawn; PNG pictures for slides."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from geo.coverage import impact
from geo.export import bundle, html_map

COUNT_JS = """
const maps = Object.values(window).filter(v => v && v instanceof L.Map);
const counts = {};
maps.forEach(m => m.eachLayer(l => { if (l.feature) {
    const k = l.feature.properties.vm_layer; counts[k] = (counts[k] || 0) + 1; } }));
return {maps: maps.length, counts: counts,
        legend: !!document.getElementById('vm-legend'),
        attribution: document.querySelector('.leaflet-control-attribution').innerText,
        external: performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('file:') && !n.startsWith('data:'))};
"""


def test_offline_html_has_no_external_script(small_report: impact.ImpactReport, outlines) -> None:
    page = bundle.impact_bytes(small_report, "html", regions=outlines).decode()
    assert not re.findall(r'<(?:script|link)[^>]*(?:src|href)="https?://', page)
    assert "Leaflet 1.9.3" in page and "données fictives" in page
    assert "Licence Ouverte" in page and "INSEE" in page


@pytest.mark.browser
def test_html_report_map_in_chromium(small_report: impact.ImpactReport, outlines, tmp_path: Path) -> None:
    from tests.plugins.browser import chrome, console_errors, wait_for

    path = tmp_path / "rapport.html"
    path.write_bytes(bundle.impact_bytes(small_report, "html", regions=outlines))
    qpv = small_report.qpv_frame()
    with chrome() as driver:
        driver.get(path.as_uri())
        info = wait_for(lambda: (r := driver.execute_script(COUNT_JS)) and r["maps"] and r, message="map")
        assert info["counts"] == {"region": 2, "qpv": len(qpv), "site": 3}
        assert info["legend"] and "INSEE" in info["attribution"]
        assert info["external"] == []
        assert console_errors(driver) == []
        tooltips = driver.execute_script(
            "const out=[]; Object.values(window).filter(v => v && v instanceof L.Map)[0].eachLayer(l => {"
            " if (l.feature && l.feature.properties.vm_layer==='qpv') out.push(l.feature.properties.households_txt);});"
            " return out;")
        assert "non disponible (secret statistique)" in tooltips


@pytest.mark.browser
def test_html_scenario_map_in_chromium(tmp_path: Path) -> None:
    import pandas as pd

    from tests.plugins.browser import chrome, wait_for

    qpv = pd.DataFrame({"code_qp": ["A", "B", "C"], "lib_qp": ["a", "b", "c"], "population": [1000, 2000, 500],
                        "rep_lon": [2.3, 2.4, 5.3], "rep_lat": [48.8, 48.9, 43.3], "status": ["current", "new", "none"]})
    sites = pd.DataFrame({"name": ["Grigny", "Marseille 3e"], "lon": [2.38, 5.38], "lat": [48.65, 43.31],
                          "kind": ["current", "new"], "rank": [None, 1]})
    path = html_map.save_html(html_map.scenario_map(qpv, sites, radius_km=3.0), tmp_path / "scenario.html")
    with chrome() as driver:
        driver.get(path.as_uri())
        info = wait_for(lambda: (r := driver.execute_script(COUNT_JS)) and r["maps"] and r, message="map")
        assert info["counts"] == {"qpv": 3, "site": 2}
        assert info["external"] == []
    with pytest.raises(ValueError, match="radius_km: expected a positive number, got 0"):
        html_map.scenario_map(qpv, sites, radius_km=0)


def test_png_pictures(small_report: impact.ImpactReport, outlines) -> None:
    import matplotlib.image as mpimg

    data = bundle.impact_bytes(small_report, "png", regions=outlines)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(io.BytesIO(data))
    assert img.shape[:2] == (1000, 1600)
    assert img[..., :3].std() > 0.05  # not a blank picture
    region = bundle.impact_bytes(small_report, "png", region="32", regions=outlines)
    assert region != data


def test_share_classes() -> None:
    assert html_map.share_colour(0.05) == html_map.SHARE_COLOURS[0]
    assert html_map.share_colour(0.6) == html_map.SHARE_COLOURS[-1]
    assert html_map.share_colour(float("nan")) == html_map.SECRET_COLOUR
    assert len(html_map.share_legend("en")) == len(html_map.SHARE_COLOURS) + 1
