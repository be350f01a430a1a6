"""The light QPV layer on the national data: every QPV, only the styling properties, under 150 KB gzipped,
and drawn like the source polygons at zoom 12; the figures on demand from ``/api/qpv/<code>``."""

from __future__ import annotations

import gzip

import geobuf
import numpy as np
import pytest
import shapely

from app import i18n
from app.components.mapstyle import INDICATORS
from geo import render_diff


@pytest.fixture(scope="module")
def qpv(processed_dir):
    from geo.load import load_qpv

    return load_qpv(data_dir=processed_dir)


@pytest.fixture(scope="module")
def light(processed_dir):
    from app.layers import encoded_layer

    return encoded_layer("qpv", data_dir=processed_dir)


def test_light_layer_has_every_qpv_and_only_the_styling_properties(qpv, light):
    decoded = geobuf.decode(light.raw)
    features = decoded["features"]
    assert sorted(f["properties"]["code_qp"] for f in features) == sorted(qpv["code_qp"])
    allowed = {"code_qp"} | {spec.column for spec in INDICATORS.values()}
    assert set().union(*(f["properties"] for f in features)) == allowed
    assert not any("id" in f for f in features)  # the code is the one identifier
    sample = next(f for f in features if f["properties"]["code_qp"] == "QN00101M")
    assert sample["properties"] == {"code_qp": "QN00101M", "population": 6399, "households": 3004,
                                    "poverty_rate": 46, "employment_rate": 48.8, "npnru": 1}
    assert len(light.gzipped) <= 150 * 1024
    assert len(gzip.decompress(light.gzipped)) == len(light.raw)


def test_light_geometry_is_a_valid_coverage_on_the_sent_grid(qpv, light):
    geoms = np.array([shapely.geometry.shape(f["geometry"]) for f in geobuf.decode(light.raw)["features"]])
    assert shapely.is_valid(geoms).all() and not shapely.is_empty(geoms).any()
    assert shapely.coverage_is_valid(geoms)  # as the browser decodes it: no overlap between neighbours
    source = qpv.geometry.to_numpy()
    ratio = shapely.area(geoms) / shapely.area(source)
    assert np.median(ratio) == pytest.approx(1.0, abs=0.01)
    assert shapely.get_num_coordinates(geoms).sum() < shapely.get_num_coordinates(source).sum() / 2


@pytest.mark.parametrize("lon,lat", [(2.35, 48.86), (5.40, 43.30)], ids=["Paris", "Marseille"])
def test_light_layer_draws_like_the_source_at_zoom_12_and_below(qpv, light, lon, lat):
    geoms = np.array([shapely.geometry.shape(f["geometry"]) for f in geobuf.decode(light.raw)["features"]])
    source = qpv.geometry.to_numpy()
    at_12 = render_diff.compare_rendering(source, geoms, lon=lon, lat=lat, zoom=12)
    assert at_12.drawn_pixels > 10_000  # the window does hold quartiers
    assert at_12.mean_shift_px < 0.25  # outlines move by a fraction of a pixel on average
    assert at_12.fill_share < 0.03  # and under 3 % of the drawn pixels change by half a pixel or more
    at_10 = render_diff.compare_rendering(source, geoms, lon=lon, lat=lat, zoom=10)
    assert at_10.fill_share < 0.002 and at_10.mean_shift_px < 0.06
    # the comparison does see a coarser layer
    coarse = shapely.simplify(geoms, 0.003, preserve_topology=True)
    assert render_diff.compare_rendering(source, coarse, lon=lon, lat=lat, zoom=12).fill_share > 0.05


def test_point_layers_keep_only_what_their_symbols_and_tooltips_read(processed_dir):
    from app.layers import encoded_layer

    def keys(name):
        features = geobuf.decode(encoded_layer(name, data_dir=processed_dir).raw)["features"]
        return set().union(*(f.get("properties", {}) for f in features))

    assert keys("npnru") == {"code_qp"}
    assert keys("qpv_points") == {"code", "population", "households", "poverty_rate", "employment_rate", "npnru"}
    assert keys("communes") == {"insee_com", "name", "n_qpv", "qpv_residents_touching"}
    assert keys("regions") == set() and keys("departements") == set()


def test_figures_of_a_known_qpv(client):
    response = client.get("/api/qpv/QN00101M")
    assert response.status_code == 200 and response.is_json
    body = response.get_json()
    assert body == {"code_qp": "QN00101M", "lib_qp": body["lib_qp"], "lib_com": "Bourg-en-Bresse",
                    "lib_dep": "Ain", "insee_dep": "01", "population": 6399, "households": 3004,
                    "poverty_rate": 46, "employment_rate": 48.8, "npnru": True}
    assert body["lib_qp"] == "Grande Reyssouze Terre Des Fleurs"
    assert "private" in response.headers["Cache-Control"]
    overseas = client.get("/api/qpv/QN97101M").get_json()  # a rate under statistical secrecy: null, never 0
    assert set(overseas) == set(body) and overseas["poverty_rate"] is None and overseas["population"] == 3722


def test_figures_refuse_anonymous_access(dash_app):
    anonymous = dash_app.server.test_client()
    response = anonymous.get("/api/qpv/QN00101M")
    assert response.status_code == 401 and response.is_json
    assert "population" not in response.get_data(as_text=True)


@pytest.mark.parametrize("code", ["QN99999X", "nope", "QN00101M%20", "Q" * 40])
def test_unknown_code_is_a_translated_json_404(client, code):
    response = client.get(f"/api/qpv/{code}")
    assert response.status_code == 404 and response.is_json
    assert response.get_json() == {"error": "Quartier prioritaire inconnu."}
    client.set_cookie(i18n.LANG_COOKIE, "en")
    try:
        english = client.get(f"/api/qpv/{code}")
    finally:
        client.delete_cookie(i18n.LANG_COOKIE)
    assert english.status_code == 404 and english.get_json() == {"error": "Unknown priority neighbourhood."}


def test_figures_table_of_a_tiny_frame_and_its_error():
    import pandas as pd

    from app.qpv_figures import figures_table

    frame = pd.DataFrame({"code_qp": ["QN00001A", "QN00002B"], "lib_qp": ["Les Tilleuls", "Le Parc"],
                          "lib_com": ["Ville", "Ville"], "lib_dep": ["Ain", "Ain"], "insee_dep": ["01", "01"],
                          "population": [1200.0, 800.0], "households": [500.4, None],
                          "poverty_rate": [41.26, float("nan")], "employment_rate": [50.0, 47.5],
                          "npnru": [True, None]})
    table = figures_table(frame)
    assert table["QN00001A"] == {"code_qp": "QN00001A", "lib_qp": "Les Tilleuls", "lib_com": "Ville", "lib_dep": "Ain",
                                 "insee_dep": "01", "population": 1200, "households": 500.4, "poverty_rate": 41.3,
                                 "employment_rate": 50, "npnru": True}
    assert table["QN00002B"]["households"] is None and table["QN00002B"]["poverty_rate"] is None
    assert table["QN00002B"]["npnru"] is False
    with pytest.raises(ValueError, match=r"qpv: expected the columns .* got a frame without \['npnru'\]"):
        figures_table(frame.drop(columns="npnru"))


LIMIT_SCRIPT = """
import json, os, sys
os.environ["VOISINMAP_PROXY_FIX"] = "0"  # clients connect directly: the per-address limit applies
from app import qpv_figures
qpv_figures.RATE_LIMIT = "3 per minute"
from app.main import create_app
from app.security import settings
from geo.auth.store import UserStore
from tests.plugins import app_session
app = create_app(data_dir=sys.argv[1])
app.server.config[settings.DB_KEY] = f"sqlite:///{sys.argv[2]}/accounts.db"
UserStore(app.server.config[settings.DB_KEY]).add_user("limit-tests", "mot de passe des tests assez long", role="strategie")
client = app.server.test_client()
app_session.sign_in(client, "limit-tests", "mot de passe des tests assez long")
answers = [client.get("/api/qpv/QN00101M") for _ in range(4)]
print(json.dumps([[r.status_code, r.content_type, r.get_json(silent=True)] for r in answers]))
"""


def test_too_many_requests_answer_a_translated_json_429(processed_dir, tmp_path):
    import json
    import os
    import subprocess
    import sys

    from geo import config

    # in its own process: the limiter's counters of the session app stay untouched
    done = subprocess.run([sys.executable, "-c", LIMIT_SCRIPT, str(processed_dir), str(tmp_path)],
                          capture_output=True, text=True, cwd=config.PROJECT_ROOT, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(config.PROJECT_ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    assert [a[0] for a in answers] == [200, 200, 200, 429]
    assert answers[3][1] == "application/json"
    assert answers[3][2] == {"error": "Trop de demandes : réessayez dans une minute."}
