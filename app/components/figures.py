"""Key-figure cards: a large value above its label."""

from __future__ import annotations

from typing import Any

from dash import html


def kpi_card(value: str, label: str, *, card_id: str, style: dict[str, Any] | None = None,
             value_style: dict[str, Any] | None = None, label_style: dict[str, Any] | None = None) -> html.Div:
    """One card (``kpi``, ``kpi-value``, ``kpi-label`` classes; optional inline styles)."""
    extra: dict[str, Any] = {"style": style} if style else {}
    value_extra: dict[str, Any] = {"style": value_style} if value_style else {}
    label_extra: dict[str, Any] = {"style": label_style} if label_style else {}
    return html.Div([html.Div(value, className="kpi-value", **value_extra),
                     html.Div(label, className="kpi-label", **label_extra)], id=card_id, className="kpi", **extra)
