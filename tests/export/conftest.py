"""Fixtures of the export tests: a small hand-made report (with small cells) on hand-drawn QPV."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from geo.coverage import impact


@pytest.fixture(scope="session")
def small_report() -> impact.ImpactReport:
    """Two régions, three sites, five QPV; one QPV and one « hors QPV » cell below 11 households."""
    cells = pd.DataFrame(
        [
            ("91286", "QN09125M", "2025-T1", 120, 150, 400),
            ("91286", "QN09125M", "2025-T2", 80, 95, 260),
            ("91286", "QN09126M", "2025-T1", 60, 70, 180),
            ("91286", "hors_qpv", "2025-T2", 4, 4, 15),
            ("91521", "QN09123M", "2025-T1", 7, 9, 30),
            ("91521", "QN09144N", "2025-T2", 45, 50, 120),
            ("59350", "QN05971M", "2025-T1", 200, 230, 600),
            ("59350", "QN05972M", "2025-T2", 150, 170, 420),
        ],
        columns=["site", "code_qp", "quarter", "households", "doors_opened", "visits"],
    )
    sites = pd.DataFrame({
        "site": ["91286", "91521", "59350"], "site_name": ["Grigny", "Ris-Orangis", "Lille"],
        "region": ["11", "11", "32"], "region_name": ["Île-de-France", "Île-de-France", "Hauts-de-France"],
        "lon": [2.386, 2.410, 3.047], "lat": [48.658, 48.646, 50.631],
    })
    qpv = gpd.GeoDataFrame({
        "code_qp": ["QN09125M", "QN09126M", "QN09123M", "QN09144N", "QN05971M", "QN05972M"],
        "lib_qp": ["=Grande Borne", "Grigny 2", "@Moulin", "Plateau", "+Lille Sud", "-Faubourg"],
        "households": [3318, 4718, 3046, 412, 845, 26226],
    }, geometry=[box(2.37, 48.65, 2.38, 48.66), box(2.39, 48.65, 2.40, 48.66), box(2.40, 48.64, 2.41, 48.65),
                 box(2.42, 48.64, 2.43, 48.65), box(3.04, 50.60, 3.06, 50.61), box(3.06, 50.62, 3.08, 50.63)],
        crs="EPSG:4326")
    reach = pd.DataFrame({"region": ["*", "11", "32"], "population": [1e6, 6e5, 4e5],
                          "population_reached": [2e5, 1e5, 1e5], "qpv_reached": [30, 20, 10]})
    reach["reach_share"] = reach["population_reached"] / reach["population"]
    return impact.build_report(cells, sites=sites, qpv=qpv, reach=reach, demo=True)


@pytest.fixture(scope="session")
def outlines() -> gpd.GeoDataFrame:
    """Two hand-drawn régions."""
    return gpd.GeoDataFrame({"code": ["11", "32"], "nom": ["Île-de-France", "Hauts-de-France"], "zone": "metro"},
                            geometry=[box(1.4, 48.1, 3.6, 49.3), box(1.4, 49.3, 4.3, 51.1)], crs="EPSG:4326")
