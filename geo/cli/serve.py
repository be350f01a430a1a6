"""``voisinmap serve``: start the web app with a production server (gunicorn, or waitress).

By default the app runs under gunicorn (:mod:`app.server`, settings in :mod:`app.gunicorn_conf`):
several worker processes with threads, forked from a master that loaded the processed data and warmed
the caches once, before the socket opens. Where gunicorn cannot run (not POSIX, not installed) waitress
serves one process with threads. ``--dev`` keeps Flask's development server with the reloader.

Tracebacks are shown to nobody unless ``--dev`` is given, and ``--dev`` is only accepted outside
production and on a loopback address (``127.0.0.1``, ``::1``, ``localhost``): Dash's developer tools
show errors with source lines to whoever loads the page.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from pathlib import Path

import click

from app.server import SERVERS

logger = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only answers this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_dev(dev: bool, host: str, *, flag: str = "--dev") -> None:
    """Refuse an unknown ``$VOISINMAP_ENV``, and ``--dev`` (written ``flag``) in production or away from loopback.

    Raises
    ------
    click.ClickException
        Naming the setting and what was expected.
    """
    from geo.auth.environment import ConfigurationError, production

    try:
        in_production = production()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc
    if dev and in_production:
        raise click.ClickException(f"{flag}: refused in production (VOISINMAP_ENV=production): it shows code and data")
    if dev and not is_loopback(host):
        raise click.ClickException(f"{flag}: expected a loopback --host (127.0.0.1, ::1, localhost), got {host!r}: "
                                   "the developer tools show tracebacks to whoever loads the page")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8050, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the processed data (default: data/processed or $VOISINMAP_DATA_DIR).")
@click.option("--dev/--no-dev", default=False,
              help="Developer mode (hot reload, error pop-ups with tracebacks): loopback and development only.")
@click.option("--debug", is_flag=True, hidden=True, help="Former name of --dev.")
@click.option("--server", "server_name", type=click.Choice(SERVERS), default="auto", show_default=True,
              help="HTTP server: gunicorn (POSIX), waitress, or Flask's single-process development server.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="gunicorn worker processes (default: $VOISINMAP_WORKERS or one per core, 2 to 8).")
@click.option("--threads", type=click.IntRange(1, 256), default=None,
              help="Threads per worker (default: $VOISINMAP_THREADS or 4).")
def serve(host: str, port: int, data_dir: Path | None, dev: bool, debug: bool, server_name: str,
          workers: int | None, threads: int | None) -> None:
    """Lance l'application web (carte Stratégie, Données…) sur http://HOST:PORT/.

    Serveur de production par défaut (gunicorn, sinon waitress) ; ``--dev`` : serveur de développement
    de Flask avec rechargement. Même réglage à la main : ``gunicorn -c python:app.gunicorn_conf``.
    """
    from geo import config, schema

    check_dev(dev or debug, host, flag="--debug" if debug else "--dev")
    dev = dev or debug
    if dev:
        server_name = "flask"
    elif server_name == "flask":
        check_dev(True, host, flag="--server flask")
    folder = config.data_dir(data_dir)
    missing = [name for name in schema.LAYERS.values() if not (folder / name).exists()]
    if missing:
        raise click.ClickException(
            f"{folder} lacks {', '.join(missing)}: run `voisinmap data build` first (or pass --data-dir)"
        )
    _run(server_name, host=host, port=port, folder=folder, dev=dev, workers=workers, threads=threads)


def _run(server_name: str, *, host: str, port: int, folder: Path, dev: bool, workers: int | None,
         threads: int | None) -> None:
    from app import server as serving
    from geo.auth.environment import ConfigurationError
    from geo.i18n import DEFAULT_LANG, t

    try:
        chosen = serving.choose_server(server_name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    os.environ["VOISINMAP_DATA_DIR"] = str(folder)  # the same folder for every process of the server
    click.echo(t("serve.listening", DEFAULT_LANG, server=chosen, url=f"http://{host}:{port}/"))
    try:
        if chosen == "gunicorn":
            serving.run_gunicorn(host=host, port=port, data_dir=folder, workers=workers, threads=threads)
        elif chosen == "waitress":
            serving.run_waitress(host=host, port=port, data_dir=folder, threads=threads)
        else:
            serving.run_flask(host=host, port=port, data_dir=folder, dev=dev)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc
