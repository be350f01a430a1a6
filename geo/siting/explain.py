"""Explanations in French (default) or English: one sentence per recommended site, method labels and a
Markdown brief for the strategy team and funders."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geo.i18n import t
from geo.siting.demand import indicator_label

if TYPE_CHECKING:  # pragma: no cover
    from geo.siting.recommendation import Recommendation

#: Beyond this distance (km) from the nearest current site, a new site is "a new territory" rather
#: than a site that current teams can mentor closely. Assumption: about one hour by public transport.
MENTORING_DISTANCE_KM: float = 30.0

#: Languages of the texts.
LANGS: tuple[str, ...] = ("fr", "en")


def check_lang(lang: object) -> str:
    """Return ``lang`` when it is a supported language, else raise ``ValueError`` naming it."""
    if lang not in LANGS:
        raise ValueError(f"lang: expected one of {list(LANGS)}, got {lang!r}")
    return str(lang)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_int(value: float, lang: str = "fr") -> str:
    """``45200`` -> ``"45 200"`` (fr, narrow no-break space) or ``"45,200"`` (en); ``n.d.``/``n/a`` if missing."""
    if _missing(value):
        return "n.d." if lang == "fr" else "n/a"
    text = f"{round(value):,}"
    return text.replace(",", "\u202f") if lang == "fr" else text


def fmt_num(value: float, digits: int = 1, lang: str = "fr") -> str:
    """``4.25`` -> ``"4,3"`` (fr) or ``"4.3"`` (en)."""
    if _missing(value):
        return "n.d." if lang == "fr" else "n/a"
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\u202f").replace(".", ",") if lang == "fr" else text


def fmt_pct(share: float, digits: int = 1, lang: str = "fr") -> str:
    """``0.123`` -> ``"12,3 %"`` (fr) or ``"12.3%"`` (en)."""
    return f"{fmt_num(100.0 * share, digits, lang)}{' %' if lang == 'fr' else '%'}"


def fr_int(value: float) -> str:
    """``45200`` -> ``"45 200"`` (French thousands separator)."""
    return fmt_int(value, "fr")


def fr_num(value: float, digits: int = 1) -> str:
    """``4.25`` -> ``"4,3"``."""
    return fmt_num(value, digits, "fr")


def fr_pct(share: float, digits: int = 1) -> str:
    """``0.123`` -> ``"12,3 %"``."""
    return fmt_pct(share, digits, "fr")


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def site_reason(row: Mapping[str, Any], *, radius_km: float, lang: str = "fr", level: str = "commune") -> str:
    """One sentence explaining why a site is recommended, in French (default) or English.

    The sentence separates the residents within ``radius_km`` of the site
    (``added_population_radius``) from those of its own QPV lying farther (``added_population_own``,
    at most ``own_max_km``), so that its distance claim is true.

    Parameters
    ----------
    row : mapping
        A row of :attr:`Recommendation.table` (``name``, ``region``, ``added_population``,
        ``added_population_radius``, ``added_population_own``, ``own_max_km``, ``added_households``,
        ``added_qpv``, ``npnru_count``, ``poverty_rate``, ``poverty_missing``, ``nearest_site``,
        ``nearest_site_km``, ``missing_indicators``).
    radius_km : float
        Catchment radius, quoted in the sentence.
    lang : {"fr", "en"}
    level : {"commune", "epci"}
        Candidate level: an EPCI reaches the QPV of its EPCI, whatever the distance.
    """
    check_lang(lang)
    n_qpv = int(row.get("added_qpv", 0))
    pop = row["added_population"]
    head = t("siting.reason.head_one" if n_qpv == 1 else "siting.reason.head_many", lang, name=row["name"],
             region=row["region"], residents=fmt_int(pop, lang),
             households=fmt_int(row.get("added_households", float("nan")), lang), n=n_qpv)
    npnru = int(row.get("npnru_count", 0))
    if npnru:
        head += t("siting.reason.npnru", lang, n=npnru)
    elif n_qpv:
        head += t("siting.reason.no_npnru", lang)
    parts = [head]
    reach = _reach_part(row, n_qpv=n_qpv, pop=pop, radius_km=radius_km, lang=lang, level=level)
    if reach:
        parts.append(reach)
    poverty = _poverty_part(row, n_qpv=n_qpv, lang=lang)
    if poverty:
        parts.append(poverty)
    parts.append(_nearest_part(row, lang=lang))
    other = sorted({indicator_label(m, lang) for m in str(row.get("missing_indicators", "")).split(";")
                    if m and m != "poverty_rate"})
    if other:
        parts.append(t("siting.reason.missing_indicators", lang, labels=", ".join(other)))
    return t("siting.reason.separator", lang).join(parts) + "."


def _reach_part(row: Mapping[str, Any], *, n_qpv: int, pop: float, radius_km: float, lang: str, level: str) -> str:
    """Where the residents live: within the radius, in the site's own quartiers farther away, or its EPCI."""
    radius = fmt_num(radius_km, 1, lang)
    own = float(row.get("added_population_own", 0.0) or 0.0)
    near = float(row.get("added_population_radius", pop - own))
    far = fmt_num(row.get("own_max_km", float("nan")), 1, lang)
    if not n_qpv:
        return ""
    if level == "epci":
        return t("siting.reason.epci", lang)
    if own <= 0:
        return t("siting.reason.within_one" if n_qpv == 1 else "siting.reason.within_many", lang, radius=radius)
    if near <= 0:
        return t("siting.reason.own_only", lang, radius=radius, far=far)
    return t("siting.reason.split", lang, near=fmt_int(near, lang), radius=radius, own=fmt_int(own, lang), far=far)


def _poverty_part(row: Mapping[str, Any], *, n_qpv: int, lang: str) -> str:
    """The mean poverty rate, and how many quartiers do not publish it."""
    pov = row.get("poverty_rate", float("nan"))
    missing = int(row.get("poverty_missing", 0))
    if _missing(pov):
        return t("siting.reason.poverty_secret", lang) if n_qpv else ""
    text = t("siting.reason.poverty", lang, rate=fmt_num(pov, 0, lang))
    if missing:
        text += t("siting.reason.poverty_missing_one" if missing == 1 else "siting.reason.poverty_missing_many", lang,
                  n=missing)
    return text


def _nearest_part(row: Mapping[str, Any], *, lang: str) -> str:
    """How far the nearest current site is: mentoring distance, or a new territory."""
    dist = row.get("nearest_site_km", float("nan"))
    site = row.get("nearest_site", "")
    if _missing(dist):
        return t("siting.reason.no_site", lang)
    if dist <= MENTORING_DISTANCE_KM:
        return t("siting.reason.near_site", lang, km=fmt_num(dist, 1, lang), site=site)
    return t("siting.reason.new_territory", lang, km=fmt_num(dist, 0, lang), site=site)


_SOLVERS = {"highs": "HiGHS", "cbc": "CBC"}


def _solver_words(code: str, lang: str) -> str:
    """``exact-highs`` -> words; ``heuristic`` -> words."""
    if code.startswith("exact-"):
        name = _SOLVERS.get(code.split("-", 1)[1].split()[0], code)
        return t("siting.method.exact", lang, solver=name)
    return t("siting.method.heuristic", lang)


def _time_limit(text: str) -> str:
    found = re.search(r"time_limit_s=([0-9.eE+-]+)", text)
    return found.group(1) if found else "?"


def method_label(method: str, *, lang: str = "fr", fallback: str = "") -> str:
    """How the sites were chosen, in words, from :attr:`Recommendation.method`.

    Parameters
    ----------
    method : str
        ``heuristic``, ``exact-highs``, ``exact-cbc``, with a status in parentheses when not proven
        optimal, or ``heuristic (fallback: ...)``.
    lang : {"fr", "en"}
    fallback : str
        :attr:`Recommendation.fallback` (names the time limit that was too short).
    """
    check_lang(lang)
    words = _solver_words(method, lang)
    if method.startswith("heuristic (fallback"):
        return t("siting.method.fallback", lang, words=words, limit=_time_limit(fallback or method))
    status = re.search(r"\((.+), not proven optimal\)", method)
    if status:
        return t("siting.method.not_proven", lang, words=words, status=status.group(1))
    return words


def target_method_label(solver_method: str, *, proven: bool, fallback: bool = False, lang: str = "fr") -> str:
    """How the number of sites for the target was found, in words.

    Parameters
    ----------
    solver_method : str
        ``heuristic`` or ``exact-highs`` / ``exact-cbc``.
    proven : bool
        The count is proven minimal.
    fallback : bool
        The exact solver found no solution in time and the heuristic replaced it.
    lang : {"fr", "en"}
    """
    check_lang(lang)
    words = _solver_words(solver_method, lang)
    if solver_method.startswith("exact-"):
        return words if proven else t("siting.method.target_not_proven", lang, words=words)
    text = t("siting.method.target_proof" if proven else "siting.method.target_upper", lang, words=words)
    if fallback:
        text += t("siting.method.target_fallback", lang)
    return text


def denominator_text(reco: Recommendation, *, lang: str = "fr") -> str:
    """One sentence stating the denominator of every share of a recommendation."""
    check_lang(lang)
    p = reco.params
    n = reco.denominator_qpv
    unknown = int(p.get("n_qpv", n)) - n
    key = "siting.denominator.metro" if p.get("scope") == "metro" else "siting.denominator.all"
    text = t(key, lang, residents=fmt_int(reco.denominator, lang), n=fmt_int(n, lang))
    if unknown > 0:
        text += t("siting.denominator.unknown", lang, n=unknown)
    return text


def _curve_crossing(reco: Recommendation) -> int | None:
    hit = reco.curve[reco.curve["share"] >= reco.target - 1e-12]
    return int(hit["n_new_sites"].iloc[0]) if len(hit) else None


def brief_markdown(reco: Recommendation, *, lang: str = "fr") -> str:
    """A Markdown brief of a recommendation, in French (default) or English, for the strategy team and funders.

    It states the denominator of the shares, the gain each site brings (weighted by need, the
    quantity that orders the table, and in residents), why each site, how many sites the target
    needs (with proof of minimality or bounds), how the sites were computed (and any fallback of the
    exact solver), the capacity and the curve.
    """
    fr = check_lang(lang) == "fr"
    p = reco.params
    weighted = bool(p.get("weights"))
    k_mode = p.get("k") is not None
    radius = fmt_num(p["radius_km"], 1, lang)
    pct = lambda x, d=1: fmt_pct(x, d, lang)  # noqa: E731
    num = lambda x: fmt_int(x, lang)  # noqa: E731
    demand = (("population des QPV pondérée par un indice de besoin" if weighted else "population des QPV") if fr else
              ("QPV population weighted by a need score" if weighted else "QPV population"))
    lines = [
        "# Où ouvrir les prochains sites VoisinMalin" if fr else "# Where VoisinMalin should open its next sites",
        "",
        (f"*Rayon d'action d'un site : {radius} km (ses propres quartiers jusqu'à "
         f"{fmt_num(p.get('home_radius_km', float('nan')), 0, lang)} km) ; demande : {demand} ; "
         f"méthode : {reco.method_label(lang=lang)}.*") if fr else
        (f"*Reach of a site: {radius} km (its own neighbourhoods up to "
         f"{fmt_num(p.get('home_radius_km', float('nan')), 0, lang)} km); demand: {demand}; "
         f"method: {reco.method_label(lang=lang)}.*"),
        "",
        (f"**Dénominateur de toutes les parts** : {denominator_text(reco, lang=lang)}." if fr else
         f"**Denominator of every share**: {denominator_text(reco, lang=lang)}."),
        "",
        "## Réseau actuel" if fr else "## Current network",
        "",
        (f"{len(reco.network)} {_plural(len(reco.network), 'site ou partenaire', 'sites ou partenaires')} "
         f"d'essaimage {_plural(len(reco.network), 'touche', 'touchent')} aujourd'hui {num(reco.baseline_population)} "
         f"habitants, soit **{pct(reco.baseline_share)}** des habitants des QPV." if fr else
         f"{len(reco.network)} sites or mentored partners reach {num(reco.baseline_population)} residents today, "
         f"**{pct(reco.baseline_share)}** of QPV residents."),
        "",
    ]
    for row in reco.network.itertuples(index=False):
        lines.append(f"- {row.name} ({row.kind}, {row.opening_year}) : {num(row.population_reached)} habitants "
                     f"de {row.qpv_reached} QPV à portée" if fr else
                     f"- {row.name} ({row.kind}, {row.opening_year}): {num(row.population_reached)} residents "
                     f"of {row.qpv_reached} QPV within reach")
    n_new = len(reco.table)
    lines += ["", f"## Recommandation : {n_new} nouveaux sites" if fr else f"## Recommendation: {n_new} new sites", ""]
    lines.append(
        f"Avec ces sites, le réseau touche {num(reco.population_reached)} habitants, soit **{pct(reco.share)}** "
        f"des habitants des QPV (+{fmt_num(100 * (reco.share - reco.baseline_share), 1, lang)} points)." if fr else
        f"With these sites, the network reaches {num(reco.population_reached)} residents, **{pct(reco.share)}** of "
        f"QPV residents (+{fmt_num(100 * (reco.share - reco.baseline_share), 1, lang)} points)."
    )
    lines.append("")
    if k_mode and weighted:
        lines.append(
            "Le rang suit le **gain pondéré** : les habitants ajoutés, chacun compté 1 + son indice de besoin "
            f"(0 à 1, intensité {fmt_num(p.get('need_strength', 1.0), 1, lang)}), la quantité que l'optimisation "
            "maximise. Un site moins peuplé mais plus pauvre peut donc passer devant : les habitants ajoutés ne "
            "décroissent pas toujours." if fr else
            "The rank follows the **weighted gain**: residents added, each counted 1 + its need score (0 to 1, "
            f"strength {fmt_num(p.get('need_strength', 1.0), 1, lang)}), the quantity the optimisation maximises. "
            "A smaller but needier site can therefore come first: residents added do not always decrease.")
    else:
        lines.append("Le rang suit le nombre d'habitants ajoutés." if fr else "The rank follows the residents added.")
    lines.append("")
    head = (["Rang", "Site", "Région", "Gain pondéré", "Habitants ajoutés", f"dont à moins de {radius} km",
             "dont propres QPV plus loin", "Part cumulée", "NPNRU", "Pauvreté", "Site actuel le plus proche"] if fr else
            ["Rank", "Site", "Region", "Weighted gain", "Residents added", f"of which within {radius} km",
             "of which own QPV farther", "Cumulative share", "NPNRU", "Poverty", "Nearest current site"])
    lines += ["| " + " | ".join(head) + " |", "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in reco.table.itertuples(index=False):
        dist = "—" if math.isnan(r.nearest_site_km) else f"{r.nearest_site} ({fmt_num(r.nearest_site_km, 1, lang)} km)"
        pov = fmt_pct(r.poverty_rate / 100.0, 0, lang) if not math.isnan(r.poverty_rate) else fmt_int(float("nan"), lang)
        lines.append(f"| {r.rank} | {r.name} ({r.insee_code}) | {r.region} | {num(r.added_demand)} | "
                     f"{num(r.added_population)} | {num(r.added_population_radius)} | {num(r.added_population_own)} | "
                     f"{pct(r.cumulative_share)} | {r.npnru_count} | {pov} | {dist} |")
    lines += ["", "### Pourquoi ces sites" if fr else "### Why these sites", ""]
    lines += [f"{i}. {text}" for i, text in enumerate(reco.reasons(lang=lang), start=1)]

    lines += ["", f"## Objectif de {pct(reco.target, 0)} des habitants des QPV" if fr else
              f"## Goal: {pct(reco.target, 0)} of QPV residents", ""]
    if reco.target_sites is None:
        lines.append(f"L'objectif n'est pas atteignable avec ce rayon et ces contraintes ({reco.target_note})." if fr
                     else f"The goal is out of reach with this radius and these constraints ({reco.target_note}).")
    else:
        if reco.target_proven_minimal:
            proof = "nombre minimal prouvé" if fr else "proven minimal"
        elif reco.target_lower_bound:
            proof = (f"borne supérieure ; au moins {reco.target_lower_bound} sites sont nécessaires" if fr else
                     f"upper bound; at least {reco.target_lower_bound} sites are needed")
        else:
            proof = "borne supérieure" if fr else "upper bound"
        if reco.target_sites == 0:
            lines.append(f"Le réseau actuel atteint déjà {pct(reco.target, 0)} des habitants des QPV." if fr else
                         f"The current network already reaches {pct(reco.target, 0)} of QPV residents.")
        else:
            lines.append(
                f"Il faut **{reco.target_sites} nouveaux sites** pour atteindre {pct(reco.target, 0)} des habitants "
                f"des QPV ({proof} ; méthode {reco.target_method_label(lang=lang)}). Ce nombre minimise les sites sur "
                "la population seule." if fr else
                f"Reaching {pct(reco.target, 0)} of QPV residents takes **{reco.target_sites} new sites** ({proof}; "
                f"method {reco.target_method_label(lang=lang)}). This count minimises sites on population alone.")
    if reco.fallback:
        lines += ["", "## Méthode" if fr else "## Method", ""]
        text = (f"Le solveur exact n'a trouvé aucune solution dans la limite de temps (time_limit_s = "
                f"{_time_limit(reco.fallback)} s) : l'heuristique l'a remplacé." if fr else
                f"The exact solver found no solution within the time limit (time_limit_s = "
                f"{_time_limit(reco.fallback)} s): the heuristic replaced it.")
        if reco.objective_upper_bound:
            ratio = reco.objective / reco.objective_upper_bound
            if ratio >= 1 - 1e-9:
                text += (" Sa couverture pondérée égale la borne de la relaxation linéaire : c'est l'optimum." if fr else
                         " Its weighted coverage equals the linear-relaxation bound: it is optimal.")
            else:
                text += (f" Sa couverture pondérée atteint au moins {pct(ratio, 2)} de l'optimum (borne de la "
                         "relaxation linéaire)." if fr else
                         f" Its weighted coverage is at least {pct(ratio, 2)} of the optimum (linear-relaxation bound).")
        lines.append(text)
    if reco.capacity is not None:
        cap = reco.capacity
        lines += ["", "## Capacité" if fr else "## Capacity", ""]
        if fr:
            lines.append(
                f"À raison d'environ {num(cap.households_per_site_year)} ménages rencontrés par site et par an "
                f"(4 500 ménages en 2014 pour 6 antennes) et d'un an de montage par site, "
                + (f"le réseau élargi rencontrerait les {num(cap.goal)} ménages à portée en "
                   f"**{cap.years_to_goal} ans**." if cap.years_to_goal is not None else
                   f"les {num(cap.goal)} ménages à portée ne seraient pas tous rencontrés en {cap.max_years} ans."))
        else:
            lines.append(
                f"At about {num(cap.households_per_site_year)} households met per site and year (4,500 households in "
                f"2014 by 6 branches) and one year to build each site, "
                + (f"the extended network would meet the {num(cap.goal)} households within reach in "
                   f"**{cap.years_to_goal} years**." if cap.years_to_goal is not None else
                   f"the {num(cap.goal)} households within reach would not all be met in {cap.max_years} years."))
    curve = reco.curve
    crossing = _curve_crossing(reco)
    lines += ["", "## Courbe : nouveaux sites → part des habitants des QPV à portée" if fr else
              "## Curve: new sites → share of QPV residents within reach", ""]
    if fr:
        lines.append(
            f"La courbe reprend les {n_new} sites du tableau dans l'ordre (mêmes parts), puis ajoute à chaque pas le "
            f"site au plus fort gain selon le même critère ({'gain pondéré' if k_mode and weighted else 'habitants'}). "
            + ("" if not crossing or not k_mode or not weighted or reco.target_sites is None else
               f"Elle franchit {pct(reco.target, 0)} au {crossing}e site"
               + (f", alors que {reco.target_sites} sites suffisent en maximisant la population seule (objectif "
                  "ci-dessus) : c'est le prix du poids donné au besoin." if crossing > reco.target_sites else
                  ", le nombre minimal.")))
    else:
        lines.append(
            f"The curve starts with the table's {n_new} sites in rank order (same shares), then adds at each step the "
            f"site with the largest gain by the same measure ({'weighted gain' if k_mode and weighted else 'residents'}). "
            + ("" if not crossing or not k_mode or not weighted or reco.target_sites is None else
               f"It crosses {pct(reco.target, 0)} at site {crossing}"
               + (f", while {reco.target_sites} sites suffice when population alone is maximised (goal above): "
                  "the price of weighting by need." if crossing > reco.target_sites else ", the minimal number.")))
    lines += ["", "| Nouveaux sites | Part à portée |" if fr else "| New sites | Share within reach |", "|---:|---:|"]
    for n in sorted({0, 5, 10, 20, 30, 50, 75, 100, 150, int(curve["n_new_sites"].max())}):
        hit = curve[curve["n_new_sites"] == n]
        if len(hit):
            lines.append(f"| {n} | {pct(float(hit['share'].iloc[0]))} |")
    lines += ["", "*Hypothèses et sources : voir docs/siting.md.*" if fr else
              "*Assumptions and sources: see docs/siting.md.*", ""]
    return "\n".join(lines)
