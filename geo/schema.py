"""The processed national data: file names and columns (the contract every consumer relies on).

All layers are GeoParquet in EPSG:4326 (lon/lat). Areas and distances are computed in a metric CRS
(:func:`geo.crs.metric_epsg`). Codes are strings (INSEE codes keep their leading zeros).
"""

from __future__ import annotations

LAYERS: dict[str, str] = {
    "qpv": "qpv.parquet",
    "communes": "communes.parquet",
    "arrondissements": "arrondissements.parquet",
    "departements": "departements.parquet",
    "regions": "regions.parquet",
    "npnru": "npnru.parquet",
}
MANIFEST = "manifest.json"
#: Geometry of the web map's layers, simplified for the screen by the build (:mod:`geo.web_geometry`):
#: a server only encodes it. In a sub-folder: these are not national data of their own.
WEB_LAYERS: dict[str, str] = {
    "qpv": "web/qpv.parquet",
    "departements": "web/departements.parquet",
    "regions": "web/regions.parquet",
    "districts": "web/districts.parquet",
}

#: One row per QPV 2024 (1,584). Geometry: valid (Multi)Polygon.
QPV_COLUMNS: dict[str, str] = {
    "code_qp": "QPV 2024 code (QNdddNNx)",
    "lib_qp": "QPV name",
    "type_qp": "last letter of the code: I identical, M modified, N new (2024), C commune-wide (Mayotte)",
    "insee_com": "INSEE codes of the communes, ';'-separated (93059 rewritten to 93066)",
    "lib_com": "commune names, ';'-separated",
    "insee_com_main": "first commune code",
    "insee_dep": "département code",
    "lib_dep": "département name",
    "insee_reg": "région code",
    "lib_reg": "région name",
    "siren_epci": "SIREN of the EPCI of the first commune (nullable)",
    "lib_epci": "EPCI name (nullable)",
    "zone": "metro, drom or com",
    "population": "population municipale (INSEE popMuniQPV); missing for 987, 978 and 2 Mayotte QPV",
    "population_source": "insee_qpv_2024, insee_earlier_codes_by_commune (Mayotte) or missing",
    "households": "number of households (nombre_menages)",
    "poverty_rate": "poverty rate at 60 % of median income, % (missing under statistical secrecy, never 0)",
    "employment_rate": "employment rate of 15-64, %",
    "social_housing": "social housing count (RPLS)",
    "caf_covered": "people covered by CAF",
    "caf_recipients": "CAF allocataires",
    "rsa_recipients": "RSA socle allocataires",
    "youth_index": "under-20 / over-60 ratio",
    "npnru": "True when a NPNRU quartier (QPV 2015) links to this QPV",
    "npnru_codes_2015": "';'-separated NPNRU QPV 2015 codes linked (nullable)",
    "npnru_method": "link method (anct_table, anct_table+spatial_2154, mayotte_commune_wide_inferred)",
    "npnru_interest": "national / regional interest (nullable: the offline copy lacks it)",
    "area_m2": "area in m², computed in the zone's metric CRS",
    "metric_epsg": "EPSG code of that metric CRS",
    "rep_lon": "longitude of a representative point inside the polygon",
    "rep_lat": "latitude of that point",
}

#: One row per current commune (34,969). Geometry: centroid Point.
COMMUNE_COLUMNS: dict[str, str] = {
    "insee_com": "INSEE code",
    "name": "commune name",
    "insee_dep": "département code",
    "lib_dep": "département name",
    "insee_reg": "région code",
    "lib_reg": "région name",
    "siren_epci": "EPCI SIREN (nullable)",
    "lib_epci": "EPCI name (nullable)",
    "zone": "metro, drom or com",
    "population": "population municipale légale",
    "lon": "centroid longitude",
    "lat": "centroid latitude",
    "n_qpv": "number of QPV 2024 touching the commune",
    "qpv_residents_touching": ("residents of every QPV touching the commune (a QPV over several communes counts "
                               "for each, so it can exceed the commune's population: not the population in QPV)"),
    "median_income": "median disposable income per consumption unit, €/year (Filosofi 2021)",
    "sru_social_housing_rate": "SRU social housing rate, % (2024)",
    "density_level": "INSEE density grid level (7 levels)",
    "unemployment_rate": "unemployment rate of the employment zone, %, last quarter",
}

#: Arrondissements municipaux of Paris, Lyon and Marseille (45). Geometry: centroid Point.
ARRONDISSEMENT_COLUMNS: dict[str, str] = {
    "insee_com": "INSEE code of the arrondissement (e.g. 75119)",
    "name": "name (e.g. Paris 19e Arrondissement)",
    "parent_com": "INSEE code of the commune (75056, 69123, 13055)",
    "insee_dep": "département code",
    "insee_reg": "région code",
    "lib_reg": "région name",
    "population": "population municipale",
    "lon": "centroid longitude",
    "lat": "centroid latitude",
}

DEPARTEMENT_COLUMNS: dict[str, str] = {
    "code": "département code",
    "nom": "name",
    "insee_reg": "région code",
    "zone": "metro, drom or com",
}

REGION_COLUMNS: dict[str, str] = {
    "code": "région code",
    "nom": "name",
    "zone": "metro or drom",
}

#: One row per NPNRU quartier (448, QPV 2015 codes). No geometry (plain Parquet).
NPNRU_COLUMNS: dict[str, str] = {
    "code_qp_2015": "QPV 2015 code",
    "qpv_name": "2015 name when known (nullable)",
    "insee_dep": "département code",
    "insee_reg": "région code",
    "lib_reg": "région name",
    "zone": "metro or drom",
    "codes_qp_2024": "';'-separated successor QPV 2024 codes (empty when none)",
    "n_qp_2024": "number of successors",
    "method": "link method, or no_successor_in_anct_table",
    "linked": "True when at least one successor exists",
    "interest": "national / regional (nullable)",
}
