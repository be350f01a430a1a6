"""``voisinmap export``: shareable files of the funders' report and of a siting scenario.

    voisinmap export impact  --format html|png|csv|xlsx|geojson --out FILE [--region 11] [--table regions]
    voisinmap export scenario --format html|png|csv|xlsx|geojson --out FILE [--k 10] [--radius-km 3]

The funders' report reads the door-visit store but writes only protected aggregates (hidden below 11
households, see ``docs/access.md``); HTML maps open offline; tables are protected against spreadsheet
formula injection.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import click

FORMATS = ("html", "png", "csv", "xlsx", "geojson")
DB_HELP = "URL de la base des visites (défaut : $DATABASE_URL ou data/voisinmap.db)."
DATA_HELP = "Dossier des données traitées (défaut : data/processed ou $VOISINMAP_DATA_DIR)."


def _format(fmt: str | None, out: Path) -> str:
    fmt = (fmt or out.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise click.BadParameter(f"expected one of {', '.join(FORMATS)} (or a file with that extension), got "
                                 f"{fmt or out.name!r}", param_hint="--format")
    return fmt


@click.group()
def export() -> None:
    """Exports partageables : rapport financeurs (agrégats protégés) et scénario d'implantation."""


@export.command("impact")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None, help="Format (défaut : extension de --out).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Fichier à écrire.")
@click.option("--region", default=None, help="Code région (ex. 11) pour ne garder qu'une région.")
@click.option("--table", "table", type=click.Choice(("regions", "quarters", "sites", "qpv", "all")), default="all",
              show_default=True, help="Tableau pour csv ; « all » écrit tous les tableaux en xlsx.")
@click.option("--lang", type=click.Choice(("fr", "en")), default="fr", show_default=True)
@click.option("--db", default=None, help=DB_HELP)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help=DATA_HELP)
def impact_cmd(fmt: str | None, out: Path, region: str | None, table: str, lang: str, db: str | None,
               data_dir: Path | None) -> None:
    """Rapport financeurs : carte HTML hors ligne, image PNG ou tableaux (secret statistique appliqué)."""
    from geo.export import bundle, loaders

    fmt = _format(fmt, out)
    with _library_errors():
        report = loaders.impact_report(db=db, data_dir=data_dir, with_reach=fmt != "geojson")
        if report.empty:
            click.echo("Aucune visite dans la base : le rapport est vide (voir `voisinmap coverage import`).", err=True)
        data = bundle.impact_bytes(report, fmt, table=table, region=region, lang=lang, data_dir=data_dir)
    _write(out, data)


@export.command("scenario")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None, help="Format (défaut : extension de --out).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Fichier à écrire.")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 200), help="Nombre de nouveaux sites.")
@click.option("--radius-km", type=click.FloatRange(min=0.1, max=50), default=None,
              help="Rayon de portée en km (défaut du moteur d'implantation).")
@click.option("--sites", "sites_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Fichier des sites actuels (défaut : data/sites.csv).")
@click.option("--lang", type=click.Choice(("fr", "en")), default="fr", show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help=DATA_HELP)
def scenario_cmd(fmt: str | None, out: Path, k: int, radius_km: float | None, sites_file: Path | None, lang: str,
                 data_dir: Path | None) -> None:
    """Scénario d'implantation : k nouveaux sites recommandés, réseau actuel inclus."""
    from geo.export import bundle, loaders

    fmt = _format(fmt, out)
    with _library_errors():
        scen = loaders.scenario(k=k, radius_km=radius_km, data_dir=data_dir, sites_file=sites_file)
        data = bundle.scenario_bytes(scen, fmt, lang=lang, data_dir=data_dir)
    _write(out, data)


@contextlib.contextmanager
def _library_errors() -> Iterator[None]:
    """Turn an error the library explains (data not built, store unreachable, sites file…) into a message
    and exit status 1, instead of a traceback."""
    from geo._errors import VoisinmapError

    try:
        yield
    except VoisinmapError as exc:
        raise click.ClickException(str(exc)) from exc


def _write(out: Path, data: bytes) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(out)
    click.echo(f"{out} ({len(data) / 1024:.0f} ko)")
