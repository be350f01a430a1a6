"""Page « Données » (``/donnees``): sources, vintages, licences, build date, row counts and join rates."""

from __future__ import annotations

import logging
from typing import Any

import dash
from dash import dash_table, html
from dash.dash_table.Format import Format, Scheme

from app import i18n, settings
from geo.i18n import colon, format_number, format_percent, t
from geo.load import DataNotBuiltError, load_manifest

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/donnees", name="Données", nav_key="nav.donnees", order=50, roles=None)

def _column(cid: str, name: str) -> dict[str, Any]:
    if cid == "url":
        return {"id": cid, "name": name, "presentation": "markdown"}
    if cid == "rows":
        return {"id": cid, "name": name, "type": "numeric", "format": Format(precision=0, scheme=Scheme.fixed).group(True)}
    return {"id": cid, "name": name}


def _table(table_id: str, rows: list[dict[str, Any]], columns: list[tuple[str, str]], *,
           lang: str) -> dash_table.DataTable:
    return dash_table.DataTable(
        id=table_id,
        data=rows,
        columns=[_column(cid, name) for cid, name in columns],
        locale_format=i18n.table_locale(lang),
        sort_action="native",
        style_cell={"textAlign": "left", "whiteSpace": "normal", "height": "auto", "fontSize": "0.9rem"},
        style_header={"fontWeight": "600"},
        markdown_options={"link_target": "_blank"},
    )


def source_rows(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per source of the manifest, with the keys the table shows."""
    rows = []
    for name, src in (manifest.get("sources") or {}).items():
        url = src.get("url") or ""
        rows.append(
            {
                "name": name,
                "title": src.get("title") or "",
                "producer": src.get("producer") or "",
                "vintage": src.get("vintage") or "",
                "licence": src.get("licence") or "",
                "url": f"[{url}]({url})" if url else "",
                "origin": src.get("origin") or "",
                "sha256": (src.get("sha256") or "")[:12],
            }
        )
    return rows


def layer_rows(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per processed layer: name, file and row count."""
    layers = manifest.get("outputs") or {}
    rows = []
    for name, info in layers.items():
        if isinstance(info, dict):
            rows.append({"layer": name, "file": info.get("file", ""), "rows": info.get("rows")})
        else:
            rows.append({"layer": name, "file": "", "rows": info})
    return rows


def join_rows(manifest: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """One row per join rate of the manifest, the rate formatted as a percentage."""
    joins = manifest.get("join_rates") or {}
    rows = []
    for name, info in joins.items():
        rate = info.get("rate")
        detail = t("donnees.join_detail", lang, matched=format_number(info.get("matched"), lang),
                   total=format_number(info.get("total"), lang),
                   threshold=format_percent(100 * info.get("threshold", 0), lang, decimals=0))
        rows.append({"join": name, "rate": format_percent(100 * rate, lang, decimals=1) if rate is not None else "",
                     "detail": detail})
    return rows


def caveat_texts(manifest: dict[str, Any], lang: str) -> list[str]:
    """The build's known limitations in ``lang`` (``caveat_messages``); older manifests give their English list."""
    messages = manifest.get("caveat_messages")
    if not messages:
        return list(manifest.get("caveats", []))
    return [t(str(m["msgid"]), lang, **(m.get("fields") or {})) for m in messages]


def _format_date(iso: str, lang: str) -> str:
    from datetime import datetime

    try:
        when = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return str(iso)
    return when.strftime("%d/%m/%Y %H:%M %Z" if lang == "fr" else "%Y-%m-%d %H:%M %Z").strip()


def layout(**_kwargs: Any) -> html.Div:
    """The page, rendered from the build manifest of the app's data folder."""
    lang = i18n.current_lang()
    try:
        manifest = load_manifest(data_dir=settings.data_dir())
    except DataNotBuiltError:
        return html.Div([html.H1(t("donnees.title", lang)), html.P(t("donnees.missing", lang), className="notice")],
                        className="page-donnees")
    built = _format_date(manifest.get("built_at", ""), lang)
    return html.Div(
        [
            html.H1(t("donnees.title", lang)),
            html.P(t("donnees.intro", lang)),
            html.P([html.Strong(colon(t("donnees.built_at", lang), lang) + " "), html.Span(str(built), id="donnees-built-at")]),
            html.H2(t("donnees.sources", lang)),
            _table(
                "donnees-sources",
                source_rows(manifest),
                [(c, t(f"donnees.col.{c}", lang)) for c in
                 ("name", "title", "producer", "vintage", "licence", "url", "origin", "sha256")],
                lang=lang,
            ),
            html.H2(t("donnees.layers", lang)),
            _table("donnees-layers", layer_rows(manifest),
                   [(c, t(f"donnees.col.{c}", lang)) for c in ("layer", "file", "rows")], lang=lang),
            html.H2(t("donnees.joins", lang)),
            _table("donnees-joins", join_rows(manifest, lang),
                   [(c, t(f"donnees.col.{c}", lang)) for c in ("join", "rate", "detail")], lang=lang),
            html.H2(t("donnees.caveats", lang)),
            html.P(t("donnees.caveats_note", lang), className="help", id="donnees-caveats-note"),
            html.Ul([html.Li(c) for c in caveat_texts(manifest, lang)], id="donnees-caveats"),
            html.H2(t("donnees.attribution", lang)),
            html.P(i18n.attribution(manifest.get("attribution", ""), lang), id="donnees-attribution"),
        ],
        className="page-donnees",
    )
