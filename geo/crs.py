"""Metric coordinate reference systems for the métropole and each overseas territory."""

from __future__ import annotations

#: Projected CRS used for areas and distances, by département code (overseas) and ``metro``.
METRIC_EPSG: dict[str, int] = {
    "metro": 2154,  # RGF93 v1 / Lambert-93
    "971": 5490,  # RGAF09 / UTM 20N (Guadeloupe)
    "972": 5490,  # RGAF09 / UTM 20N (Martinique)
    "973": 2972,  # RGFG95 / UTM 22N (Guyane)
    "974": 2975,  # RGR92 / UTM 40S (La Réunion)
    "976": 4471,  # RGM04 / UTM 38S (Mayotte)
    "977": 5490,  # Saint-Barthélemy
    "978": 5490,  # Saint-Martin
    "975": 4467,  # RGSPM06 / UTM 21N (Saint-Pierre-et-Miquelon)
    "987": 3297,  # RGPF / UTM 6S (Polynésie française)
    "988": 3163,  # RGNC91-93 / Lambert New Caledonia
    "986": 8903,  # RGWF96 / UTM 1S (Wallis-et-Futuna)
}


def metric_epsg(insee_dep: str) -> int:
    """EPSG code of the metric CRS for a département code.

    Parameters
    ----------
    insee_dep : str
        Département code (``"75"``, ``"2A"``, ``"974"``...).

    Returns
    -------
    int
        2154 for the métropole (Corse included), the local projected CRS overseas.

    Raises
    ------
    ValueError
        If ``insee_dep`` is not a string département code.
    """
    if not isinstance(insee_dep, str) or not insee_dep:
        raise ValueError(f"insee_dep: expected a département code such as '75' or '974', got {insee_dep!r}")
    if len(insee_dep) == 3 and insee_dep.startswith(("97", "98")):
        if insee_dep not in METRIC_EPSG:
            raise ValueError(f"insee_dep: no metric CRS known for overseas code {insee_dep!r}")
        return METRIC_EPSG[insee_dep]
    return METRIC_EPSG["metro"]
