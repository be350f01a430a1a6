"""Legend of the Stratégie map's layers: one entry per overlay of the layer control, with its symbol.

Each entry carries ``data-layer`` = the overlay's name in the layer control, so a test (or a reader)
can check that every visible layer is explained. The choropleth's classes have their own legend
(:func:`app.components.mapstyle.legend`).
"""

from __future__ import annotations

from dash import html

from geo.i18n import t

#: Overlay message id -> (symbol CSS class, explanation message id), in the layer control's order.
ENTRIES: tuple[tuple[str, str, str], ...] = (
    ("layer.regions", "sym-outline-dark", "legend.layer.regions"),
    ("layer.departements", "sym-outline-light", "legend.layer.departements"),
    ("layer.communes", "sym-bubble", "legend.layer.communes"),
    ("layer.qpv", "sym-qpv", "legend.layer.qpv"),
    ("layer.npnru", "sym-npnru", "legend.layer.npnru"),
    ("layer.sites", "sym-site", "legend.layer.sites"),
    ("layer.districts", "sym-district", "legend.layer.districts"),
    ("layer.recommended", "sym-rec", "legend.layer.recommended"),
)


def layer_legend(*, lang: str) -> html.Details:
    """The legend of the map's layers (open by default, can be folded)."""
    items = [
        html.Li([html.Span(className=f"sym {symbol}", **{"aria-hidden": "true"}),
                 html.Span(t(name, lang), className="layer-name")],
                title=t(note, lang), **{"data-layer": t(name, lang)}, className="layer-entry")
        for name, symbol, note in ENTRIES
    ]
    return html.Details([html.Summary(t("legend.layers", lang)), html.Ul(items, className="layer-list")],
                        open=True, className="layer-legend", id="strategie-layer-legend")
