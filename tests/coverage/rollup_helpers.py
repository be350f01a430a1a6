"""Random door-visit rows for the roll-up tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
