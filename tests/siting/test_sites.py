"""The sites file: the shipped network and validation errors."""

from __future__ import annotations

import pandas as pd
import pytest

from geo import config
from geo.siting import SitesError, read_sites, validate_sites

SHIPPED = config.PROJECT_ROOT / "data" / "sites.csv"


def frame(**overrides: list) -> pd.DataFrame:
    base = {"code": ["91286"], "name": ["Grigny"], "opening_year": ["2011"], "kind": ["site"], "source": ["x"]}
    base.update(overrides)
    return pd.DataFrame(base)


def test_shipped_sites_are_the_publicly_documented_network():
    sites = read_sites(SHIPPED)
    assert sites["code"].tolist() == ["91228", "91521", "91286", "93005", "93048", "95680", "75119", "59350",
                                      "13213", "69266", "200042190"]
    assert sites["kind"].tolist() == ["site"] * 10 + ["essaimage"]
    assert sites["code_type"].tolist() == ["insee"] * 10 + ["siren"]
    assert sites.loc[10, "opening_year"] == 2024
    assert (sites["source"].str.len() > 20).all()
    named = dict(zip(sites["code"], sites["qpv_codes"], strict=True))
    assert named["91286"] == "QN09126M;QN09125M" and named["91228"] == "QN09116M;QN09117M"


def test_qpv_codes_column_is_optional_and_checked(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("code,name,opening_year,kind,qpv_codes\n91286,Grigny,2013,site,qn09126m ; QN09125M\n",
                    encoding="utf-8")
    assert read_sites(path)["qpv_codes"].tolist() == ["QN09126M;QN09125M"]
    path.write_text("code,name,opening_year,kind,qpv_codes\n91286,Grigny,2013,site,Grigny 2\n", encoding="utf-8")
    with pytest.raises(SitesError, match="row 1, column qpv_codes: expected QPV 2024 codes"):
        read_sites(path)


def test_shipped_essaimage_siren_is_the_porte_du_hainaut(mirror):
    communes = pd.read_csv(mirror / "communes" / "communes_2026.csv", dtype=str)
    names = set(communes.loc[communes["siren_epci"] == "200042190", "nom_epci"])
    assert names == {"CA de la Porte du Hainaut"}


def test_read_semicolon_file_with_bom(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes("\ufeffcode;name;opening_year;kind\n2A004;Ajaccio;2030;site\n".encode())
    sites = read_sites(path)
    assert sites["code"].tolist() == ["2A004"] and sites["source"].tolist() == [""]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (frame(code=["9128"]), r"row 1, column code: expected a 5-character INSEE code or a 9-digit EPCI SIREN, got '9128'"),
        (frame(kind=["branch"]), r"row 1, column kind: expected one of \['site', 'essaimage'\], got 'branch'"),
        (frame(opening_year=["soon"]), r"row 1, column opening_year: expected a year between 2000 and 2100, got 'soon'"),
        (frame(opening_year=["1890"]), "got '1890'"),
        (frame(name=[""]), "row 1, column name: expected a name"),
        (frame().drop(columns=["kind"]), r"missing column\(s\) \['kind'\]"),
        (frame().iloc[0:0], "expected at least one site"),
        (pd.concat([frame(), frame()]), r"expected unique codes, got duplicates \['91286'\]"),
    ],
)
def test_validation_errors(bad, message):
    with pytest.raises(SitesError, match=message):
        validate_sites(bad)


def test_missing_file_and_bad_type(tmp_path):
    with pytest.raises(SitesError, match="file not found"):
        read_sites(tmp_path / "none.csv")
    with pytest.raises(SitesError, match="expected a pandas DataFrame, got list"):
        validate_sites([1, 2])
