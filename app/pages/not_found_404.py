"""The page shown for an address that matches no page (Dash's ``not_found_404`` convention), translated."""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from app import i18n
from geo.i18n import t

dash.register_page(__name__, path="/404", name="404", title="voisinmap · 404", nav=False, roles=None)


def layout(**_kwargs: Any) -> html.Div:
    """« Page introuvable » in the reader's language, with a link home."""
    lang = i18n.current_lang()
    return html.Div(
        [html.H1(t("error.not_found_title", lang), id="not-found-title"),
         html.P(t("error.not_found_text", lang)),
         dcc.Link(t("error.not_found_home", lang), href="/")],
        className="page-padded", id="not-found",
    )
