"""The download path, for real, against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from geo import _http, sources

BODY = b"code_qp,lib_qp\nQN00101M,Grande Reyssouze\n" * 200
BODY_SHA = hashlib.sha256(BODY).hexdigest()


class Handler(BaseHTTPRequestHandler):
    hits: dict[str, int] = {}

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        Handler.hits[self.path] = Handler.hits.get(self.path, 0) + 1
        if self.path == "/ok.csv":
            self._send(200, BODY)
        elif self.path == "/missing.csv":
            self._send(404, b"not found")
        elif self.path == "/slow.csv":
            time.sleep(1.5)
            self._send(200, BODY)
        elif self.path == "/truncated.csv":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY[: len(BODY) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif self.path == "/flaky.csv":
            if Handler.hits[self.path] == 1:
                self._send(503, b"busy")
            else:
                self._send(200, BODY)
        else:
            self._send(404, b"?")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that gave up (time-out tests) break the pipe: expected


@pytest.fixture(scope="module")
def server() -> str:
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def test_download_success_writes_verified_file(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "sub" / "ok.csv"
    out = _http.download(f"{server}/ok.csv", dest, sha256=BODY_SHA, progress=False)
    assert out == dest
    assert dest.read_bytes() == BODY
    assert leftovers(tmp_path) == ["ok.csv"]


def test_download_404_is_final_and_leaves_nothing(server: str, tmp_path: Path) -> None:
    Handler.hits.pop("/missing.csv", None)
    with pytest.raises(_http.DownloadError, match="HTTP 404"):
        _http.download(f"{server}/missing.csv", tmp_path / "m.csv", retries=3, backoff=0.01, progress=False)
    assert Handler.hits["/missing.csv"] == 1  # a 404 is not retried
    assert leftovers(tmp_path) == []


def test_download_timeout_retries_then_fails(server: str, tmp_path: Path) -> None:
    Handler.hits.pop("/slow.csv", None)
    with pytest.raises(_http.DownloadError, match="failed after 2 attempts"):
        _http.download(f"{server}/slow.csv", tmp_path / "s.csv", timeout=0.3, retries=1, backoff=0.01, progress=False)
    assert Handler.hits["/slow.csv"] == 2
    assert leftovers(tmp_path) == []


def test_download_truncated_body_never_enters_destination(server: str, tmp_path: Path) -> None:
    with pytest.raises(_http.DownloadError, match="truncated|failed after"):
        _http.download(f"{server}/truncated.csv", tmp_path / "t.csv", retries=1, backoff=0.01, progress=False)
    assert leftovers(tmp_path) == []


def test_download_wrong_hash_is_refused(server: str, tmp_path: Path) -> None:
    with pytest.raises(_http.DownloadError, match="SHA-256 mismatch"):
        _http.download(f"{server}/ok.csv", tmp_path / "h.csv", sha256="0" * 64, progress=False)
    assert leftovers(tmp_path) == []


def test_download_retries_a_server_error(server: str, tmp_path: Path) -> None:
    Handler.hits.pop("/flaky.csv", None)
    _http.download(f"{server}/flaky.csv", tmp_path / "f.csv", sha256=BODY_SHA, backoff=0.01, progress=False)
    assert Handler.hits["/flaky.csv"] == 2
    assert (tmp_path / "f.csv").read_bytes() == BODY


def test_download_rejects_negative_retries(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="retries: expected an integer >= 0, got -1"):
        _http.download("http://127.0.0.1:9/x", tmp_path / "x", retries=-1)


@pytest.fixture()
def fake_dataset(monkeypatch: pytest.MonkeyPatch) -> sources.Dataset:
    ds = sources.Dataset(
        "test_ds", "Jeu de test", "test", "http://127.0.0.1:9/never", "Licence Ouverte 2.0", "2024",
        "test/ok.csv", BODY_SHA,
    )
    monkeypatch.setitem(sources.REGISTRY, ds.name, ds)
    return ds


def test_resolve_order_mirror_then_cache_then_download(server: str, tmp_path: Path, fake_dataset: sources.Dataset) -> None:
    mirror, cache = tmp_path / "mirror", tmp_path / "cache"
    # nothing local: download into the cache
    res = sources.resolve("test_ds", mirror=mirror, cache=cache, url=f"{server}/ok.csv")
    assert res.origin == "download" and res.path == cache / "test/ok.csv"
    # now cached: no new request
    hits = Handler.hits.get("/ok.csv", 0)
    res = sources.resolve("test_ds", mirror=mirror, cache=cache, url=f"{server}/ok.csv")
    assert res.origin == "cache" and Handler.hits.get("/ok.csv", 0) == hits
    # a mirror copy wins over the cache
    (mirror / "test").mkdir(parents=True)
    (mirror / "test/ok.csv").write_bytes(BODY)
    assert sources.resolve("test_ds", mirror=mirror, cache=cache).origin == "mirror"


def test_resolve_verify_skips_a_corrupt_mirror_copy(tmp_path: Path, fake_dataset: sources.Dataset) -> None:
    mirror, cache = tmp_path / "mirror", tmp_path / "cache"
    (mirror / "test").mkdir(parents=True)
    (mirror / "test/ok.csv").write_bytes(b"corrupt")
    (cache / "test").mkdir(parents=True)
    (cache / "test/ok.csv").write_bytes(BODY)
    assert sources.resolve("test_ds", mirror=mirror, cache=cache, verify=True).origin == "cache"


def test_no_mirror_no_network_names_dataset_url_and_variable(tmp_path: Path, fake_dataset: sources.Dataset) -> None:
    with pytest.raises(sources.SourceUnavailableError) as err:
        sources.resolve("test_ds", mirror=tmp_path / "none", cache=tmp_path / "c", retries=0, timeout=0.5)
    msg = str(err.value)
    assert "test_ds" in msg and "http://127.0.0.1:9/never" in msg and "VOISINMAP_DATA_MIRROR" in msg
    assert not (tmp_path / "c" / "test" / "ok.csv").exists()


def test_no_download_allowed_is_a_clear_error(tmp_path: Path, fake_dataset: sources.Dataset) -> None:
    with pytest.raises(sources.SourceUnavailableError, match="not available locally"):
        sources.resolve("test_ds", mirror=tmp_path, cache=tmp_path, allow_download=False)


def test_unknown_dataset_name() -> None:
    with pytest.raises(KeyError, match="name: expected one of"):
        sources.get("nope")


def test_registry_matches_the_offline_mirror(mirror: Path) -> None:
    for name, ds in sources.REGISTRY.items():
        path = mirror / ds.path
        assert path.is_file(), name
        assert _http.sha256_file(path) == ds.sha256, name
        assert ds.url.startswith("https://"), name
        assert "Licence" in ds.licence
