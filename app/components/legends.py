"""Map legends: one row per colour class, class labels (« moins de 10 », « 10 à 20 », « 20 et plus »)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dash import html

from geo.i18n import t


def legend_row(colour: str, label: str, *, swatch_class: str = "legend-swatch",
               swatch_style: dict[str, str] | None = None, symbol: str | None = None) -> html.Div:
    """One legend line: a colour swatch and its label.

    ``symbol`` names the map symbol the line explains (``data-symbol``, with the colour in ``data-colour``),
    so a page or a test can match each drawn symbol with its line.
    """
    style = {"background": colour, **(swatch_style or {})}
    data = {"data-symbol": symbol, "data-colour": colour} if symbol else {}
    return html.Div([html.Span(className=swatch_class, style=style), html.Span(label)], className="legend-row",
                    **data)


def class_labels(breaks: Sequence[float], fmt: Callable[[float], str], *, lang: str,
                 empty_label: str = "≥ 1") -> list[str]:
    """Labels of the ``len(breaks) + 1`` classes cut by ``breaks`` (values shown with ``fmt``).

    Parameters
    ----------
    breaks : sequence of float
        Class limits, ascending.
    fmt : callable
        Formats a limit in ``lang`` (a number, a percentage…).
    lang : {"fr", "en"}
    empty_label : str
        The label of the single class when there are no limits.
    """
    if not breaks:
        return [empty_label]
    labels = [t("legend.less_than", lang, v=fmt(breaks[0]))]
    labels += [t("legend.range", lang, a=fmt(low), b=fmt(high)) for low, high in zip(breaks[:-1], breaks[1:], strict=True)]
    labels.append(t("legend.more_than", lang, v=fmt(breaks[-1])))
    return labels
