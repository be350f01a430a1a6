"""Helpers of the door-coverage tests: valid rows, CSV writing, a local address API server."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

import pandas as pd

from geo.coverage import schema

#: The day the tests consider "today" (visit dates after it are refused).
TODAY = dt.date(2026, 11, 21)


def visit_rows(n: int, *, campaign: str = "Test 2025", site: str = "91286", start: int = 0,
               lon: float = 2.375, lat: float = 48.652, outcome: str = "ouvert") -> pd.DataFrame:
    """``n`` distinct valid rows (one door each) in the schema's columns, as strings."""
    idx = range(start, start + n)
    return pd.DataFrame({
        "campagne": campaign, "site": site,
        "date": [f"2025-{1 + (i // 28) % 12:02d}-{1 + i % 28:02d}" for i in idx],
        "heure": [f"{17 + (i % 3)}:{i % 60:02d}" for i in idx],
        "latitude": [f"{lat + (i % 50) * 1e-4:.6f}" for i in idx],
        "longitude": [f"{lon + (i // 50 % 50) * 1e-4:.6f}" for i in idx],
        "batiment": [f"B{i // 40:04d}" for i in idx],
        "porte": [f"A{(i // 4) % 10:02d}-{i % 4 + 1:02d}-n{i}" for i in idx],
        "resultat": outcome, "langue": "français", "sujets": "eau|énergie",
        "voisin": [f"V{i % 12:03d}" for i in idx],
    })


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    """A one-sheet workbook holding ``rows``."""
    import io

    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_csv(path: Path, frame: pd.DataFrame, *, sep: str = ";", encoding: str = "utf-8") -> Path:
    """Write rows as a CSV file with the given separator and encoding."""
    frame.to_csv(path, sep=sep, index=False, encoding=encoding)
    return path


# ------------------------------------------------------------------ a local address API (CSV endpoint)
RESULT_FIELDS = ("latitude", "longitude", "result_label", "result_score", "result_score_next", "result_type",
                 "result_id", "result_housenumber", "result_name", "result_street", "result_postcode",
                 "result_city", "result_context", "result_citycode", "result_oldcitycode", "result_oldcity",
                 "result_district", "result_status")

#: Addresses the local server knows: normalised query -> (lat, lon, score, type, citycode, label).
ADDRESS_BOOK: dict[str, tuple[float, float, float, str, str, str]] = {
    "12 avenue des tuileries 91350 grigny": (48.6531, 2.3742, 0.93, "housenumber", "91286",
                                             "12 Avenue des Tuileries 91350 Grigny"),
    "3 rue du minotaure 91350 grigny": (48.6505, 2.3765, 0.88, "housenumber", "91286",
                                        "3 Rue du Minotaure 91350 Grigny"),
    "1 place de la mairie 91130 ris orangis": (48.6531, 2.4146, 0.61, "street", "91521",
                                               "Place de la Mairie 91130 Ris-Orangis"),
    "7 rue inventee 91350 grigny": (48.70, 2.40, 0.31, "street", "91286", "Rue Inventée 91350 Grigny"),
}


def _normalise_query(text: str) -> str:
    return " ".join(schema.normalise_header(text).split("_"))


class AddressServer:
    """Answers ``POST /search/csv/`` like api-adresse.data.gouv.fr; ``mode`` changes its behaviour.

    Modes: ``ok``; ``error`` (HTTP 500); ``flaky`` (500 for the first ``failures`` requests, then ok);
    ``slow`` (waits ``delay`` seconds); ``bad_request`` (HTTP 400); ``garbled`` (an HTML page).
    """

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.mode = "ok"
        self.failures = 0
        self.delay = 0.0
        self.requests = 0
        self.rows_received = 0
        self.forms: list[dict[str, list[str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                server.requests += 1
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if self.path.rstrip("/") != "/search/csv":
                    return self._send(404, b"not found", "text/plain")
                if server.mode == "slow":
                    import time

                    time.sleep(server.delay)
                if server.mode == "error" or (server.mode == "flaky" and server.requests <= server.failures):
                    return self._send(500, b"Internal Server Error", "text/plain")
                if server.mode == "bad_request":
                    return self._send(400, b'{"code":400,"message":"columns: column not found"}',
                                      "application/json")
                if server.mode == "garbled":
                    return self._send(200, b"<html>maintenance</html>", "text/html")
                form, data = _parse_multipart(self.headers.get("Content-Type", ""), body)
                server.forms.append(form)
                try:
                    out = _answer(form, data)
                except (KeyError, ValueError) as exc:
                    return self._send(400, str(exc).encode(), "text/plain")
                server.rows_received += out.count("\n") - 1
                self._send(200, out.encode("utf-8"), "text/csv; charset=utf-8")

            def _send(self, status: int, payload: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, list[str]], bytes]:
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    form: dict[str, list[str]] = {}
    data = b""
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if name == "data":
            data = payload
        else:
            form.setdefault(name, []).append(payload.decode("utf-8"))
    return form, data


def _answer(form: dict[str, list[str]], data: bytes) -> str:
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    columns = form.get("columns") or []
    for col in columns:
        if rows and col not in rows[0]:
            raise KeyError(f"columns: column {col} not found")
    wanted = form.get("result_columns") or list(RESULT_FIELDS)
    buffer = io.StringIO()
    names = list(rows[0].keys()) if rows else ["id"]
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names + wanted)
    for row in rows:
        query = _normalise_query(" ".join(row[c] for c in columns))
        hit = ADDRESS_BOOK.get(query)
        result = dict.fromkeys(RESULT_FIELDS, "")
        if hit:
            lat, lon, score, rtype, citycode, label = hit
            result.update(latitude=f"{lat}", longitude=f"{lon}", result_score=f"{score}", result_type=rtype,
                          result_citycode=citycode, result_label=label, result_status="ok")
        else:
            result["result_status"] = "not-found"
        writer.writerow([row[n] for n in names] + [result[w] for w in wanted])
    return buffer.getvalue()


