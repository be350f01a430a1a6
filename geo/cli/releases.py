"""``voisinmap releases``: the funders' frozen figures (publish the next release, list them).

A release freezes the households met per région, site and QPV over a block of closed quarters, protected
by adaptive time bins (secret statistique) and cell-key perturbation (see ``docs/access.md``). The
funders' page, their downloads and the public page ``/public/impact`` read the latest release::

    voisinmap releases publish                 # through the last closed quarter
    voisinmap releases publish --through 2026-T1
    voisinmap releases list
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

DB_HELP = "URL de la base (défaut : $DATABASE_URL ou data/voisinmap.db)."
DATA_HELP = "Dossier des données nationales traitées."


@click.group()
def releases() -> None:
    """Publications figées des chiffres des financeurs (versions successives, jamais révisées)."""


@releases.command("publish")
@click.option("--through", default=None, metavar="AAAA-Tn",
              help="Dernier trimestre publié (défaut : le dernier trimestre clos).")
@click.option("--db", default=None, help=DB_HELP)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help=DATA_HELP)
def publish_cmd(through: str | None, db: str | None, data_dir: Path | None) -> None:
    """Publier la publication suivante : les trimestres clos depuis la précédente."""
    from geo.auth.environment import ConfigurationError
    from geo.coverage.release_publish import publish_from_store
    from geo.coverage.releases import ReleaseError

    try:
        release = publish_from_store(db=db, data_dir=data_dir, through=through)
    except (ReleaseError, ConfigurationError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    Console().print(f"Publication n° {release.version} : {release.first_period} à {release.through_period}, "
                    f"{release.n_cells} cellule(s), le {release.published_at:%Y-%m-%d %H:%M} UTC.")


@releases.command("list")
@click.option("--db", default=None, help=DB_HELP)
def list_cmd(db: str | None) -> None:
    """Lister les publications."""
    from geo.coverage.releases import open_releases

    store = open_releases(db)
    try:
        rows = store.releases()
    finally:
        store.engine.dispose()
    console = Console()
    if not rows:
        console.print("Aucune publication : `voisinmap releases publish`.")
        return
    table = Table("Version", "Date (UTC)", "Du", "Au", "Cellules", "Méthode")
    for r in rows:
        table.add_row(str(r.version), f"{r.published_at:%Y-%m-%d %H:%M}", r.first_period, r.through_period,
                      str(r.n_cells), r.method)
    console.print(table)
