"""The national build: official files -> processed GeoParquet layers and ``manifest.json``.

Run with ``voisinmap data build``. The build is incremental: when the SHA-256 of every source, the build
code version and the output files are unchanged since the last manifest, it does nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo import (
    __version__,
    _http,
    config,
    crs,
    readers,
    schema,
    screen_simplify,
    sources,
    transforms,
    web_geometry,
    webgeo,
)
from geo._errors import VoisinmapError
from geo.i18n import t

logger = logging.getLogger(__name__)

#: Bump when the processed layers change shape; a rebuild follows.
BUILD_FORMAT = 1

Progress = Callable[[str], None]

class UnverifiedSourceError(VoisinmapError, RuntimeError):
    """A source file's SHA-256 differs from the registry's and unverified sources were not allowed."""


def caveat_messages(layers: dict[str, pd.DataFrame], *, mayotte_filled: int) -> list[dict[str, object]]:
    """The known caveats of this build as catalogue messages (``msgid``, ``fields``), counts from the layers.

    The manifest keeps them (``caveat_messages``) so that the Données page shows them in the reader's
    language; :func:`caveats` renders them in English for the manifest's ``caveats`` list.
    """
    qpv, npnru = layers["qpv"], layers["npnru"]
    missing = qpv[qpv["population"].isna()]
    by_dep = ", ".join(f"{dep}: {n}" for dep, n in missing["insee_dep"].value_counts().sort_index().items())
    unlinked = npnru.loc[~npnru["linked"], "code_qp_2015"].tolist()
    nopoly = layers["regions"].loc[layers["regions"].geometry.isna(), "code"].tolist()
    return [
        {"msgid": "caveat.commune_merge", "fields": {}},
        {"msgid": "caveat.mayotte", "fields": {"n": mayotte_filled}},
        {"msgid": "caveat.population_missing", "fields": {"n": len(missing), "by_dep": by_dep}},
        {"msgid": "caveat.households_missing",
         "fields": {"n": int(qpv.loc[qpv["zone"] == "metro", "households"].isna().sum())}},
        {"msgid": "caveat.poverty_secret", "fields": {"n": int(qpv["poverty_rate"].isna().sum())}},
        {"msgid": "caveat.npnru_level", "fields": {}},
        {"msgid": "caveat.npnru_unlinked", "fields": {"n": len(unlinked), "codes": ", ".join(unlinked)}},
        {"msgid": "caveat.regions_nopolygon", "fields": {"codes": ", ".join(nopoly)}},
    ]


def caveats(layers: dict[str, pd.DataFrame], *, mayotte_filled: int) -> list[str]:
    """The known caveats of this build, in English, with counts taken from the built layers."""
    return [t(str(m["msgid"]), "en", **m["fields"]) for m in caveat_messages(layers, mayotte_filled=mayotte_filled)]


def _code_version() -> str:
    digest = hashlib.sha256(f"{BUILD_FORMAT}".encode())
    # the web geometry's modules too: their code shapes the web layers the build writes
    for module in (transforms, readers, crs, schema, sources, web_geometry, screen_simplify, webgeo):
        digest.update(Path(module.__file__).read_bytes())
    digest.update((Path(__file__).parent / "siting" / "districts.py").read_bytes())  # the district hulls
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:16]


def _source_hashes(resolved: dict[str, sources.Resolved]) -> dict[str, str]:
    return {name: _http.sha256_file(r.path) for name, r in resolved.items()}


def is_up_to_date(out_dir: Path, *, hashes: dict[str, str], code_version: str) -> bool:
    """True when ``out_dir`` holds a manifest built from these source hashes and this code version."""
    manifest_path = out_dir / schema.MANIFEST
    if not manifest_path.exists():
        return False
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("code_version") != code_version:
        return False
    if {k: v["sha256"] for k, v in manifest.get("sources", {}).items()} != hashes:
        return False
    for key, files in (("outputs", schema.LAYERS), ("web_outputs", schema.WEB_LAYERS)):
        outputs = manifest.get(key, {})
        if set(outputs) != set(files):
            return False
        for layer, info in outputs.items():
            path = out_dir / files[layer]
            if not path.exists() or path.stat().st_size != info.get("bytes"):
                return False
    return True


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    if isinstance(frame, gpd.GeoDataFrame):
        frame.to_parquet(tmp, index=False, compression="zstd", geometry_encoding="WKB", write_covering_bbox=False)
    else:
        frame.to_parquet(tmp, index=False, compression="zstd")
    os.replace(tmp, path)


def build_layers(raw: dict[str, Any]) -> tuple[dict[str, pd.DataFrame], list[transforms.JoinStat], list[dict[str, object]]]:
    """Turn the raw tables into the processed layers (no I/O).

    Parameters
    ----------
    raw : dict
        Raw frames keyed by registry name (see :func:`read_sources`).

    Returns
    -------
    (dict, list of JoinStat, list of dict)
        Layers keyed as :data:`geo.schema.LAYERS`, every join statistic, and the caveats as catalogue
        messages (:func:`caveat_messages`).
    """
    stats: list[transforms.JoinStat] = []
    qpv = raw["qpv_2024"][["code_qp", "lib_qp", "type_qp", "insee_com", "geometry"]].copy()
    qpv, stat = transforms.attach_admin(qpv, raw["communes_2026"])
    stats.append(stat)
    qpv, more = transforms.attach_indicators(qpv, raw["qpv_2024_indicators"])
    stats += more
    qpv, mayotte_filled = transforms.mayotte_population(qpv, raw["qpv_2024_indicators"])
    stats.append(transforms.npnru_correspondence_stat(raw["npnru_links"], raw["qpv_correspondence"]))
    qpv, stat = transforms.link_npnru(qpv, raw["npnru_links"])
    stats.append(stat)
    qpv = gpd.GeoDataFrame(qpv, geometry="geometry", crs="EPSG:4326")
    qpv["geometry"] = transforms.clean_polygons(qpv.geometry)
    qpv = transforms.metric_areas(qpv)
    qpv = qpv[[*schema.QPV_COLUMNS, "geometry"]].sort_values("code_qp").reset_index(drop=True)

    unemployment = transforms.unemployment_by_commune(raw["chomage_ze"])
    communes, more = transforms.commune_table(
        raw["communes_2026"],
        qpv,
        filosofi=raw["filosofi_communes"],
        sru=raw["sru_communes"],
        density=raw["densite_communes"],
        unemployment=unemployment,
    )
    stats += more
    departements, stat = transforms.boundary_table(raw["departements_geo"], raw["departements_2026"], kind="departement")
    stats.append(stat)
    regions, stat = transforms.boundary_table(raw["regions_geo"], raw["regions_2026"], kind="region")
    stats.append(stat)
    layers = {
        "qpv": qpv,
        "communes": communes,
        "arrondissements": transforms.arrondissement_table(raw["communes_2026"]),
        "departements": departements,
        "regions": regions,
        "npnru": transforms.npnru_table(raw["npnru_quartiers"], raw["npnru_links"]),
    }
    return layers, stats, caveat_messages(layers, mayotte_filled=mayotte_filled)


def read_sources(resolved: dict[str, sources.Resolved]) -> dict[str, Any]:
    """Read every resolved source file into a frame (GeoJSON -> GeoDataFrame, JSON -> dict)."""
    raw: dict[str, Any] = {}
    for name, res in resolved.items():
        suffix = res.path.suffix.lower()
        if suffix == ".geojson":
            raw[name] = readers.read_vector(res.path)
        elif suffix == ".json":
            raw[name] = readers.read_json(res.path)
        else:
            raw[name] = readers.read_csv(res.path)
    return raw


def build(
    *,
    data_dir: str | os.PathLike[str] | None = None,
    force: bool = False,
    allow_download: bool = True,
    allow_unverified: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Build the processed national data, unless it is already up to date.

    Parameters
    ----------
    data_dir : path-like, optional
        Output folder (default :func:`geo.config.data_dir`).
    force : bool
        Rebuild even when nothing changed.
    allow_download : bool
        Allow downloading sources missing from the mirror and the cache.
    allow_unverified : bool
        Build from a mirror or cache file whose SHA-256 differs from the registry's (recorded as
        ``hash_ok: false`` in the manifest). By default such a file stops the build.
    progress : callable, optional
        Called with a short French message at each step.

    Returns
    -------
    dict
        The manifest, with ``"skipped": True`` when nothing had to be done.

    Raises
    ------
    geo.transforms.JoinRateError
        A join rate fell under its threshold (nothing is written).
    geo.sources.SourceUnavailableError
        A source could not be found or downloaded.
    UnverifiedSourceError
        A source's hash differs from the registry's and ``allow_unverified`` is False.
    """
    say = progress or (lambda msg: logger.info("%s", msg))
    start = time.perf_counter()
    out_dir = config.data_dir(data_dir)
    say("Recherche des sources")
    resolved = sources.resolve_all(allow_download=allow_download)
    hashes = _source_hashes(resolved)
    changed = {name: r for name, r in resolved.items() if hashes[name] != r.dataset.sha256}
    if changed:
        detail = "; ".join(f"{name} ({r.origin}: {r.path})" for name, r in changed.items())
        if not allow_unverified:
            raise UnverifiedSourceError(
                f"SHA-256 differs from the registry for: {detail}. Restore the official file, or rebuild with "
                "--allow-unverified (the manifest then records hash_ok: false)"
            )
        logger.warning("building from unverified sources: %s", detail)
    code_version = _code_version()
    if not force and is_up_to_date(out_dir, hashes=hashes, code_version=code_version):
        manifest = json.loads((out_dir / schema.MANIFEST).read_text(encoding="utf-8"))
        manifest["skipped"] = True
        say("Données à jour : rien à reconstruire")
        return manifest
    say("Lecture des fichiers officiels")
    raw = read_sources(resolved)
    say("Jointures et calculs (surfaces en CRS métrique, NPNRU, indicateurs)")
    layers, stats, notes = build_layers(raw)
    transforms.check_join_rates(stats)
    say("Écriture des fichiers GeoParquet")
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = {}
    for layer, frame in layers.items():
        path = out_dir / schema.LAYERS[layer]
        _write_parquet(frame, path)
        outputs[layer] = {"file": path.name, "rows": len(frame), "bytes": path.stat().st_size}
    say("Géométrie des couches de la carte web (simplifiée pour l'écran)")
    web_outputs = {}
    for name, frame in web_geometry.web_layers(layers).items():
        path = out_dir / schema.WEB_LAYERS[name]
        path.parent.mkdir(exist_ok=True)
        _write_parquet(frame, path)
        web_outputs[name] = {"file": schema.WEB_LAYERS[name], "rows": len(frame), "bytes": path.stat().st_size}
    npnru = layers["npnru"]
    manifest = {
        "voisinmap_version": __version__,
        "build_format": BUILD_FORMAT,
        "code_version": code_version,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(time.perf_counter() - start, 2),
        "sources": {
            name: {
                "title": r.dataset.title,
                "producer": r.dataset.producer,
                "url": r.dataset.url,
                "licence": r.dataset.licence,
                "vintage": r.dataset.vintage,
                "file": r.dataset.path,
                "sha256": hashes[name],
                "hash_ok": hashes[name] == r.dataset.sha256,
                "origin": r.origin,
            }
            for name, r in resolved.items()
        },
        "outputs": outputs,
        "web_outputs": web_outputs,
        "join_rates": {s.name: s.as_dict(transforms.JOIN_THRESHOLDS.get(s.name)) for s in stats},
        "npnru_without_successor": sorted(npnru.loc[~npnru["linked"], "code_qp_2015"].tolist()),
        "npnru_qpv_2024": int(layers["qpv"]["npnru"].sum()),
        "caveats": [t(str(m["msgid"]), "en", **m["fields"]) for m in notes],  # English, for readers of the file
        "caveat_messages": notes,
        "attribution": sources.ATTRIBUTION,
    }
    tmp = out_dir / f".{schema.MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, out_dir / schema.MANIFEST)
    say(f"Terminé en {manifest['build_seconds']} s")
    manifest["skipped"] = False
    return manifest
