"""Loopback load test of the served app, before (Flask's development server, one process, every callback
computed: ``VOISINMAP_CALLBACK_CACHE=0``) and after (``voisinmap serve``: gunicorn, preloaded workers with
threads, callback answers from the shared cache), side by side.

    .venv/bin/python bench/bench_load.py                     # 10 then 30 users, 30 s each, both servers
    .venv/bin/python bench/bench_load.py --quick             # 5 users, 5 s: checks that the bench works
    .venv/bin/python bench/bench_load.py --users 30 --duration 60 --configs after
    .venv/bin/python bench/bench_load.py --quick --mix recommend terrain   # only some kinds of request

Everything runs on 127.0.0.1 in a temporary folder: an accounts and door store database (one ``admin``
account created with ``voisinmap users add``, the fictitious demo door history from ``voisinmap demo``),
the processed national data of the checkout (``voisinmap data build`` first). Each simulated user signs in
through the real form, then sends, one after the other until the duration or the request bound is
reached, a mix of: the Stratégie page, the recommendation callback (k from 5 to 25), the Impact callback
(France, then three régions) and the two Terrain callbacks (three demo sites).

Each configuration starts on its own empty shared cache (``VOISINMAP_APP_CACHE_DIR``), so neither
profits from the other's results. Printed per configuration and user count: requests/s, p50/p95 latency
(all requests and per kind), the share of callback answers served from the shared cache, errors, cold
start (process start to the first served ``/login`` page) on an empty cache and again on a restart
over the same data (the shared cache kept, as after a deployment), and the memory of every server
process read from ``/proc/<pid>/smaps_rollup`` at the end of the run: RSS, PSS (shared pages divided
among the processes sharing them) and USS (pages of that process alone). The shared part of a worker is
RSS − USS. Goals (issue 14): 30 users, p95 ≤ 1 s, no error, ≥ 10× the requests/s of before; cold start
≤ 5 s. Nothing here is a timed assertion; ``tests/app/test_serve_bench.py`` only checks that it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
BENCH_USER = "bench-admin"
GOAL_P95_S = 1.0
GOAL_SPEEDUP = 10.0
GOAL_COLD_START_S = 5.0
#: The two configurations: extra ``voisinmap serve`` arguments, and environment.
CONFIGS: dict[str, list[str]] = {"before": ["--server", "flask"], "after": []}
CONFIG_ENV: dict[str, dict[str, str]] = {"before": {"VOISINMAP_CALLBACK_CACHE": "0"}, "after": {}}
#: The issue's « today »: about 5 requests/s; the goal is ten times that.
TODAY_RATE = 5.0
KINDS = ("page", "recommend", "impact", "terrain")
#: Response header of the answers the shared cache knows (:data:`app.callback_cache.HIT_HEADER`).
HIT_HEADER = "X-Voisinmap-Cache"


# --------------------------------------------------------------------------------------- HTTP client
class Reply:
    """A ``requests`` response with the surface of Flask's test response the session helpers read."""

    def __init__(self, response: requests.Response) -> None:
        self.status_code = response.status_code
        self.data = response.content
        self.headers = response.headers

    def get_json(self) -> Any:
        """The JSON body."""
        import json

        return json.loads(self.data)


class HttpClient:
    """One signed-in browser over real HTTP, usable by :mod:`tests.plugins.app_session` (``get``/``post``).

    ``/_dash-dependencies`` is fetched once and kept, as a browser does: the measured requests are the
    pages and callbacks themselves.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self._dependencies: Reply | None = None
        self.last: Reply | None = None

    def get(self, path: str, **kwargs: Any) -> Reply:
        """GET ``path`` (no redirect followed)."""
        if path == "/_dash-dependencies" and self._dependencies is not None:
            return self._dependencies
        reply = Reply(self.session.get(self.base_url + path, allow_redirects=False, timeout=120, **kwargs))
        if path == "/_dash-dependencies" and reply.status_code == 200:
            self._dependencies = reply
        return reply

    def post(self, path: str, **kwargs: Any) -> Reply:
        """POST ``path`` (``json=`` or ``data=``; no redirect followed); the reply is kept in ``last``."""
        self.last = Reply(self.session.post(self.base_url + path, allow_redirects=False, timeout=120, **kwargs))
        return self.last


# --------------------------------------------------------------------------------------- set-up
def voisinmap(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    """Run the ``voisinmap`` command line of this checkout; returns its output (raises on failure)."""
    command = [sys.executable, "-c", "from geo.cli import main; main()", *args]
    done = subprocess.run(command, env=env, input=stdin, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"voisinmap {args[0]} failed: {done.stderr[-2000:]}")
    return done.stdout


def prepare(folder: Path, *, data_dir: str | None) -> tuple[dict[str, str], str]:
    """Environment of the servers (temporary database with the demo history and one admin account)."""
    password = secrets.token_urlsafe(18)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{folder / 'voisinmap.db'}",
           "VOISINMAP_TILES_URL": "none", "VOISINMAP_SECRET_KEY": secrets.token_hex(32),
           "VOISINMAP_COOKIE_SECURE": "0"}  # plain HTTP on loopback
    for name in ("VOISINMAP_ENV", "VOISINMAP_CACHE_URL", "VOISINMAP_REDIS_URL"):
        env.pop(name, None)
    if data_dir:
        env["VOISINMAP_DATA_DIR"] = data_dir
    voisinmap("users", "add", BENCH_USER, "--role", "admin", env=env, stdin=password + "\n")
    voisinmap("demo", env=env)
    return env, password


@dataclasses.dataclass
class Running:
    """A server started for the bench."""

    proc: subprocess.Popen
    url: str
    cold_start_s: float


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def server(config: str, env: dict[str, str], *, extra: list[str], timeout: float = 180) -> Iterator[Running]:
    """Start ``voisinmap serve`` in configuration ``config`` on 127.0.0.1; time it to the first ``/login``."""
    port = free_port()
    command = [sys.executable, "-c", "from geo.cli import main; main()", "serve", "--host", HOST,
               "--port", str(port), *CONFIGS[config], *(extra if config == "after" else [])]
    with tempfile.TemporaryFile() as log:
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield Running(proc, f"http://{HOST}:{port}", _wait_for_login(proc, port, log, start, timeout=timeout))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_for_login(proc: subprocess.Popen, port: int, log: Any, start: float, *, timeout: float) -> float:
    """Seconds from ``start`` to the first ``200`` on ``/login``."""
    while True:
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"http://{HOST}:{port}/login", timeout=5).status_code == 200:
                return time.perf_counter() - start
        if proc.poll() is not None or time.perf_counter() - start > timeout:
            log.seek(0)
            raise RuntimeError(f"the server did not start: {log.read().decode()[-3000:]}")
        time.sleep(0.05)


# --------------------------------------------------------------------------------------- requests
def recommend_inputs(k: int) -> dict[str, Any]:
    """Inputs of the recommendation callback: the page's default scenario with ``k`` sites, map drawn."""
    from app.pages._strategie_plan import CONTROL_INPUTS
    from app.scenario_params import Scenario

    scen = Scenario(k=k)
    weights = dict(scen.weights)
    values = {"strategie-mode": scen.mode, "strategie-k": scen.k, "strategie-cities": scen.cities,
              "strategie-regions": scen.regions, "strategie-capacity": scen.capacity, "strategie-pace": scen.pace,
              "strategie-radius": scen.radius_km, "strategie-target": scen.target_pct,
              **{f"strategie-w-{key}": weights.get(key, 0.0) for key in weights},
              "strategie-main6": [], "strategie-max-per-region": None, "strategie-quota-regions": []}
    inputs = {f"{ident}.{prop}": values.get(ident) for ident, prop in CONTROL_INPUTS}
    return {**inputs, "strategie-sites.data": None, "strategie-map-ready.data": True}


#: State of the recommendation callback: the robustness marks already shown (none).
RECOMMEND_STATE: dict[str, Any] = {"strategie-robust.data": None}


def terrain_inputs(site: str, *, view: bool) -> dict[str, Any]:
    """Inputs of the Terrain summary (``view`` False) or map (``view`` True) callback for ``site``."""
    inputs = {"terrain-site.value": site, "terrain-campaigns.value": None, "terrain-dates.start_date": None,
              "terrain-dates.end_date": None, "terrain-absent.value": [], "terrain-version.data": None}
    if view:
        inputs.update({"terrain-outcomes.value": [], "terrain-map.bounds": None, "terrain-map.zoom": 14})
    return inputs


def request_mix() -> list[tuple[str, Callable[[HttpClient], bool]]]:
    """The cycle of requests each user sends: ``(kind, send)``; ``send`` returns whether it succeeded."""
    from tests.plugins.app_session import call_callback

    def callback(output: str, inputs: dict[str, Any], state: dict[str, Any] | None = None) -> Callable[[HttpClient], bool]:
        def send(client: HttpClient) -> bool:
            return isinstance(call_callback(client, output, inputs=inputs, state=state), dict)
        return send

    def page(client: HttpClient) -> bool:
        return client.get("/").status_code == 200

    mix: list[tuple[str, Callable[[HttpClient], bool]]] = []
    regions = ("*", "11", "84", "32")
    sites = ("91286", "59350", "75119")
    for step, k in enumerate((5, 10, 15, 20, 25)):
        mix.append(("page", page))
        mix.append(("recommend", callback("strategie-results.children", recommend_inputs(k), RECOMMEND_STATE)))
        mix.append(("impact", callback("impact-kpis.children", {"impact-region.value": regions[step % 4]})))
        site = sites[step % 3]
        mix.append(("terrain", callback("terrain-kpis.children", terrain_inputs(site, view=False))))
        mix.append(("terrain", callback("terrain-cells.data", terrain_inputs(site, view=True))))
    return mix


def sign_in_users(url: str, n: int, password: str) -> list[HttpClient]:
    """``n`` browsers signed in through the real form, each with its own session."""
    from tests.plugins.app_session import sign_in

    clients = []
    for _ in range(n):
        client = HttpClient(url)
        response = sign_in(client, BENCH_USER, password)
        if response.status_code != 303:
            raise RuntimeError(f"sign-in: expected 303, got {response.status_code}")
        client.get("/_dash-dependencies")
        clients.append(client)
    return clients


@dataclasses.dataclass
class Sample:
    kind: str
    seconds: float
    ok: bool
    hit: bool | None = None  # callback answered from the shared cache (None: not a cached callback)


def drive(clients: list[HttpClient], *, duration: float, max_requests: int,
          kinds: tuple[str, ...] = KINDS) -> tuple[list[Sample], float]:
    """Every client sends the mix (its requests of ``kinds``) in a loop (its own thread) until ``duration`` s
    or ``max_requests``."""
    mix = [(kind, send) for kind, send in request_mix() if kind in kinds]
    samples: list[Sample] = []
    lock = threading.Lock()
    budget = itertools.count()
    start = time.perf_counter()
    deadline = start + duration

    def user(index: int) -> None:
        client = clients[index]
        for kind, send in itertools.islice(itertools.cycle(mix), index, None):
            if time.perf_counter() >= deadline or next(budget) >= max_requests:
                return
            t0 = time.perf_counter()
            client.last = None
            try:
                ok = send(client)
            except (requests.RequestException, ValueError):
                ok = False
            elapsed = time.perf_counter() - t0
            state = client.last.headers.get(HIT_HEADER) if client.last is not None else None
            with lock:
                samples.append(Sample(kind, elapsed, ok, None if state is None else state == "hit"))

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, time.perf_counter() - start


# --------------------------------------------------------------------------------------- memory
def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from ``/proc``)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def smaps(pid: int) -> dict[str, int]:
    """RSS, PSS and USS (private clean + dirty) of ``pid`` in KiB, from ``/proc/<pid>/smaps_rollup``."""
    fields: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            name, _, rest = line.partition(":")
            fields[name] = int(rest.split()[0])
    return {"rss": fields.get("Rss", 0), "pss": fields.get("Pss", 0),
            "uss": fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)}


def memory(pid: int) -> list[dict[str, int]]:
    """Memory of the server's processes: the first is the one started (the gunicorn master)."""
    return [{"pid": p, **smaps(p)} for p in process_tree(pid)]


# --------------------------------------------------------------------------------------- report
@dataclasses.dataclass
class Result:
    config: str
    users: int
    cold_start_s: float
    elapsed_s: float
    samples: list[Sample]
    memory: list[dict[str, int]]
    restart_s: float | None = None

    def hit_share(self) -> str:
        cached = [s.hit for s in self.samples if s.hit is not None]
        return f"{100 * sum(cached) / len(cached):.0f} % of {len(cached)}" if cached else "-"

    def rate(self) -> float:
        return len(self.samples) / self.elapsed_s if self.elapsed_s else 0.0

    def percentile(self, q: float, kind: str | None = None) -> float:
        values = sorted(s.seconds for s in self.samples if kind is None or s.kind == kind)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, round(q * (len(values) - 1)))]

    def errors(self) -> int:
        return sum(not s.ok for s in self.samples)


def mib(kib: float) -> str:
    return f"{kib / 1024:,.0f}"


def rows(result: Result) -> list[tuple[str, str]]:
    """The printed lines of one run: (label, value)."""
    out = [("requests/s", f"{result.rate():.1f}"), ("requests", f"{len(result.samples)}"),
           ("errors", f"{result.errors()}"),
           ("p50 / p95, s", f"{result.percentile(0.5):.2f} / {result.percentile(0.95):.2f}")]
    out += [(f"  {kind} p50 / p95, s", f"{result.percentile(0.5, kind):.2f} / {result.percentile(0.95, kind):.2f}")
            for kind in KINDS]
    out.append(("cached callback answers (hits)", result.hit_share()))
    out.append(("cold start to /login, s", f"{result.cold_start_s:.1f}"))
    out.append(("  restart, shared cache kept, s", "-" if result.restart_s is None else f"{result.restart_s:.1f}"))
    procs = result.memory
    workers = procs[1:] or procs
    out.append(("processes (master + workers)", f"{len(procs)}"))
    out.append(("RSS per worker, MiB", " ".join(mib(p["rss"]) for p in workers)))
    out.append(("USS per worker (own), MiB", " ".join(mib(p["uss"]) for p in workers)))
    out.append(("shared per worker (RSS-USS), MiB", " ".join(mib(p["rss"] - p["uss"]) for p in workers)))
    out.append(("PSS total, all processes, MiB", mib(sum(p["pss"] for p in procs))))
    return out


def print_side_by_side(results: list[Result]) -> None:
    """One column per run, one line per measure."""
    headers = [f"{r.config} ({r.users} users)" for r in results]
    table = [rows(r) for r in results]
    width = max(len(label) for label, _ in table[0]) + 2
    col = max(22, *(len(h) + 2 for h in headers))
    print(f"{'':<{width}}" + "".join(f"{h:>{col}}" for h in headers))
    for i, (label, _) in enumerate(table[0]):
        print(f"{label:<{width}}" + "".join(f"{t[i][1]:>{col}}" for t in table))
    for users in sorted({r.users for r in results}):
        pair = {r.config: r for r in results if r.users == users}
        if {"before", "after"} <= pair.keys() and pair["before"].rate():
            after = pair["after"]
            speedup = after.rate() / pair["before"].rate()
            restart = "-" if after.restart_s is None else f"{after.restart_s:.1f}"
            print(f"{users} users: after/before requests/s {speedup:.1f}x; after {after.rate():.1f} requests/s "
                  f"(goal >= {GOAL_SPEEDUP * TODAY_RATE:.0f}, {GOAL_SPEEDUP:.0f}x the issue's ~{TODAY_RATE:.0f}); "
                  f"after p95 {after.percentile(0.95):.2f} s (goal <= {GOAL_P95_S:.1f} s); "
                  f"errors {after.errors()}; cold start {after.cold_start_s:.1f} s, restart {restart} s "
                  f"(goal <= {GOAL_COLD_START_S:.0f} s)")


def run(config: str, env: dict[str, str], password: str, *, users: list[int], duration: float,
        max_requests: int, extra: list[str], folder: Path, kinds: tuple[str, ...] = KINDS) -> list[Result]:
    """All user counts on one fresh server of configuration ``config`` (its own empty shared cache), then
    the time of a restart on the same data with the shared cache kept."""
    results = []
    env = {**env, **CONFIG_ENV[config],
           "VOISINMAP_APP_CACHE_DIR": tempfile.mkdtemp(prefix=f"cache-{config}-", dir=folder)}
    with server(config, env, extra=extra) as running:
        for n in users:
            clients = sign_in_users(running.url, n, password)
            samples, elapsed = drive(clients, duration=duration, max_requests=max_requests, kinds=kinds)
            results.append(Result(config, n, running.cold_start_s, elapsed, samples, memory(running.proc.pid)))
            print(f"  {config}, {n} users: {len(samples)} requests in {elapsed:.1f} s", flush=True)
    with server(config, env, extra=extra) as running:
        for result in results:
            result.restart_s = running.cold_start_s
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[10, 30], help="simulated users (default 10 30)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per user count (default 30)")
    parser.add_argument("--max-requests", type=int, default=20000, help="bound per user count (default 20000)")
    parser.add_argument("--quick", action="store_true", help="5 users for 5 s: check that the bench works")
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers of 'after'")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker of 'after'")
    parser.add_argument("--data-dir", default=None, help="processed data folder (default: the project's)")
    parser.add_argument("--mix", nargs="+", choices=KINDS, default=list(KINDS),
                        help="kinds of request in the mix (default: all)")
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.duration = [5], 5.0
    if min(args.users) < 1 or args.duration <= 0 or args.max_requests < 1:
        parser.error("--users, --duration and --max-requests must be positive")
    extra = [*(["--workers", str(args.workers)] if args.workers else []),
             *(["--threads", str(args.threads)] if args.threads else [])]
    with tempfile.TemporaryDirectory(prefix="voisinmap-load-") as tmp:
        env, password = prepare(Path(tmp), data_dir=args.data_dir)
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"Loopback load test on {os.cpu_count()} CPUs (load average {load}): users {args.users}, "
              f"{args.duration:.0f} s each, at most {args.max_requests} requests, mix {' '.join(args.mix)}", flush=True)
        results = []
        for config in args.configs:
            results += run(config, env, password, users=args.users, duration=args.duration,
                           max_requests=args.max_requests, extra=extra, folder=Path(tmp),
                           kinds=tuple(args.mix))
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    print_side_by_side(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
