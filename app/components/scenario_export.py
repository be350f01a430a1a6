"""« Exporter »: a scenario's plan as an XLSX workbook, a French CSV and the engine's brief (Markdown, HTML).

Every file starts with the scenario's parameters, the network used and the data version, so a figure
read later can be traced to its assumptions:

* XLSX (openpyxl): sheet « Scénario » (parameter, value), then « Sites », « Régions », « Feuille de route »;
* CSV for a French spreadsheet: ``;`` separator, decimal comma, UTF-8 with BOM; a header block of
  ``# parameter;value`` lines, a blank line, then the ranked sites;
* brief: :func:`geo.siting.plan_brief.plan_brief` preceded by the same header; HTML through markdown-it-py.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from geo.export.tables import neutralise
from geo.i18n import t

SITE_COLUMNS: tuple[str, ...] = ("rank", "insee_code", "name", "urban_region", "region", "residents_served",
                                 "weighted_served", "households_served", "qpv_served", "npnru_qpv",
                                 "cumulative_presence", "opening_year")
REGION_COLUMNS: tuple[str, ...] = ("rank", "urban_region", "added_residents", "qpv_residents", "n_qpv", "npnru_qpv",
                                   "network_there", "in_plan", "current_sites", "new_sites", "current_cities", "new_cities")


def header_rows(scen: Any, plan: Any, *, network: str, data_version: str, lang: str) -> list[tuple[str, str]]:
    """(label, value) rows: every parameter of the scenario, the network used, the data version, the result."""
    mode = t(f"scen.mode.{scen.mode}", lang)
    rows = [
        (t("export.h.mode", lang), mode),
        (t("export.h.k", lang), str(scen.k) if scen.mode == "k" else "—"),
        (t("export.h.cities", lang), str(scen.cities) if scen.mode == "plan" else "—"),
        (t("export.h.regions", lang), str(scen.regions)),
        (t("export.h.radius", lang), f"{scen.radius_km:g}"),
        (t("export.h.capacity", lang), str(scen.capacity)),
        (t("export.h.pace", lang), f"{scen.pace:g}"),
        (t("export.h.target", lang), str(scen.target_pct)),
        (t("export.h.weights", lang), ", ".join(f"{k}={v:g}" for k, v in scen.weights)),
        (t("export.h.quotas", lang), ", ".join(scen.quota_specs()) or "—"),
        (t("export.h.network", lang), network),
        (t("export.h.data_version", lang), data_version),
        (t("export.h.method", lang), str(plan.params.get("method", ""))),
        (t("export.h.presence_now", lang), f"{100 * plan.baseline_presence:.2f}"),
        (t("export.h.presence_plan", lang), f"{100 * plan.presence:.2f}"),
        (t("export.h.link", lang), "/?" + scen.to_query()),
    ]
    return rows


def _sites(plan: Any) -> pd.DataFrame:
    out = plan.table[[c for c in SITE_COLUMNS if c in plan.table.columns]].copy()
    out["cumulative_presence"] = 100 * out["cumulative_presence"]
    return neutralise(out)


def to_xlsx(scen: Any, plan: Any, *, network: str, data_version: str, lang: str) -> bytes:
    """The workbook: « Scénario » (parameters), sites, urban regions, roadmap."""
    head = pd.DataFrame(header_rows(scen, plan, network=network, data_version=data_version, lang=lang),
                        columns=[t("export.parameter", lang), t("export.value", lang)])
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        neutralise(head).to_excel(writer, sheet_name=t("export.sheet.scenario", lang)[:31], index=False)
        _sites(plan).to_excel(writer, sheet_name=t("export.sheet.sites", lang)[:31], index=False)
        neutralise(plan.regions[list(REGION_COLUMNS)]).to_excel(writer, sheet_name=t("export.sheet.urban_regions", lang)[:31],
                                                                 index=False)
        plan.roadmap.table.to_excel(writer, sheet_name=t("export.sheet.roadmap", lang)[:31], index=False)
    return buf.getvalue()


def to_csv(scen: Any, plan: Any, *, network: str, data_version: str, lang: str) -> bytes:
    """The French CSV: ``;``, decimal comma, UTF-8 BOM; a ``#`` header block then the ranked sites."""
    lines = [f"# {label};{value}" for label, value in header_rows(scen, plan, network=network,
                                                                  data_version=data_version, lang=lang)]
    body = _sites(plan).to_csv(sep=";", decimal=",", index=False, float_format="%.2f", lineterminator="\n")
    return ("\ufeff" + "\n".join(lines) + "\n\n" + body).encode("utf-8")


def brief_markdown(scen: Any, plan: Any, *, network: str, data_version: str, lang: str, robust: Any = None) -> str:
    """The engine's brief preceded by the scenario's header table."""
    from geo.siting.plan_brief import plan_brief

    rows = header_rows(scen, plan, network=network, data_version=data_version, lang=lang)
    table = [f"| {t('export.parameter', lang)} | {t('export.value', lang)} |", "|---|---|",
             *(f"| {a} | {str(b).replace('|', '/')} |" for a, b in rows)]
    return "\n".join([f"# {t('export.brief_title', lang)}", "", *table, "", plan_brief(plan, robust=robust, lang=lang)])


def brief_html(markdown_text: str, *, lang: str) -> str:
    """A standalone HTML page of a Markdown brief (markdown-it-py, tables on, raw HTML off)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown_text)
    return (f"<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{t('export.brief_title', lang)}"
            "</title><style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;line-height:1.45}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}</style></head>"
            f"<body>{body}</body></html>")
