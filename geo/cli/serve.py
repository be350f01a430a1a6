"""``voisinmap serve``: start the web app (Flask development server; use gunicorn in production).

Tracebacks are shown to nobody unless ``--dev`` is given, and ``--dev`` is only accepted outside
production and on a loopback address (``127.0.0.1``, ``::1``, ``localhost``): Dash's developer tools
show errors with source lines to whoever loads the page.
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import click

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
def serve(host: str, port: int, data_dir: Path | None, dev: bool, debug: bool) -> None:
    """Lance l'application web (carte Stratégie, Données…) sur http://HOST:PORT/.

    En production : ``gunicorn 'app.wsgi:server'``.
    """
    from geo import config, schema
    from geo.auth.environment import ConfigurationError

    check_dev(dev or debug, host, flag="--debug" if debug else "--dev")
    dev = dev or debug
    folder = config.data_dir(data_dir)
    missing = [name for name in schema.LAYERS.values() if not (folder / name).exists()]
    if missing:
        raise click.ClickException(
            f"{folder} lacks {', '.join(missing)}: run `voisinmap data build` first (or pass --data-dir)"
        )
    from app.main import create_app

    try:
        app = create_app(data_dir=folder)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc
    if not dev:
        from app.warmup import warm_up

        warm_up(data_dir=folder)
    click.echo(f"voisinmap: http://{host}:{port}/  (Ctrl+C pour arrêter)")
    app.run(host=host, port=port, debug=dev)
