"""Readers of the raw official files (I/O edge of the build): codes stay strings."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd

#: Columns read as strings in every CSV (INSEE codes keep their leading zeros).
CODE_COLUMNS = [
    "code_qp", "insee_com", "insee_dep", "insee_reg", "siren_epci", "code_insee", "code_departement",
    "code_region", "arrondissement", "siren", "commune", "chef_lieu", "code", "region", "chefLieu",
    "qpv_code", "departement", "code_qp_2015", "code_qp_2024", "qp2024", "qp2015_1", "qp2015_2", "qp2015_3",
]


def read_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV (UTF-8, BOM tolerated) with code columns as strings."""
    head = pd.read_csv(path, nrows=0, encoding="utf-8-sig")
    dtypes = {c: "str" for c in head.columns if c in CODE_COLUMNS}
    return pd.read_csv(path, dtype=dtypes, encoding="utf-8-sig", keep_default_na=True)


def read_vector(path: str | Path) -> gpd.GeoDataFrame:
    """Read a GeoJSON / vector file with pyogrio, codes as strings, CRS EPSG:4326."""
    gdf = gpd.read_file(path, engine="pyogrio")
    for col in gdf.columns:
        if col in CODE_COLUMNS and col != "geometry":
            gdf[col] = gdf[col].astype("str")
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    return gdf.to_crs("EPSG:4326")


def read_json(path: str | Path) -> object:
    """Read a JSON document."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
