"""The controls of the page Terrain: site, campaigns, dates, outcomes, the import of visit files and the
« Géocoder » button (the drawer of the page on a phone)."""

from __future__ import annotations

from dash import dcc, html

from app.components import jobs
from geo.coverage import schema
from geo.i18n import t


def buttons(lang: str, *buttons: tuple[str, str], kind: str) -> html.Div:
    """A row of buttons, each (message id, component id)."""
    return html.Div([html.Button(t(key, lang), id=cid, n_clicks=0, className=kind) for key, cid in buttons],
                    className="terrain-buttons")


def controls(lang: str, sites: list[str], names: dict[str, str]) -> html.Div:
    """The side panel: site, campaigns, dates (French calendar), heat outcomes, import, geocoding.

    Parameters
    ----------
    lang : {"fr", "en"}
    sites : list of str
        Site codes the user may see (the first is selected).
    names : dict
        Display name of each site.
    """
    outcomes = [{"label": " " + t(f"outcome.{o}", lang), "value": o} for o in schema.OUTCOMES]
    return html.Div([
        html.H1(t("terrain.title", lang), className="side-title"),
        html.P(t("terrain.intro", lang), className="help"),
        html.Label(t("terrain.site", lang), htmlFor="terrain-site", className="control-label"),
        dcc.Dropdown(id="terrain-site", options=[{"label": f"{names.get(s, s)} ({s})", "value": s} for s in sites],
                     value=sites[0] if sites else None, clearable=False),
        html.Label(t("terrain.campaigns", lang), htmlFor="terrain-campaigns", className="control-label"),
        dcc.Dropdown(id="terrain-campaigns", options=[], value=[], multi=True,
                     placeholder=t("terrain.campaigns_all", lang)),
        html.Label(t("terrain.dates", lang), className="control-label"),
        dcc.DatePickerRange(id="terrain-dates", display_format="DD/MM/YYYY" if lang == "fr" else "YYYY-MM-DD",
                            month_format="MMMM YYYY", first_day_of_week=1, clearable=True, start_date=None,
                            end_date=None, number_of_months_shown=1, className="terrain-dates",
                            start_date_id="terrain-dates-start", end_date_id="terrain-dates-end",
                            start_date_placeholder_text=t("terrain.start", lang),
                            end_date_placeholder_text=t("terrain.end", lang)),
        html.Label(t("terrain.outcomes", lang), className="control-label"),
        dcc.Checklist(id="terrain-outcomes", options=outcomes, value=[], className="terrain-checklist",
                      labelStyle={"display": "flex", "alignItems": "center", "gap": "4px"}),
        dcc.Checklist(id="terrain-absent", options=[{"label": " " + t("terrain.absent", lang), "value": "absent"}],
                      value=[], className="terrain-checklist",
                      labelStyle={"display": "flex", "alignItems": "center", "gap": "4px", "marginTop": "6px"}),
        html.H2(t("terrain.import", lang), className="side-title"),
        html.P(t("terrain.import_help", lang), className="help"),
        buttons(lang, ("terrain.template_csv", "terrain-template-csv"),
                 ("terrain.template_xlsx", "terrain-template-xlsx"), kind="link-button"),
        dcc.Download(id="terrain-template-download"),
        dcc.Upload(id="terrain-upload", children=html.Div(t("terrain.upload", lang)), className="upload",
                   accept=".csv,.xlsx,text/csv", multiple=False),
        html.Div(id="terrain-upload-error", role="alert"),
        html.Div(id="terrain-upload-result", role="status", className="help"),
        dcc.Store(id="terrain-upload-job"),
        dcc.Interval(id="terrain-upload-poll", interval=jobs.POLL_MS, disabled=True),
        html.Button(t("terrain.geocode", lang), id="terrain-geocode", n_clicks=0, className="action-button"),
        html.Div(id="terrain-geocode-status", role="status", className="help"),
        dcc.Store(id="terrain-geocode-task"),
        dcc.Interval(id="terrain-geocode-poll", interval=jobs.POLL_MS, disabled=True),
        dcc.Store(id="terrain-report"),
        html.Button(t("terrain.report", lang), id="terrain-report-button", n_clicks=0, className="link-button",
                    hidden=True),
        dcc.Download(id="terrain-report-download"),
    ], className="terrain-controls", id="terrain-controls")
