"""Explanations in French (default) or English: one sentence per recommended site, method labels and a
Markdown brief for the strategy team and funders."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geo.i18n import N_, t
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
    head = t(N_("siting.reason.head_one") if n_qpv == 1 else N_("siting.reason.head_many"), lang, name=row["name"],
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
        return t(N_("siting.reason.within_one") if n_qpv == 1 else N_("siting.reason.within_many"), lang, radius=radius)
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
        text += t(N_("siting.reason.poverty_missing_one") if missing == 1 else N_("siting.reason.poverty_missing_many"), lang,
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
    text = t(N_("siting.method.target_proof") if proven else N_("siting.method.target_upper"), lang, words=words)
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
    check_lang(lang)
    lines = _brief_head(reco, lang)
    lines += _brief_table(reco, lang)
    lines += _brief_goal(reco, lang)
    lines += _brief_method(reco, lang)
    lines += _brief_capacity(reco, lang)
    lines += _brief_curve(reco, lang)
    lines += ["", t("siting.brief.sources", lang), ""]
    return "\n".join(lines)


def _brief_head(reco: Recommendation, lang: str) -> list[str]:
    p = reco.params
    demand = t(N_("siting.brief.demand_weighted") if p.get("weights") else N_("siting.brief.demand_plain"), lang)
    n = len(reco.network)
    lines = [
        f"# {t('siting.brief.title', lang)}", "",
        t("siting.brief.settings", lang, radius=fmt_num(p["radius_km"], 1, lang),
          home=fmt_num(p.get("home_radius_km", float("nan")), 0, lang), demand=demand,
          method=reco.method_label(lang=lang)), "",
        t("siting.brief.denominator", lang, text=denominator_text(reco, lang=lang)), "",
        f"## {t('siting.brief.network_title', lang)}", "",
        t(N_("siting.brief.network_one") if n == 1 else N_("siting.brief.network_many"), lang, n=n,
          residents=fmt_int(reco.baseline_population, lang), share=fmt_pct(reco.baseline_share, 1, lang)), "",
    ]
    lines += [t("siting.brief.network_row", lang, name=row.name, kind=row.kind, year=row.opening_year,
                residents=fmt_int(row.population_reached, lang), n=row.qpv_reached)
              for row in reco.network.itertuples(index=False)]
    return lines


def _brief_table(reco: Recommendation, lang: str) -> list[str]:
    p = reco.params
    radius = fmt_num(p["radius_km"], 1, lang)
    lines = ["", f"## {t('siting.brief.reco_title', lang, n=len(reco.table))}", "",
             t("siting.brief.reco_share", lang, residents=fmt_int(reco.population_reached, lang),
               share=fmt_pct(reco.share, 1, lang),
               points=fmt_num(100 * (reco.share - reco.baseline_share), 1, lang)), ""]
    if p.get("k") is not None and p.get("weights"):
        lines.append(t("siting.brief.rank_weighted", lang, strength=fmt_num(p.get("need_strength", 1.0), 1, lang)))
    else:
        lines.append(t("siting.brief.rank_residents", lang))
    head = [t(f"siting.brief.col_{c}", lang, radius=radius) if c == "within" else t(f"siting.brief.col_{c}", lang)
            for c in ("rank", "site", "region", "gain", "added", "within", "own", "share", "npnru", "poverty",
                      "nearest")]
    lines += ["", "| " + " | ".join(head) + " |", "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in reco.table.itertuples(index=False):
        dist = "—" if math.isnan(r.nearest_site_km) else f"{r.nearest_site} ({fmt_num(r.nearest_site_km, 1, lang)} km)"
        pov = fmt_pct(r.poverty_rate / 100.0, 0, lang) if not math.isnan(r.poverty_rate) else fmt_int(float("nan"), lang)
        lines.append(f"| {r.rank} | {r.name} ({r.insee_code}) | {r.region} | {fmt_int(r.added_demand, lang)} | "
                     f"{fmt_int(r.added_population, lang)} | {fmt_int(r.added_population_radius, lang)} | "
                     f"{fmt_int(r.added_population_own, lang)} | {fmt_pct(r.cumulative_share, 1, lang)} | "
                     f"{r.npnru_count} | {pov} | {dist} |")
    lines += ["", f"### {t('siting.brief.why_title', lang)}", ""]
    lines += [f"{i}. {text}" for i, text in enumerate(reco.reasons(lang=lang), start=1)]
    return lines


def _brief_goal(reco: Recommendation, lang: str) -> list[str]:
    target = fmt_pct(reco.target, 0, lang)
    lines = ["", f"## {t('siting.brief.goal_title', lang, target=target)}", ""]
    if reco.target_sites is None:
        return [*lines, t("siting.brief.goal_out", lang, note=reco.target_note)]
    if reco.target_proven_minimal:
        proof = t("siting.brief.proof_minimal", lang)
    elif reco.target_lower_bound:
        proof = t("siting.brief.proof_bound", lang, n=reco.target_lower_bound)
    else:
        proof = t("siting.brief.proof_upper", lang)
    if reco.target_sites == 0:
        return [*lines, t("siting.brief.goal_met", lang, target=target)]
    return [*lines, t("siting.brief.goal_sites", lang, n=reco.target_sites, target=target, proof=proof,
                      method=reco.target_method_label(lang=lang))]


def _brief_method(reco: Recommendation, lang: str) -> list[str]:
    if not reco.fallback:
        return []
    text = t("siting.brief.fallback", lang, limit=_time_limit(reco.fallback))
    if reco.objective_upper_bound:
        ratio = reco.objective / reco.objective_upper_bound
        text += (t("siting.brief.fallback_optimal", lang) if ratio >= 1 - 1e-9 else
                 t("siting.brief.fallback_ratio", lang, ratio=fmt_pct(ratio, 2, lang)))
    return ["", f"## {t('siting.brief.method_title', lang)}", "", text]


def _brief_capacity(reco: Recommendation, lang: str) -> list[str]:
    cap = reco.capacity
    if cap is None:
        return []
    known = cap.years_to_goal is not None
    text = t(N_("siting.brief.capacity_years") if known else N_("siting.brief.capacity_never"), lang,
             per_year=fmt_int(cap.households_per_site_year, lang), goal=fmt_int(cap.goal, lang),
             years=cap.years_to_goal if known else cap.max_years)
    return ["", f"## {t('siting.brief.capacity_title', lang)}", "", text]


def _brief_curve(reco: Recommendation, lang: str) -> list[str]:
    p = reco.params
    weighted_k = p.get("k") is not None and bool(p.get("weights"))
    crossing = _curve_crossing(reco)
    text = t("siting.brief.curve_text", lang, n=len(reco.table),
             measure=t(N_("siting.brief.curve_gain") if weighted_k else N_("siting.brief.curve_residents"), lang))
    if crossing and weighted_k and reco.target_sites is not None:
        target = fmt_pct(reco.target, 0, lang)
        text += (t("siting.brief.curve_cross_later", lang, target=target, crossing=crossing, n=reco.target_sites)
                 if crossing > reco.target_sites else
                 t("siting.brief.curve_cross_min", lang, target=target, crossing=crossing))
    curve = reco.curve
    lines = ["", f"## {t('siting.brief.curve_title', lang)}", "", text, "",
             f"| {t('siting.brief.curve_col_sites', lang)} | {t('siting.brief.curve_col_share', lang)} |", "|---:|---:|"]
    for n in sorted({0, 5, 10, 20, 30, 50, 75, 100, 150, int(curve["n_new_sites"].max())}):
        hit = curve[curve["n_new_sites"] == n]
        if len(hit):
            lines.append(f"| {n} | {fmt_pct(float(hit['share'].iloc[0]), 1, lang)} |")
    return lines
