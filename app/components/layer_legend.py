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


#: Marks of the recommended markers once the page has computed the robustness: (symbol CSS class, word id),
#: shown on the recommended layer's own line (the legend keeps its height).
MARKS: tuple[tuple[str, str], ...] = (("sym-rec sym-rec-robust", "res.robust.word_robust"),
                                      ("sym-rec sym-rec-fragile", "res.robust.word_fragile"))


def _marks(lang: str) -> html.Span:
    return html.Span([html.Span([html.Span(className=f"sym {symbol}", **{"aria-hidden": "true"}), t(word, lang)],
                                className="layer-mark", **{"data-mark": word})
                      for symbol, word in MARKS],
                     className="layer-marks", title=("\u202f; " if lang == "fr" else "; ").join(
                         t(m, lang) for m in ("legend.mark.robust", "legend.mark.fragile")))


def layer_legend(*, lang: str) -> html.Details:
    """The legend of the map's layers (open by default, can be folded); the recommended markers' robust and
    fragile marks are explained on their layer's line."""
    items = [
        html.Li([html.Span(className=f"sym {symbol}", **{"aria-hidden": "true"}),
                 html.Span(t(name, lang), className="layer-name"),
                 *([_marks(lang)] if name == "layer.recommended" else [])],
                title=t(note, lang), **{"data-layer": t(name, lang)}, className="layer-entry")
        for name, symbol, note in ENTRIES
    ]
    return html.Details([html.Summary(t("legend.layers", lang)), html.Ul(items, className="layer-list")],
                        open=True, className="layer-legend", id="strategie-layer-legend")
