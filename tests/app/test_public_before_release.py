"""The public page works before the first release: figures say so, nothing breaks."""

from __future__ import annotations

import pandas as pd

from app.public import page
from app.public.funder_view import build_view
from geo.coverage.release_figures import ReleaseFigures


def _no_release() -> ReleaseFigures:
    return ReleaseFigures(None, pd.DataFrame(columns=["code", "start_date", "end_date", "households", "reason",
                                                      "version"]))


def test_an_empty_release_view_keeps_its_columns(tmp_path) -> None:
    view = build_view(_no_release(), data_dir=str(tmp_path))
    assert {"lon", "lat", "site_name"} <= set(view.sites_in().columns)
    assert view.sites_in().empty


def test_the_public_page_renders_before_the_first_release(tmp_path) -> None:
    view = build_view(_no_release(), data_dir=str(tmp_path))
    for lang in ("fr", "en"):
        html = page.render(view, outlines=(), lang=lang)
        assert html.startswith("<!DOCTYPE html>") or html.lstrip().lower().startswith("<!doctype html>")
        assert "<svg" in html
