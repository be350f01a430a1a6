"""Page « Stratégie » (``/``): the national QPV map and the expansion recommendation."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from app import i18n

dash.register_page(__name__, path="/", name="Stratégie", nav_key="nav.strategie", order=0,
                   roles=("strategie", "admin"))


def layout(**_kwargs: Any) -> html.Div:
    """The page layout."""
    lang = i18n.current_lang()
    return html.Div([html.H1(i18n.t("nav.strategie", lang))], className="page-strategie")
