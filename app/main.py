"""The Dash application shell: navigation bar, language switch and the page container.

Only the shell is built here. Each page lives in ``app/pages/<name>.py``, calls
``dash.register_page(__name__, path=..., nav_key=..., order=..., roles=...)``, defines
``layout(**kwargs)`` and owns its callbacks (which call ``geo``). See ``docs/app.md``.

>>> from app.main import create_app
>>> app = create_app()          # a dash.Dash; app.server is the Flask (WSGI) application
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import dash
from dash import Input, Output, dcc, html

from app import cache, compression, health, i18n, public, security
from app.settings import DATA_DIR_KEY

logger = logging.getLogger(__name__)

APP_DIR = Path(__file__).resolve().parent

#: Flask config key: a function ``(page: dict) -> bool`` deciding whether a page shows in the navigation
#: bar for the current request (set by :func:`app.security.init_app`; default: every page with ``nav`` not False).
PAGE_VISIBLE_KEY = "VOISINMAP_PAGE_VISIBLE"


def create_app(*, data_dir: str | os.PathLike[str] | None = None, **dash_kwargs: Any) -> dash.Dash:
    """Build the Dash application.

    Parameters
    ----------
    data_dir : path-like, optional
        Folder of the processed national data (default: :func:`geo.config.data_dir`).
    **dash_kwargs
        Extra keyword arguments for :class:`dash.Dash`.

    Returns
    -------
    dash.Dash
        The app; ``app.server`` is the Flask application for gunicorn.

    Notes
    -----
    Dash registers page callbacks globally: build one app per process.
    """
    app = dash.Dash(
        "app",
        use_pages=True,
        pages_folder=str(APP_DIR / "pages"),
        assets_folder=str(APP_DIR / "assets"),
        title="voisinmap",
        update_title=None,
        suppress_callback_exceptions=True,
        **dash_kwargs,
    )
    app.server.config[DATA_DIR_KEY] = str(data_dir) if data_dir is not None else None
    app.layout = shell_layout
    _register_shell_callbacks(app)
    from app import layers, qpv_figures, saisie

    layers.init_app(app.server)
    qpv_figures.init_app(app.server)
    saisie.init_app(app.server)
    security.init_app(app)
    cache.init_app(app.server)
    health.init_app(app.server)
    compression.init_compression(app.server)
    public.init_public(app)
    logger.info("app created with pages %s", [p["path"] for p in dash.page_registry.values()])
    return app


def _page_visible(page: dict[str, Any]) -> bool:
    if page.get("nav") is False:
        return False
    import flask

    check = flask.current_app.config.get(PAGE_VISIBLE_KEY) if flask.has_app_context() else None
    return bool(check(page)) if check else True


def nav_pages() -> list[dict[str, Any]]:
    """Registered pages to show in the navigation bar, in their ``order``."""
    pages = sorted(dash.page_registry.values(), key=lambda p: (p.get("order") or 0, p["path"]))
    return [p for p in pages if _page_visible(p)]


def navbar(lang: str) -> html.Header:
    """The top bar: brand, one link per page, the FR/EN switch."""
    links = [
        dcc.Link(
            i18n.t(p["nav_key"], lang) if p.get("nav_key") else p["name"],
            href=p["relative_path"],
            className="nav-link",
            id={"type": "nav-link", "path": p["relative_path"]},
        )
        for p in nav_pages()
    ]
    switch = html.Div(
        [
            html.Button(
                code.upper(),
                id=f"lang-{code}",
                n_clicks=0,
                className="lang-button" + (" active" if code == lang else ""),
                title=i18n.t("lang.switch", lang),
                **{"aria-pressed": "true" if code == lang else "false"},
            )
            for code in i18n.LANGS
        ],
        className="lang-switch",
        role="group",
        **{"aria-label": i18n.t("lang.switch", lang)},
    )
    menu = html.Button(
        [html.Span(className="menu-icon", **{"aria-hidden": "true"}), html.Span(i18n.t("nav.menu", lang))],
        id="shell-menu", n_clicks=0, className="menu-toggle",
        **{"aria-controls": "shell-menu-items", "aria-expanded": "false"},
    )
    return html.Header(
        [
            html.Div(
                [html.Span("voisinmap", className="brand"), html.Span(i18n.t("app.tagline", lang), className="tagline")],
                className="brand-block",
            ),
            menu,
            html.Div([html.Nav(links, className="nav-links"), switch], id="shell-menu-items", className="menu-items"),
        ],
        className="topbar",
        id="shell-topbar",
    )


def shell_layout() -> html.Div:
    """The app layout, evaluated on each page load (so the bar follows the language cookie)."""
    lang = i18n.current_lang()
    return html.Div(
        [
            dcc.Store(id="lang", data=lang),
            navbar(lang),
            html.Main(dash.page_container, className="page"),
        ],
        className="shell",
        lang=lang,
    )


def _register_shell_callbacks(app: dash.Dash) -> None:
    # The link of the current page is marked.
    app.clientside_callback(
        """
        function(pathname, ids) {
            const path = pathname || '/';
            return ids.map(id => id.path === path ? 'nav-link active' : 'nav-link');
        }
        """,
        Output({"type": "nav-link", "path": dash.ALL}, "className"),
        Input("_pages_location", "pathname"),
        dash.State({"type": "nav-link", "path": dash.ALL}, "id"),
    )
    # Under about 768 px the links and the language switch fold into a menu; a link followed closes it.
    app.clientside_callback(
        """
        function(n, pathname, current) {
            const trig = window.dash_clientside.callback_context.triggered_id;
            const open = trig === 'shell-menu' && !String(current || '').includes('open');
            return [open ? 'topbar open' : 'topbar', open ? 'true' : 'false'];
        }
        """,
        Output("shell-topbar", "className"),
        Output("shell-menu", "aria-expanded"),
        Input("shell-menu", "n_clicks"),
        Input("_pages_location", "pathname"),
        dash.State("shell-topbar", "className"),
    )
    # The switch writes the cookie in the browser and reloads: layouts and callbacks read it server-side.
    app.clientside_callback(
        f"""
        function(nFr, nEn) {{
            const trig = window.dash_clientside.callback_context.triggered_id;
            if (!trig) {{ return window.dash_clientside.no_update; }}
            const lang = trig === 'lang-en' ? 'en' : 'fr';
            document.cookie = '{i18n.LANG_COOKIE}=' + lang + '; path=/; max-age=31536000; SameSite=Lax';
            window.location.reload();
            return lang;
        }}
        """,
        Output("lang", "data"),
        Input("lang-fr", "n_clicks"),
        Input("lang-en", "n_clicks"),
        prevent_initial_call=True,
    )
