"""The web process reads the Impact figures an import stored, and falls back to building them otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dash
import flask
import pytest

from app import data, settings
from app.components import impact_stored
from geo.coverage import impact_store
from geo.coverage.importer import import_frame
from geo.coverage.store import open_store
from tests.coverage.coverage_helpers import visit_rows


@pytest.fixture
def app_on_store(dash_app: dash.Dash, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[flask.Flask]:
    """The app on a store of 60 visits of one site, its figures stored in a folder of this test."""
    monkeypatch.setenv(impact_store.ENV_FIGURES_DIR, str(tmp_path / "impact"))
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = open_store(url)
    import_frame(visit_rows(60), name="test", engine=engine)
    engine.dispose()
    server = dash_app.server
    previous = server.config.get(settings.STORE_URL_KEY)
    server.config[settings.STORE_URL_KEY] = url
    try:
        yield server
    finally:
        server.config[settings.STORE_URL_KEY] = previous


def test_the_page_reads_what_the_import_stored(app_on_store: flask.Flask) -> None:
    from app.pages import impact as page

    with app_on_store.test_request_context("/impact"):
        built = data.current_report(scope=None)  # what the page builds when nothing is stored
        folder = impact_store.compute_and_store(db=settings.store_url(), data_dir=settings.data_dir())
        assert folder == impact_stored.current_folder()
        stored = impact_stored.stored_figures()
        assert stored is not None and impact_stored.stored_figures() is stored  # read once per version
        assert page.current_report() is stored.report
        assert stored.report.national() == built.national()
        topics, languages = page.themes_for(None)
        assert topics is stored.topics and set(topics["value"]) == {"eau", "énergie"}
        assert languages["value"].tolist() == ["français"]


def test_a_manager_scope_is_never_read_from_the_stored_figures(app_on_store: flask.Flask) -> None:
    from app.pages import impact as page

    with app_on_store.test_request_context("/impact"):
        impact_store.compute_and_store(db=settings.store_url(), data_dir=settings.data_dir())
        stored = impact_stored.stored_figures()
        assert stored is not None
        topics, _ = page.themes_for(("59350",))  # another site: nothing of the stored figures
        assert topics.empty
