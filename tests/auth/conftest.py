"""Fixtures of the access tests: a database with accounts of every role and door visits of two sites.

The session app (``dash_app`` of ``tests/app_fixtures.py``) is pointed at a temporary database for the
duration of this test folder (Flask config ``VOISINMAP_DATABASE_URL``) and restored afterwards; sessions
opened against another database are not valid here (see ``app.security.session.load_account``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SITE_A, SITE_B = "91286", "59350"  # Grigny, Lille (demo sites)
#: Cell-key secret of the test releases.
CELLKEY_SECRET = b"access-tests-cellkey-secret-0123"
SMALL_SITE = "93066"  # Saint-Denis: a handful of households, below the secrecy threshold
PASSWORD = "mot de passe de test assez long"
ROLES = {
    "strategie": ("strategie", ()),
    "financeur": ("financeur", ()),
    "manager_a": ("manager", (SITE_A,)),
    "manager_b": ("manager", (SITE_B,)),
    "admin": ("admin", ()),
    "voisin_a": ("voisin", (SITE_A,)),  # a Voisin of site A (field entry only), Voisin code V001
}
WHO = ("anonymous", *ROLES)
_PAIR = re.compile(r"(-?\d{1,3}\.\d{4,})\s*,\s*(-?\d{1,3}\.\d{4,})")


@dataclasses.dataclass
class AccessEnv:
    """The database URL, the accounts and the door positions of the test store."""

    url: str
    doors: set[tuple[float, float]]
    small_households: int

    def door_pairs_in(self, text: str) -> list[tuple[str, str]]:
        """(lat, lon) or (lon, lat) pairs of ``text`` that are door positions (5 decimals, about 1 m)."""
        found = []
        for a, b in _PAIR.findall(text):
            x, y = round(float(a), 5), round(float(b), 5)
            if (x, y) in self.doors or (y, x) in self.doors:
                found.append((a, b))
        return found


def _small_site_rows(qpv: pd.DataFrame) -> pd.DataFrame:
    """Seven households met in one Saint-Denis QPV (fictitious), inside its polygon."""
    row = qpv[qpv["insee_com"].astype(str).str.contains(SMALL_SITE)].iloc[0]
    rng = np.random.default_rng(3)
    out = []
    for k in range(7):
        lat = float(row["rep_lat"]) + rng.uniform(-1e-4, 1e-4)
        lon = float(row["rep_lon"]) + rng.uniform(-1e-4, 1e-4)
        out.append({"campagne": "Test secret (données fictives)", "site": SMALL_SITE, "date": "2025-03-12",
                    "heure": f"18:{10 + k:02d}", "latitude": f"{lat:.6f}", "longitude": f"{lon:.6f}",
                    "batiment": f"SD-{k}", "porte": "A-01", "resultat": "ouvert", "langue": "français",
                    "sujets": "eau", "voisin": "SD-V01"})
    return pd.DataFrame(out)


@pytest.fixture(scope="package")
def access_env(dash_app, processed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AccessEnv]:
    from app.security import settings
    from geo.auth.store import UserStore
    from geo.coverage import demo
    from geo.coverage.importer import import_frame
    from geo.coverage.store import load_events, open_store
    from geo.load import load_arrondissements, load_qpv

    url = f"sqlite:///{tmp_path_factory.mktemp('access') / 'voisinmap.db'}"
    qpv = load_qpv(data_dir=processed_dir)
    sites = tuple(s for s in demo.SITES if s.code in (SITE_A, SITE_B))
    rows = demo.generate_demo(qpv, arrondissements=load_arrondissements(data_dir=processed_dir), sites=sites)
    engine = open_store(url)
    import_frame(rows, name="demo", engine=engine, qpv=qpv, demo=True)
    import_frame(_small_site_rows(qpv), name="petit-site", engine=engine, qpv=qpv, demo=True)
    events = load_events(engine)
    engine.dispose()
    # funders read the latest release: publish one, as the admin does after the imports
    from geo.coverage.release_publish import publish_from_store

    publish_from_store(db=url, data_dir=processed_dir, secret=CELLKEY_SECRET)
    doors = {(round(a, 5), round(b, 5)) for a, b in zip(events["lat"], events["lon"], strict=True)}
    store = UserStore(url)
    for name, (role, site_codes) in ROLES.items():
        store.add_user(name.replace("_", "-"), PASSWORD, role=role, sites=site_codes)
    previous = dash_app.server.config.get(settings.DB_KEY)
    dash_app.server.config[settings.DB_KEY] = url
    try:
        yield AccessEnv(url=url, doors=doors, small_households=7)
    finally:
        dash_app.server.config[settings.DB_KEY] = previous


@pytest.fixture(scope="package")
def clients(dash_app, access_env: AccessEnv) -> dict[str, object]:
    """One Flask test client per role, signed in through the real form (``anonymous``: none)."""
    from tests.plugins import app_session

    out: dict[str, object] = {"anonymous": dash_app.server.test_client()}
    for name in ROLES:
        client = dash_app.server.test_client()
        response = app_session.sign_in(client, name.replace("_", "-"), PASSWORD)
        assert response.status_code == 303, f"{name} could not sign in"
        out[name] = client
    return out
