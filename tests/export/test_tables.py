"""CSV, XLSX and GeoJSON exports: readable back, and formula injection neutralised."""

from __future__ import annotations

import io
import json

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import Point

from geo.export import tables

NASTY = ["=1+1", "+33 6 12 34 56 78", "-2+3", "@SUM(A1:A2)", "\t=cmd", "\r=cmd", "plain", "a=b"]


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"text": NASTY, "count": [1, -2, 3, 4, 5, 6, 7, 8], "rate": [0.5] * 8})


def test_neutralise_values() -> None:
    out = tables.neutralise(_frame())
    assert out["text"].tolist()[:6] == ["'" + v for v in NASTY[:6]]
    assert out["text"].tolist()[6:] == ["plain", "a=b"]
    assert out["count"].tolist() == [1, -2, 3, 4, 5, 6, 7, 8]  # numbers stay numbers
    assert tables.neutralise(pd.DataFrame({"=bad": [1]})).columns.tolist() == ["'=bad"]
    with pytest.raises(TypeError, match="frame: expected a pandas DataFrame"):
        tables.neutralise([1, 2])


def test_csv_reads_back_without_formulas() -> None:
    data = tables.to_csv_bytes(_frame())
    assert data.startswith("\ufeff".encode())
    back = pd.read_csv(io.BytesIO(data), sep=";", decimal=",", encoding="utf-8-sig", keep_default_na=False)
    assert back["count"].tolist() == [1, -2, 3, 4, 5, 6, 7, 8]
    assert back["rate"].tolist() == [0.5] * 8
    first_chars = {v[:1] for v in back["text"]}
    assert not first_chars & {"=", "+", "-", "@"}


def test_xlsx_reads_back_with_no_formula_cell() -> None:
    data = tables.to_xlsx_bytes({"t": _frame(), "=evil": _frame()}, notes={"Source": "=HYPERLINK(\"x\")"})
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames[0] == "Notes" and len(wb.sheetnames) == 3
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"formula in {ws.title}!{cell.coordinate}"
    ws = wb["t"]
    assert [c.value for c in ws[1]] == ["text", "count", "rate"]
    assert [c.value for c in ws["A"][1:]][:4] == ["'=1+1", "'+33 6 12 34 56 78", "'-2+3", "'@SUM(A1:A2)"]
    assert [c.value for c in ws["B"][1:]] == [1, -2, 3, 4, 5, 6, 7, 8]
    back = pd.read_excel(io.BytesIO(data), sheet_name="t")
    assert len(back) == 8 and back["count"].sum() == 32


def test_geojson_round_trip() -> None:
    gdf = gpd.GeoDataFrame(_frame(), geometry=[Point(2.1234567, 48.7654321)] * 8, crs="EPSG:4326")
    data = json.loads(tables.to_geojson_bytes(gdf))
    assert len(data["features"]) == 8
    assert data["features"][0]["properties"]["text"] == "'=1+1"
    assert data["features"][0]["geometry"]["coordinates"] == [2.12346, 48.76543]
    with pytest.raises(ValueError, match="frame: expected EPSG:4326"):
        tables.to_geojson_bytes(gdf.to_crs(2154))
    with pytest.raises(ValueError, match="fmt: expected one of csv, xlsx, geojson"):
        tables.to_bytes(_frame(), "ods")


def test_categorical_columns_are_neutralised() -> None:
    frame = pd.DataFrame({"cat": pd.Categorical(NASTY), "count": range(8)})
    out = tables.neutralise(frame)
    assert out["cat"].tolist()[:6] == ["'" + v for v in NASTY[:6]]
    assert out["cat"].tolist()[6:] == ["plain", "a=b"]
    text = tables.to_csv_bytes(frame).decode("utf-8-sig")
    assert "\n=1+1" not in text and "'=1+1" in text


def test_strategy_table_data_is_neutralised_for_the_browser_csv_export() -> None:
    """The Stratégie table's CSV export is made by the browser from the table data: it must be safe."""
    from app.components.results import TABLE_COLUMNS, table_records

    numeric = {"residents_served", "weighted_served", "households_served", "cumulative_presence"}
    row = {c: (1.0 if c in numeric else 1 if c in {"rank", "qpv_served", "npnru_qpv", "opening_year"}
               else "=HYPERLINK(\"x\")")
           for c in TABLE_COLUMNS}
    records = table_records(pd.DataFrame([row]))
    texts = [v for c, v in records[0].items() if isinstance(v, str) and v]
    assert texts and all(v.startswith("'=") for v in texts)
    assert records[0]["rank"] == 1
