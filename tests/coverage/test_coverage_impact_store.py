"""An import stores the Impact figures of its data version, in the process that imported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from coverage_helpers import visit_rows, write_csv

from geo.cli import main
from geo.coverage import impact_store, store
from geo.export import loaders


def _version(url: str) -> tuple[int, int]:
    engine = store.open_store(url)
    try:
        return store.data_version(engine)
    finally:
        engine.dispose()


def test_cli_import_stores_the_figures_of_its_version(tmp_path: Path, processed_dir: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    root = tmp_path / "impact"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("VOISINMAP_GEOCODER_URL", "http://127.0.0.1:9")
    monkeypatch.setenv(impact_store.ENV_FIGURES_DIR, str(root))
    runner = CliRunner()
    path = write_csv(tmp_path / "v.csv", visit_rows(40))
    result = runner.invoke(main, ["coverage", "import", str(path), "--json", "--data-dir", str(processed_dir)],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["imported"] == 40
    first = impact_store.version_folder(root, store_url=url, version=_version(url), data_dir=processed_dir)
    stored = impact_store.load_figures(first)
    assert stored is not None
    live = loaders.impact_report(db=url, data_dir=processed_dir)
    assert stored.report.national() == live.national()
    assert stored.report.period == live.period
    assert not list(root.glob("*.pending"))
    # the same file again changes nothing: no new version, no new folder
    runner.invoke(main, ["coverage", "import", str(path), "--data-dir", str(processed_dir)], catch_exceptions=False)
    assert sorted(p.name for p in root.iterdir()) == [first.name]
    # new visits: a new version, stored next to the former one
    more = write_csv(tmp_path / "w.csv", visit_rows(30, start=40))
    runner.invoke(main, ["coverage", "import", str(more), "--data-dir", str(processed_dir)], catch_exceptions=False)
    second = impact_store.version_folder(root, store_url=url, version=_version(url), data_dir=processed_dir)
    assert second != first and (second / "meta.json").is_file() and first.is_dir()
    assert impact_store.load_figures(second).report.national()["households"] >= stored.report.national()["households"]


def test_no_national_data_stores_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    store.open_store(url).dispose()
    assert impact_store.compute_and_store(db=url, data_dir=tmp_path / "nowhere", root=tmp_path / "impact") is None
    assert not list((tmp_path / "impact").glob("*"))
