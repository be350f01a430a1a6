"""The brief a strategy director reads first: which regions and cities, what they bring, how sure, on what assumptions.

Every text is a :mod:`geo.i18n` message id ``siting.plan.*`` (French and English catalogues). Solver
vocabulary stays in the last section (method).
"""

from __future__ import annotations

from geo.i18n import colon, format_number, format_percent, t
from geo.siting.plan import Plan, Reachability
from geo.siting.robustness import Robustness

#: Above this share of scenarios a choice is "robust", below :data:`FRAGILE_BELOW` "fragile".
ROBUST_FROM: float = 2 / 3
FRAGILE_BELOW: float = 1 / 3


def _n(value: float, lang: str) -> str:
    return format_number(value, lang)


def _pct(value: float, lang: str) -> str:
    return format_percent(100.0 * value, lang, decimals=1)


def _regions_section(result: Plan, lang: str) -> list[str]:
    reg = result.regions[result.regions["in_plan"]]
    new = reg[~reg["network_there"]]["urban_region"].tolist()
    kept = reg[reg["network_there"]]["urban_region"].tolist()
    lines = [f"## {t('siting.plan.regions_title', lang)}", ""]
    lines.append(t("siting.plan.regions_answer", lang, n=len(reg), kept=", ".join(kept) or "—",
                   new=", ".join(new) or "—"))
    lines.append("")
    lines.append(f"| {t('siting.plan.col_region', lang)} | {t('siting.plan.col_added', lang)} | "
                 f"{t('siting.plan.col_qpv_residents', lang)} | {t('siting.plan.col_npnru', lang)} | "
                 f"{t('siting.plan.col_cities', lang)} |")
    lines.append("|---|---:|---:|---:|---|")
    for r in reg.itertuples(index=False):
        cities = [t("siting.plan.current_city", lang, name=c) for c in r.current_cities.split(" | ") if c]
        cities += [c for c in r.new_cities.split(" | ") if c]
        lines.append(f"| {r.urban_region} | {_n(r.added_residents, lang)} | {_n(r.qpv_residents, lang)} | "
                     f"{int(r.npnru_qpv)} | {', '.join(cities)} |")
    return [*lines, ""]


def _frequency(rob: Robustness | None, frame: str, name: str) -> str:
    """``k/n`` scenarios choosing ``name`` ("" without robustness)."""
    if rob is None:
        return ""
    table = getattr(rob, frame)
    hit = table.loc[table["name"] == name, "selected"]
    return f"{int(hit.iloc[0]) if len(hit) else 0}/{len(rob.scenarios)}"


def _robust_lead(result: Plan, rob: Robustness, lang: str) -> list[str]:
    """The first lines: which choices hold across the scenarios and which do not."""
    n = len(rob.scenarios)
    regions = result.regions[result.regions["in_plan"]]["urban_region"].tolist()
    items = []
    for name in regions:
        k = int(rob.regions.loc[rob.regions["name"] == name, "selected"].sum())
        key = "siting.plan.lead_robust" if k >= ROBUST_FROM * n else (
            "siting.plan.lead_fragile" if k < FRAGILE_BELOW * n else "siting.plan.lead_middle")
        items.append((key, name, k))
    lines = []
    for key in ("siting.plan.lead_robust", "siting.plan.lead_middle", "siting.plan.lead_fragile"):
        names = [t("siting.plan.freq", lang, name=nm, k=k, n=n) for kk, nm, k in items if kk == key]
        if names:
            lines.append("- " + t(key, lang, names=", ".join(names)))
    cities = [t("siting.plan.freq", lang, name=r.name, k=_frequency(rob, "cities", r.name).split("/")[0], n=n)
              for r in result.table.itertuples(index=False)]
    lines.append("- " + t("siting.plan.lead_cities", lang, names=", ".join(cities)))
    return [*lines, ""]


def _cities_section(result: Plan, lang: str, rob: Robustness | None = None) -> list[str]:
    lines = [f"## {t('siting.plan.cities_title', lang)}", "", t("siting.plan.cities_why", lang), ""]
    cols = ("rank", "city", "region", "gain", "served", "qpv", "npnru", "opening", "cumulative",
            *(("chosen",) if rob is not None else ()))
    head = [t(f"siting.plan.col_{c}", lang) for c in cols]
    lines += ["| " + " | ".join(head) + " |", "|" + "|".join("---" if c in ("city", "region") else "---:"
                                                          for c in cols) + "|"]
    for r in result.table.itertuples(index=False):
        freq = f" {_frequency(rob, 'cities', r.name)} |" if rob is not None else ""
        lines.append(f"| {r.rank} | {r.name} | {r.urban_region} | {_n(r.weighted_served, lang)} | "
                     f"{_n(r.residents_served, lang)} | {r.qpv_served} | {r.npnru_qpv} | {r.opening_year} | "
                     f"{_pct(r.cumulative_presence, lang)} |{freq}")
    return [*lines, ""]


def _roadmap_section(result: Plan, lang: str) -> list[str]:
    road = result.roadmap
    lines = [f"## {t('siting.plan.roadmap_title', lang)}", "", t("siting.plan.presence_vs_met", lang), ""]
    lines.append(f"| {t('siting.plan.col_year', lang)} | {t('siting.plan.col_sites', lang)} | "
                 f"{t('siting.plan.col_presence', lang)} | {t('siting.plan.col_met', lang)} | "
                 f"{t('siting.plan.col_met_cum', lang)} |")
    lines.append("|---:|---:|---:|---:|---:|")
    for r in road.table.itertuples(index=False):
        lines.append(f"| {r.year} | {r.sites_built} | {_pct(r.presence_share, lang)} | {_n(r.households_met, lang)} | "
                     f"{_n(r.households_met_cumulative, lang)} |")
    lines.append("")
    never = t("siting.plan.not_by", lang, year=int(road.table["year"].max()))
    lines.append("- " + t("siting.plan.goal_presence", lang, target=_pct(result.params["target"], lang),
                          year=road.presence_goal_year or never))
    for (households, within), year in road.door_goal_years.items():
        lines.append("- " + t("siting.plan.goal_doors", lang, households=_n(households, lang), within=within,
                              year=year or never))
    return [*lines, ""]


def _reach_section(answer: Reachability, lang: str) -> list[str]:
    p = answer.params
    key = "siting.plan.reach_yes" if answer.reachable else "siting.plan.reach_no"
    title = t("siting.plan.reach_title", lang, target=_pct(p["target"], lang), cities=p["max_cities"],
              regions=p["max_regions"])
    lines = [f"## {title}", ""]
    if answer.cities_needed_any_region is not None:
        lines += [t("siting.plan.target_sites", lang, n=answer.cities_needed_any_region - answer.n_current,
                    target=format_number(100.0 * p["target"], lang), capacity=_n(p["capacity"] or 0, lang)), ""]
    lines += [t(key, lang, presence=_pct(answer.presence, lang), cities=p["max_cities"], regions=p["max_regions"],
                   capacity=_n(p["capacity"] or 0, lang))]
    if not answer.reachable:
        unknown = t("siting.plan.unknown", lang)
        lines += ["", "- " + t("siting.plan.takes_cities", lang, n=answer.cities_needed or unknown,
                                regions=p["max_regions"]),
                  "- " + t("siting.plan.takes_any_region", lang, n=answer.cities_needed_any_region or unknown,
                           used=answer.regions_used or unknown),
                  "- " + t("siting.plan.takes_capacity", lang,
                           capacity=_n(answer.capacity_needed, lang) if answer.capacity_needed else unknown,
                           cities=p["max_cities"])]
    return [*lines, ""]


def _robustness_section(rob: Robustness, lang: str) -> list[str]:
    n = len(rob.scenarios)
    lines = [f"## {t('siting.plan.robust_title', lang)}", "", t("siting.plan.robust_grid", lang, n=n), ""]
    for label, frame in (("siting.plan.regions_freq", rob.regions), ("siting.plan.cities_freq", rob.cities)):
        robust = frame[frame["frequency"] >= ROBUST_FROM - 1e-9]
        fragile = frame[frame["frequency"] < FRAGILE_BELOW - 1e-9]
        lines.append(f"**{t(label, lang)}**")
        lines.append("")
        lines.append("- " + colon(t("siting.plan.robust", lang), lang) + " " + (", ".join(
            t("siting.plan.freq", lang, name=r.name, k=r.selected, n=n) for r in robust.itertuples()) or "—"))
        lines.append("- " + colon(t("siting.plan.fragile", lang), lang) + " " + (", ".join(
            t("siting.plan.freq", lang, name=r.name, k=r.selected, n=n) for r in fragile.head(12).itertuples()) or "—"))
        lines.append("")
    return lines


def _assumptions(result: Plan, lang: str) -> list[str]:
    p = result.params
    cap = t("siting.plan.uncapacitated", lang) if p["capacity"] is None else _n(p["capacity"], lang)
    return [f"## {t('siting.plan.assumptions_title', lang)}", "",
            "- " + t("siting.plan.assume_capacity", lang, capacity=cap),
            "- " + t("siting.plan.assume_radius", lang, radius=format_number(p["radius_km"], lang, decimals=1)),
            "- " + t("siting.plan.assume_weights", lang) if p["weighted"] else "- " + t("siting.plan.assume_no_weights", lang),
            "- " + t("siting.plan.assume_pace", lang, pace=format_number(p["pace"], lang, decimals=1)),
            "- " + t("siting.plan.assume_households", lang),
            "- " + t("siting.plan.assume_regions", lang, method=p["regions_method"]),
            "- " + t("siting.plan.assume_network", lang, n=len(result.network)), ""]


def _method(result: Plan, lang: str) -> list[str]:
    ratio = result.ratio
    key = "siting.plan.method_exact" if result.optimal else "siting.plan.method_heuristic"
    return [f"## {t('siting.plan.method_title', lang)}", "",
            t(key, lang, ratio=format_percent(100.0 * ratio if ratio is not None else None, lang, decimals=2),
              seconds=format_number(result.elapsed_s, lang, decimals=2)), "", t("siting.plan.method_model", lang), ""]


def plan_brief(result: Plan, *, answer: Reachability | None = None, robust: Robustness | None = None,
               lang: str = "fr") -> str:
    """The Markdown brief of a plan, in ``lang`` ("fr" or "en").

    Parameters
    ----------
    result : Plan
    answer : Reachability, optional
        The "is the target reachable" section.
    robust : Robustness, optional
        The robustness section (robust and fragile choices).
    lang : {"fr", "en"}

    Returns
    -------
    str
    """
    from geo.siting.explain import check_lang

    check_lang(lang)
    scope = "siting.plan.denominator_metro" if result.params.get("scope") == "metro" else "siting.plan.denominator_all"
    lines = [f"# {t('siting.plan.title', lang)}", "",
             t(scope, lang, denominator=_n(result.denominator, lang), n=_n(result.params.get("n_qpv", 0), lang)), "",
             t("siting.plan.summary", lang, cities=len(result.table), regions=int(result.regions["in_plan"].sum()),
               before=_pct(result.baseline_presence, lang), after=_pct(result.presence, lang),
               denominator=_n(result.denominator, lang)), ""]
    if robust is not None:
        lines += _robust_lead(result, robust, lang)
    lines += _regions_section(result, lang)
    lines += _cities_section(result, lang, robust)
    lines += _roadmap_section(result, lang)
    if answer is not None:
        lines += _reach_section(answer, lang)
    if robust is not None:
        lines += _robustness_section(robust, lang)
    lines += _assumptions(result, lang)
    lines += _method(result, lang)
    return "\n".join(lines).rstrip() + "\n"
