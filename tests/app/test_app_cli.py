"""``voisinmap serve`` and the WSGI entry point."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from geo.cli import main


def test_serve_refuses_a_folder_without_data(tmp_path):
    result = CliRunner().invoke(main, ["serve", "--data-dir", str(tmp_path), "--port", "8123"])
    assert result.exit_code == 1
    assert "run `voisinmap data build` first" in result.output
    assert "qpv.parquet" in result.output


def test_serve_help_names_host_and_port():
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--host" in result.output and "--port" in result.output


@pytest.mark.slow
def test_serve_answers_on_the_given_port(processed_dir, tmp_path):
    from tests.plugins.browser import free_port

    port = free_port()
    env = {**os.environ, "VOISINMAP_TILES_URL": "none", "DATABASE_URL": f"sqlite:///{tmp_path / 'v.db'}"}
    exe = Path(sys.executable).parent / "voisinmap"
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--data-dir",
                             str(processed_dir)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as r:
                    assert r.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.5)
        # signed out, the served app refuses the data layer and sends pages to the log-in form
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_voisinmap/layers/qpv.pbf", timeout=5)
        assert refused.value.code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=20)
