"""Registry of the official datasets and their resolution: mirror folder, then cache, then download.

Every dataset the build reads has an entry here: name, official URL, licence, vintage, file name in the
mirror, expected SHA-256. :func:`resolve` finds a local copy in this order:

1. the mirror folder (``$VOISINMAP_DATA_MIRROR``; by default ``../shared/data`` beside the project);
2. the user cache (``$VOISINMAP_CACHE_DIR`` or ``~/.cache/voisinmap``);
3. a download with :func:`geo._http.download` into the cache (hash-checked, atomic).

Some mirrored files are compact derivatives of the official ones (see ``shared/data/SOURCES.md``); their
``url`` is the official resource they come from and ``derived`` is True: a download of that URL gives
the official layout, whose hash differs, and the hash check then refuses it with a clear message.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from geo import _http, config
from geo._errors import VoisinmapError

logger = logging.getLogger(__name__)

Origin = Literal["mirror", "cache", "download"]


class SourceUnavailableError(VoisinmapError, RuntimeError):
    """No local copy and no way to download a dataset."""


@dataclass(frozen=True)
class Dataset:
    """One official dataset as the build reads it."""

    name: str
    title: str
    producer: str
    url: str
    licence: str
    vintage: str
    path: str
    sha256: str
    derived: bool = False

    @property
    def filename(self) -> str:
        """Path of the file inside the mirror or cache folder."""
        return self.path


LO2 = "Licence Ouverte 2.0 (Etalab)"

REGISTRY: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "qpv_2024",
            "Quartiers prioritaires 2024 (contours)",
            "ANCT (SIG Ville)",
            "https://www.data.gouv.fr/fr/datasets/r/942d4ee8-8142-4556-8ea1-335537ce1119",
            LO2,
            "QPV 2024 (métropole 2024, outre-mer 2025)",
            "qpv_2024/qpv_2024.geojson",
            "fdc5d612e72dde25e161d34afa9d8357a8435190376532db5058477c9d2465b4",
            derived=True,
        ),
        Dataset(
            "qpv_2024_indicators",
            "Population et indicateurs des QPV 2024",
            "INSEE (compilation)",
            "https://www.insee.fr/fr/statistiques/8186144",
            LO2,
            "RP 2020, Filosofi 2021, CAF 2024, RPLS 2025",
            "qpv_2024/qpv_2024_population_indicateurs.csv",
            "1c95d2c79ce8df611bf067985c1ec4f8d705f96ebfab4f7a3f9ea85215a6df9e",
            derived=True,
        ),
        Dataset(
            "communes_2026",
            "Communes, arrondissements municipaux (COG 2026) avec population et centroïdes",
            "INSEE / DGCL / Etalab (découpage administratif 6.0.0)",
            "https://unpkg.com/@etalab/decoupage-administratif@6.0.0/data/communes.json",
            LO2,
            "COG 2026",
            "communes/communes_2026.csv",
            "9010bd72a45a533e874be1356c9e57322be31ceb5ae2d37a4f8363bd08a55947",
            derived=True,
        ),
        Dataset(
            "departements_2026",
            "Départements (COG 2026)",
            "INSEE / Etalab",
            "https://unpkg.com/@etalab/decoupage-administratif@6.0.0/data/departements.json",
            LO2,
            "COG 2026",
            "communes/departements_2026.csv",
            "3b8b416856475e5bf4f54269ca1a0d57b05bd5b4423781884f0967bd5a6fc7d0",
            derived=True,
        ),
        Dataset(
            "regions_2026",
            "Régions (COG 2026)",
            "INSEE / Etalab",
            "https://unpkg.com/@etalab/decoupage-administratif@6.0.0/data/regions.json",
            LO2,
            "COG 2026",
            "communes/regions_2026.csv",
            "f4f4215e9f447a2b710073a417f117ca2e1dc076828c3d9f246ab139f244e033",
            derived=True,
        ),
        Dataset(
            "departements_geo",
            "Contours des départements (avec outre-mer, simplifiés)",
            "IGN Admin Express COG 2018 via france-geojson",
            "https://france-geojson.gregoiredavid.fr/repo/departements-avec-outre-mer.geojson",
            LO2,
            "COG 2018 (limites inchangées depuis 2016)",
            "admin_boundaries/departements-avec-outre-mer.geojson",
            "0c331e85eef244d8014f68a4c256bb732e28776aceec53ddf849624f2eb6c163",
        ),
        Dataset(
            "regions_geo",
            "Contours des régions (avec outre-mer, simplifiés)",
            "IGN Admin Express COG 2018 via france-geojson",
            "https://france-geojson.gregoiredavid.fr/repo/regions-avec-outre-mer.geojson",
            LO2,
            "COG 2018 (limites inchangées depuis 2016)",
            "admin_boundaries/regions-avec-outre-mer.geojson",
            "a573b672264184d11a2f98220867653b092fe3a964433e30e3a0a4708d72d167",
        ),
        Dataset(
            "npnru_quartiers",
            "Quartiers du NPNRU (codes QPV 2015)",
            "ANRU (liste via France Chaleur Urbaine)",
            "https://anru.fr/fre/Programmes/Nouveau-Programme-National-de-Renouvellement-Urbain",
            LO2,
            "NPNRU, liste de janvier 2025",
            "npnru/npnru_quartiers_qpv2015.csv",
            "8b70057fe912e6318b61468bd15739bba153dc67176ae0d19e87df44df76309e",
            derived=True,
        ),
        Dataset(
            "npnru_links",
            "Lien NPNRU (QPV 2015) → QPV 2024",
            "ANCT (table de correspondance) + calcul spatial",
            "https://www.data.gouv.fr/fr/datasets/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/",
            LO2,
            "QPV 2015 → QPV 2024",
            "npnru/npnru_qpv2015_to_qpv2024.csv",
            "566bd917003d00d2146e3e84c58c5331786880d9dab1a727326e1688bceb7531",
            derived=True,
        ),
        Dataset(
            "qpv_correspondence",
            "Correspondance QPV 2024 – QPV 2015",
            "ANCT",
            "https://www.data.gouv.fr/fr/datasets/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/",
            LO2,
            "QPV 2024 / QPV 2015",
            "qpv_2015/correspondance_qp2024_qp2015.csv",
            "0874e2378deb60a7d77f01c32a8b9ef76c0358c34a8cc44805a9e53f6bfea832",
            derived=True,
        ),
        Dataset(
            "filosofi_communes",
            "Revenu médian disponible par commune (Filosofi 2021)",
            "INSEE",
            "https://www.data.gouv.fr/fr/datasets/revenu-des-francais-a-la-commune/",
            LO2,
            "Filosofi 2021",
            "commune_indicators/filosofi_2021_communes.csv",
            "cf3ee80a7815f5aba6cd039c5c0d8b99a985e22d5a5fcf1297650eb04265d631",
            derived=True,
        ),
        Dataset(
            "sru_communes",
            "Taux de logements sociaux SRU par commune",
            "DHUP",
            "https://www.data.gouv.fr/fr/datasets/taux-de-logements-sociaux-dans-les-communes/",
            LO2,
            "2024",
            "commune_indicators/sru_taux_logements_sociaux_communes.csv",
            "4fd05b2fa097b7456c7ec66e78f0fdf8c462b02218ec14dbc173a535845586ce",
            derived=True,
        ),
        Dataset(
            "densite_communes",
            "Grille communale de densité (7 niveaux)",
            "INSEE / Observatoire des territoires (ANCT)",
            "https://www.observatoire-des-territoires.gouv.fr/",
            LO2,
            "grille de densité",
            "commune_indicators/grille_densite_communes.csv",
            "e88fb06b14540d1f387fa79cdd5ee6bef541367ea0bb3adf05962d5e34e4d6d3",
            derived=True,
        ),
        Dataset(
            "chomage_ze",
            "Taux de chômage localisés par zone d'emploi 2020",
            "INSEE",
            "https://www.insee.fr/fr/statistiques/1893230",
            LO2,
            "2021-T1 à 2025-T4",
            "commune_indicators/chomage_zones_emploi_2021T1_2025T4.json",
            "a8184d3cafe2cf9883f46a98bb97483134dcf0557121d586cf031495815845b4",
            derived=True,
        ),
    )
}

#: Datasets the build uses when they can be had but that the offline mirror does not hold (not in
#: :data:`REGISTRY`, whose entries must all resolve). ``aav_2020``: INSEE's commune → aire d'attraction
#: des villes 2020 table, the reference of the siting's urban regions; offline, the siting derives a
#: documented proxy (:mod:`geo.siting.regions`). Its hash is not pinned yet (empty: not verified).
OPTIONAL_SOURCES: dict[str, Dataset] = {
    "aav_2020": Dataset(
        "aav_2020",
        "Aires d'attraction des villes 2020 (composition communale)",
        "INSEE",
        "https://www.insee.fr/fr/information/4803954",
        LO2,
        "AAV 2020, COG 2024",
        "aav/AAV2020_au_01-01-2024.zip",
        "",
    ),
}


#: Attribution line for maps and exports.
ATTRIBUTION = (
    "Sources : ANCT (QPV 2024), INSEE (population, indicateurs, COG 2026), ANRU (NPNRU), IGN (contours) "
    "— Licence Ouverte 2.0"
)


def get(name: str) -> Dataset:
    """Registry entry of a dataset.

    Raises
    ------
    KeyError
        If ``name`` is not registered (the message lists the known names).
    """
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"name: expected one of {sorted(REGISTRY)}, got {name!r}") from None


@dataclass(frozen=True)
class Resolved:
    """Where a dataset was found."""

    dataset: Dataset
    path: Path
    origin: Origin


def _candidates(ds: Dataset, mirror: Path | None, cache: Path) -> list[tuple[Origin, Path]]:
    out: list[tuple[Origin, Path]] = []
    if mirror is not None:
        out.append(("mirror", mirror / ds.path))
    out.append(("cache", cache / ds.path))
    return out


def resolve(
    name: str,
    *,
    mirror: str | os.PathLike[str] | None = None,
    cache: str | os.PathLike[str] | None = None,
    allow_download: bool = True,
    verify: bool = False,
    url: str | None = None,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 1.0,
) -> Resolved:
    """Find a local copy of a dataset, downloading it into the cache when needed.

    Parameters
    ----------
    name : str
        Registry name (see :data:`REGISTRY`).
    mirror, cache : path-like, optional
        Override the mirror folder and the cache folder (defaults from :mod:`geo.config`).
    allow_download : bool
        When False, a dataset with no local copy raises :class:`SourceUnavailableError`.
    verify : bool
        Check the SHA-256 of a mirror or cache copy too (downloads are always checked).
    url : str, optional
        Download from this address instead of the registry's (a mirror server).
    timeout, retries, backoff
        Passed to :func:`geo._http.download`.

    Returns
    -------
    Resolved
        The dataset, its path and its origin (``mirror``, ``cache`` or ``download``).

    Raises
    ------
    SourceUnavailableError
        Nothing local and the download failed or is not allowed; the message names the dataset, its URL
        and the environment variable that points to a mirror.
    """
    ds = get(name)
    mirror_path = Path(mirror) if mirror is not None else config.mirror_dir()
    cache_path = Path(cache) if cache is not None else config.cache_dir()
    for origin, path in _candidates(ds, mirror_path, cache_path):
        if path.is_file():
            if verify:
                digest = _http.sha256_file(path)
                if digest != ds.sha256:
                    logger.warning("%s: %s copy has SHA-256 %s, expected %s", name, origin, digest, ds.sha256)
                    continue
            logger.debug("%s found in %s: %s", name, origin, path)
            return Resolved(ds, path, origin)
    hint = (
        f"dataset {name!r} ({ds.title}) is not available locally. Download it from {url or ds.url} "
        f"and place it at <mirror>/{ds.path}, then set {config.ENV_MIRROR}=<mirror> "
        f"(or put it in the cache: {cache_path / ds.path})"
    )
    if not allow_download:
        raise SourceUnavailableError(hint)
    dest = cache_path / ds.path
    try:
        _http.download(
            url or ds.url, dest, sha256=ds.sha256, timeout=timeout, retries=retries, backoff=backoff, label=name
        )
    except _http.DownloadError as exc:
        raise SourceUnavailableError(f"{hint}. Download failed: {exc}") from exc
    return Resolved(ds, dest, "download")


def resolve_all(*, allow_download: bool = True, **kwargs: object) -> dict[str, Resolved]:
    """Resolve every registered dataset (see :func:`resolve`)."""
    return {name: resolve(name, allow_download=allow_download, **kwargs) for name in REGISTRY}
