"""The public impact page as one static HTML document (no script, no Dash): key figures, a map, the
trend and the régions, from the latest release (:class:`app.public.funder_view.FunderView`).

The map (metropolitan France, and each overseas territory holding QPV in an inset under it,
:mod:`app.public.insets`) and the chart are inline SVG drawn here: a few hundred shapes, where a map library would
weigh more than the whole page (the page stays well under 1 MB, usually ~100 KB before compression).
Everything is rendered server-side once per release version and language, then served from memory.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from app.public import insets as overseas
from app.public.funder_view import FunderView
from app.public.insets import Inset
from geo import privacy
from geo.export import html_map
from geo.i18n import colon, format_number, format_percent, normalise_lang, t

#: Size of the map (metropolitan France; the overseas insets go under it) and chart drawings (SVG user units).
MAP_SIZE = (520, 520)
CHART_SIZE = (640, 260)
#: Metropolitan France (lon/lat box) the map fits.
METRO_BOX = (-5.3, 41.3, 9.7, 51.2)

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2937;background:#fff}
main{max-width:1100px;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin:1.2rem 0 .4rem}
.caption,.note,.def{color:#4b5563;font-size:.85rem}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:.7rem;margin:1rem 0}
.kpi{border:1px solid #d9dde4;border-radius:6px;padding:.6rem .8rem}
.kpi b{display:block;font-size:1.6rem}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:1rem}
svg{width:100%;height:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.3rem .4rem;border-bottom:1px solid #e5e7eb}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}
@media (max-width:480px){main{padding:.6rem}table{font-size:.8rem}th,td{padding:.25rem .3rem}
.cols{grid-template-columns:1fr}.kpis{grid-template-columns:1fr 1fr}}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _project(lon: float, lat: float) -> tuple[float, float]:
    west, south, east, north = METRO_BOX
    scale = MAP_SIZE[0] / ((east - west) * math.cos(math.radians(46.5)))
    scale = min(scale, MAP_SIZE[1] / (north - south))
    x = (lon - west) * math.cos(math.radians(46.5)) * scale
    y = (north - lat) * scale
    return round(x, 1), round(y, 1)


def outline_paths(regions: pd.DataFrame | None) -> list[str]:
    """SVG ``d`` attributes of the metropolitan régions (simplified to ~2 km)."""
    if regions is None or not len(regions):
        return []
    frame = regions
    if "zone" in frame.columns:
        frame = frame[frame["zone"] == "metro"]
    paths = []
    for geom in frame.geometry.simplify(0.02, preserve_topology=True):
        polygons = getattr(geom, "geoms", [geom])
        parts = []
        for poly in polygons:
            ring = np.asarray(poly.exterior.coords)
            if len(ring) < 4:
                continue
            points = [_project(x, y) for x, y in ring]
            parts.append("M" + "L".join(f"{x:g},{y:g}" for x, y in points) + "Z")
        if parts:
            paths.append("".join(parts))
    return paths


def _map_svg(view: FunderView, outlines: Sequence[str], insets: Sequence[Inset], lang: str) -> str:
    width, height = MAP_SIZE[0], overseas.height(len(insets))
    shapes = [f'<path d="{d}" fill="#f3f4f6" stroke="{html_map.OUTLINE_COLOUR}" stroke-width="0.6"/>'
              for d in outlines]
    for inset in insets:
        x, y, w, h = inset.frame
        shapes.append(f'<g><title>{_e(inset.name)}</title><rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" '
                      f'fill="#fff" stroke="#9ca3af" stroke-width="0.6"/><path d="{inset.path}" fill="#f3f4f6" '
                      f'stroke="{html_map.OUTLINE_COLOUR}" stroke-width="0.6"/><text x="{x + 3:g}" y="{y + 10:g}" '
                      f'font-size="9" fill="#4b5563">{_e(inset.name)}</text></g>')
    by_region = {inset.code: inset for inset in insets}

    def place(region: object, lon: float, lat: float) -> tuple[float, float] | None:
        inset = by_region.get(str(region))
        x, y = inset.project(lon, lat) if inset is not None else _project(lon, lat)
        return (x, y) if 0 <= x <= width and 0 <= y <= height else None

    qpv = view.qpv.dropna(subset=["lon", "lat"])
    top = float(qpv["households"].max()) if len(qpv) else 1.0
    for row in qpv.itertuples(index=False):
        spot = place(row.region, float(row.lon), float(row.lat))
        if spot is None:
            continue
        radius = round(2.5 + 9 * math.sqrt(float(row.households) / max(top, 1.0)), 1)
        label = t("public.map.qpv_tip", lang, name=row.lib_qp, households=format_number(row.households, lang))
        shapes.append(f'<circle cx="{spot[0]:g}" cy="{spot[1]:g}" r="{radius:g}" fill="{html_map.SHARE_COLOURS[2]}" '
                      f'fill-opacity="0.7" stroke="#1f2937" stroke-width="0.4"><title>{_e(label)}</title></circle>')
    for row in view.sites_in().dropna(subset=["lon", "lat"]).itertuples(index=False):
        spot = place(row.region, float(row.lon), float(row.lat))
        if spot is None:
            continue
        label = t("public.map.site_tip", lang, name=row.site_name, households=format_number(row.households, lang))
        shapes.append(f'<circle cx="{spot[0]:g}" cy="{spot[1]:g}" r="3" fill="{html_map.SITE_COLOUR}">'
                      f'<title>{_e(label)}</title></circle>')
    title = _e(t("public.map.title", lang))
    return (f'<svg viewBox="0 0 {width} {height:g}" role="img" aria-label="{title}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{title}</title>{"".join(shapes)}</svg>')


def coverage_note(view: FunderView, insets: Sequence[Inset], lang: str) -> str:
    """What the map covers, in words: metropolitan France and the overseas territories drawn in insets
    (and whether any published figure lies there)."""
    if not insets:
        return t("public.map.metro_only", lang)
    names = ", ".join(inset.name for inset in insets)
    codes = {inset.code for inset in insets}
    published = bool(set(view.qpv["region"].astype(str)) & codes) or bool(
        set(view.sites_in()["region"].astype(str)) & codes)
    note = t("public.map.coverage", lang, territories=names)
    return note if published else f"{note} {t('public.map.overseas_none', lang)}"


def _chart_svg(series: pd.DataFrame, lang: str) -> str:
    width, height = CHART_SIZE
    if series.empty:
        return f"<p>{_e(t('public.no_release', lang))}</p>"
    left, right, top, bottom = 56, 56, 14, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    bars = series["households"].astype(float).to_numpy()
    cumulative = series["cumulative"].astype(float).to_numpy()
    bar_max, cum_max = max(bars.max(), 1.0), max(cumulative.max(), 1.0)
    step = plot_w / len(series)
    parts = [f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#9ca3af"/>']
    points = []
    for i, (label, value, cum) in enumerate(zip(series["label"], bars, cumulative, strict=True)):
        h = plot_h * value / bar_max
        x = left + i * step + step * 0.15
        parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
                     f'fill="{html_map.SHARE_COLOURS[2]}"><title>{_e(colon(label, lang))} '
                     f'{format_number(value, lang)}</title></rect>')
        parts.append(f'<text x="{left + (i + 0.5) * step:.1f}" y="{height - bottom + 16}" font-size="10" '
                     f'text-anchor="middle">{_e(label)}</text>')
        points.append(f"{left + (i + 0.5) * step:.1f},{top + plot_h - plot_h * cum / cum_max:.1f}")
    parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{html_map.SITE_COLOUR}" '
                 'stroke-width="2"/>')
    parts.append(f'<text x="4" y="{top + 8}" font-size="10" class="hh">{_e(format_number(bar_max, lang))}</text>')
    parts.append(f'<text x="{width - 4}" y="{top + 8}" font-size="10" text-anchor="end" class="hh" '
                 f'fill="{html_map.SITE_COLOUR}">{_e(format_number(cum_max, lang))}</text>')
    legend = (f'<text x="{left}" y="{height - 6}" font-size="11" fill="{html_map.SHARE_COLOURS[3]}">■ '
              f'{_e(t("public.chart.bars", lang))}</text><text x="{left + plot_w}" y="{height - 6}" font-size="11" '
              f'text-anchor="end" fill="{html_map.SITE_COLOUR}">— {_e(t("public.chart.line", lang))}</text>')
    title = _e(t("public.chart.title", lang))
    return (f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{title}" '
            f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}{legend}</svg>')


def _kpi(value: str, label: str, definition: str, *, households: bool = False) -> str:
    """A key figure; household counts carry the class ``hh`` (the figures the 11-household rule covers)."""
    cls = ' class="hh"' if households else ""
    return f'<div class="kpi"><b{cls}>{_e(value)}</b>{_e(label)}<div class="def">{_e(definition)}</div></div>'


def _regions_table(view: FunderView, lang: str) -> str:
    frame = view.regions()
    rows = "".join(
        f"<tr><td>{_e(r.region_name)}</td><td class='n hh'>{_e(format_number(_num(r.households), lang))}</td>"
        f"<td class='n'>{_e(format_number(r.qpv_active, lang))}</td>"
        f"<td class='n'>{_e(_share(r.reach_share, lang))}</td></tr>"
        for r in frame.itertuples(index=False))
    head = "".join(f"<th>{_e(t(k, lang))}</th>" for k in ("public.col.region", "public.col.households",
                                                        "public.col.qpv", "public.col.reach"))
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'


def _num(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _share(value: object, lang: str) -> str:
    return format_percent(None if value is None or pd.isna(value) else round(100 * float(value), 1), lang,
                          decimals=1)


def render(view: FunderView, *, outlines: Sequence[str] = (), insets: Sequence[Inset] = (), lang: str = "fr") -> str:
    """The public page of ``view`` in ``lang`` (a complete HTML document); ``insets``: the overseas
    territories drawn under the metropolitan map (:func:`app.public.insets.overseas_insets`)."""
    lang = normalise_lang(lang)
    figures = view.figures
    series = figures.series((), lang=lang)
    total, doors = figures.total(()), figures.doors_total(())
    kpis = "".join([
        _kpi(format_number(total, lang), t("impact.kpi.households", lang), t("impact.def.households", lang),
             households=True),
        *([_kpi(format_number(doors, lang), t("impact.kpi.doors", lang), t("impact.def.doors", lang),
                households=True)] if doors is not None else []),
        _kpi(format_number(len(view.qpv), lang), t("impact.kpi.qpv", lang), t("impact.def.qpv", lang)),
        _kpi(_share(view.reach_share(), lang), t("impact.kpi.reach", lang), t("impact.def.reach", lang)),
        _kpi(format_number(len(view.sites_in()), lang), t("public.kpi.sites", lang), t("public.def.sites", lang)),
    ])
    notes = "".join(f"<li>{_e(n)}</li>" for n in figures.notes((), lang=lang))
    other = "en" if lang == "fr" else "fr"
    body = f"""<main>
<h1>{_e(t("public.title", lang))}</h1>
<p class="caption">{_e(figures.caption(lang))} · <a href="?lang={other}">{other.upper()}</a></p>
<p>{_e(t("public.intro", lang))}</p>
<section class="kpis" aria-label="{_e(t('public.kpis', lang))}">{kpis}</section>
<div class="cols">
<section><h2>{_e(t("public.map.title", lang))}</h2>{_map_svg(view, outlines, insets, lang)}
<p class="note">{_e(t("public.map.note", lang))}</p>
<p class="note" id="map-coverage">{_e(coverage_note(view, insets, lang))}</p></section>
<section><h2>{_e(t("public.chart.title", lang))}</h2>{_chart_svg(series, lang)}
<ul class="note">{notes}</ul></section>
</div>
<section><h2>{_e(t("impact.regions", lang))}</h2>{_regions_table(view, lang)}</section>
<p class="note">{_e(privacy.NOTE[lang])} {_e(t("public.protection", lang))}</p>
<p class="note">{_e(html_map.ATTRIBUTION[lang])}</p>
</main>"""
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(t('public.title', lang))}</title><style>{STYLE}</style></head><body>{body}</body></html>")
