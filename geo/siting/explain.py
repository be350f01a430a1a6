"""Explanations in French: one sentence per recommended site and a Markdown brief for funders."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geo.siting.demand import INDICATOR_LABELS_FR

if TYPE_CHECKING:  # pragma: no cover
    from geo.siting.recommendation import Recommendation

#: Beyond this distance (km) from the nearest current site, a new site is "a new territory" rather
#: than a site that current teams can mentor closely. Assumption: about one hour by public transport.
MENTORING_DISTANCE_KM: float = 30.0


def fr_int(value: float) -> str:
    """``45200`` -> ``"45 200"`` (French thousands separator)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n.d."
    return f"{round(value):,}".replace(",", "\u202f")


def fr_num(value: float, digits: int = 1) -> str:
    """``4.25`` -> ``"4,3"``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n.d."
    return f"{value:,.{digits}f}".replace(",", "\u202f").replace(".", ",")


def fr_pct(share: float, digits: int = 1) -> str:
    """``0.123`` -> ``"12,3 %"``."""
    return f"{fr_num(100.0 * share, digits)} %"


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def site_reason(row: Mapping[str, Any], *, radius_km: float) -> str:
    """One French sentence explaining why a site is recommended.

    Parameters
    ----------
    row : mapping
        A row of :attr:`Recommendation.table` (``name``, ``region``, ``added_population``,
        ``added_households``, ``added_qpv``, ``npnru_count``, ``poverty_rate``, ``poverty_missing``,
        ``nearest_site``, ``nearest_site_km``, ``missing_indicators``).
    radius_km : float
        Catchment radius, quoted in the sentence.
    """
    n_qpv = int(row.get("added_qpv", 0))
    parts = [
        f"{row['name']} ({row['region']}) ajoute {fr_int(row['added_population'])} habitants "
        f"({fr_int(row.get('added_households', float('nan')))} ménages) de {n_qpv} "
        f"{_plural(n_qpv, 'quartier prioritaire', 'quartiers prioritaires')} à moins de {fr_num(radius_km)} km"
    ]
    npnru = int(row.get("npnru_count", 0))
    if npnru:
        parts.append(f"dont {npnru} en renouvellement urbain (NPNRU), gage de partenaires et de missions")
    else:
        parts.append("sans quartier NPNRU")
    pov = row.get("poverty_rate", float("nan"))
    missing = int(row.get("poverty_missing", 0))
    if pov is not None and not (isinstance(pov, float) and math.isnan(pov)):
        text = f"un taux de pauvreté moyen de {fr_num(pov, 0)} %"
        if missing:
            text += f" (non diffusé pour {missing} {_plural(missing, 'quartier', 'quartiers')})"
        parts.append(text)
    elif n_qpv:
        parts.append("un taux de pauvreté non diffusé (secret statistique)")
    dist = row.get("nearest_site_km", float("nan"))
    if dist is None or (isinstance(dist, float) and math.isnan(dist)):
        parts.append("et aucun site actuel sur ce territoire")
    elif dist <= MENTORING_DISTANCE_KM:
        parts.append(f"à {fr_num(dist)} km du site actuel de {row['nearest_site']}, qui peut l'accompagner")
    else:
        parts.append(f"à {fr_num(dist, 0)} km du site actuel le plus proche ({row['nearest_site']}) : un nouveau territoire")
    sentence = ", ".join(parts[:-1]) + (" " if parts[-1].startswith("et ") else ", ") + parts[-1]
    other = [INDICATOR_LABELS_FR.get(m, m) for m in str(row.get("missing_indicators", "")).split(";")
             if m and m != "poverty_rate"]
    if other:
        sentence += f" ; indicateurs manquants pris en compte sans imputation : {', '.join(sorted(set(other)))}"
    return sentence + "."


def brief_markdown(reco: Recommendation) -> str:
    """A Markdown brief of a recommendation (French), for the strategy team and funders."""
    p = reco.params
    lines = [
        "# Où ouvrir les prochains sites VoisinMalin",
        "",
        f"*Rayon d'action d'un site : {fr_num(p['radius_km'])} km ; demande : "
        + ("population des QPV pondérée par un indice de besoin" if p.get("weights") else "population des QPV")
        + f" ; dénominateur : {fr_int(reco.denominator)} habitants des QPV "
        + ("de métropole" if p.get("scope") == "metro" else "(métropole et outre-mer, population connue)")
        + f" ; méthode : {reco.method}.*",
        "",
        "## Réseau actuel",
        "",
        f"{len(reco.network)} sites ou partenaires d'essaimage touchent aujourd'hui "
        f"{fr_int(reco.baseline_population)} habitants, soit **{fr_pct(reco.baseline_share)}** des habitants des QPV.",
        "",
    ]
    for row in reco.network.itertuples(index=False):
        lines.append(f"- {row.name} ({row.kind}, {row.opening_year}) : {fr_int(row.population_reached)} habitants "
                     f"de {row.qpv_reached} QPV à portée")
    lines += ["", f"## Recommandation : {len(reco.table)} nouveaux sites", ""]
    lines.append(
        f"Avec ces sites, le réseau touche {fr_int(reco.population_reached)} habitants, soit "
        f"**{fr_pct(reco.share)}** des habitants des QPV (+{fr_num(100 * (reco.share - reco.baseline_share))} points)."
    )
    lines += ["", "| Rang | Site | Région | Habitants ajoutés | Part cumulée | NPNRU | Pauvreté | Site actuel le plus proche |",
              "|---:|---|---|---:|---:|---:|---:|---|"]
    for r in reco.table.itertuples(index=False):
        dist = "—" if math.isnan(r.nearest_site_km) else f"{r.nearest_site} ({fr_num(r.nearest_site_km)} km)"
        lines.append(f"| {r.rank} | {r.name} ({r.insee_code}) | {r.region} | {fr_int(r.added_population)} | "
                     f"{fr_pct(r.cumulative_share)} | {r.npnru_count} | "
                     f"{'n.d.' if math.isnan(r.poverty_rate) else fr_num(r.poverty_rate, 0) + ' %'} | {dist} |")
    lines += ["", "### Pourquoi ces sites", ""]
    lines += [f"{r.rank}. {r.reason}" for r in reco.table.itertuples(index=False)]
    lines += ["", f"## Objectif de {fr_pct(reco.target, 0)} des habitants des QPV", ""]
    if reco.target_sites is None:
        lines.append(f"L'objectif n'est pas atteignable avec ce rayon et ces contraintes ({reco.target_note}).")
    else:
        proof = ("nombre minimal prouvé" if reco.target_proven_minimal else
                 f"borne supérieure ; au moins {reco.target_lower_bound} sites sont nécessaires")
        lines.append(f"Il faut **{reco.target_sites} nouveaux sites** pour atteindre {fr_pct(reco.target, 0)} "
                     f"des habitants des QPV ({proof} ; {reco.target_method}).")
    if reco.capacity is not None:
        cap = reco.capacity
        lines += ["", "## Capacité", "",
                  f"À raison d'environ {fr_int(cap.households_per_site_year)} ménages rencontrés par site et par an "
                  f"(4 500 ménages en 2014 pour 6 antennes) et d'un an de montage par site, "
                  + (f"le réseau élargi rencontrerait les {fr_int(cap.goal)} ménages à portée en "
                     f"**{cap.years_to_goal} ans**." if cap.years_to_goal is not None else
                     f"les {fr_int(cap.goal)} ménages à portée ne seraient pas tous rencontrés en {cap.max_years} ans.")]
    lines += ["", "## Courbe : nouveaux sites → part des habitants des QPV à portée", "",
              "| Nouveaux sites | Part à portée |", "|---:|---:|"]
    curve = reco.curve
    for n in sorted({0, 5, 10, 20, 30, 50, 75, 100, 150, int(curve["n_new_sites"].max())}):
        hit = curve[curve["n_new_sites"] == n]
        if len(hit):
            lines.append(f"| {n} | {fr_pct(float(hit['share'].iloc[0]))} |")
    lines += ["", "*Hypothèses et sources : voir docs/siting.md.*", ""]
    return "\n".join(lines)
