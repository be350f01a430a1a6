"""``voisinmap serve``: start the web app (Flask development server; use gunicorn in production)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

logger = logging.getLogger(__name__)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8050, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the processed data (default: data/processed or $VOISINMAP_DATA_DIR).")
@click.option("--debug/--no-debug", default=False, help="Dash debug mode (hot reload, error pop-ups).")
def serve(host: str, port: int, data_dir: Path | None, debug: bool) -> None:
    """Lance l'application web (carte Stratégie, Données…) sur http://HOST:PORT/.

    En production : ``gunicorn 'app.wsgi:server'``.
    """
    from geo import config, schema

    if debug and os.environ.get("VOISINMAP_ENV", "").strip().lower() == "production":
        raise click.ClickException("--debug: refused in production (VOISINMAP_ENV=production): it shows code and data")
    folder = config.data_dir(data_dir)
    missing = [name for name in schema.LAYERS.values() if not (folder / name).exists()]
    if missing:
        raise click.ClickException(
            f"{folder} lacks {', '.join(missing)}: run `voisinmap data build` first (or pass --data-dir)"
        )
    from app.main import create_app

    app = create_app(data_dir=folder)
    if not debug:
        from app.warmup import warm_up

        warm_up(data_dir=folder)
    click.echo(f"voisinmap: http://{host}:{port}/  (Ctrl+C pour arrêter)")
    app.run(host=host, port=port, debug=debug)
