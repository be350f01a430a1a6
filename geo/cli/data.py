"""``voisinmap data build`` and ``voisinmap data status``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from geo import config, schema, sources


def _n(value: int) -> str:
    """An integer with French digit grouping (narrow no-break space)."""
    return f"{value:,}".replace(",", "\u202f")


DATA_DIR_HELP = f"Dossier des données traitées (défaut : ${config.ENV_DATA_DIR} ou data/processed)."


@click.group()
def data() -> None:
    """Données nationales : construction et état."""


@data.command("build")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help=DATA_DIR_HELP)
@click.option("--force", is_flag=True, help="Reconstruire même si rien n'a changé.")
@click.option("--offline", is_flag=True, help="Ne rien télécharger (miroir et cache seulement).")
@click.option("--allow-unverified", is_flag=True, help="Accepter une source dont l'empreinte SHA-256 diffère du registre.")
def build_cmd(data_dir: Path | None, force: bool, offline: bool, allow_unverified: bool) -> None:
    """Construire les couches GeoParquet nationales et le manifeste."""
    from geo._errors import VoisinmapError
    from geo.build import build

    console = Console(stderr=True)
    try:
        with console.status("Construction…") as status:
            manifest = build(
                data_dir=data_dir,
                force=force,
                allow_download=not offline,
                allow_unverified=allow_unverified,
                progress=lambda msg: status.update(msg),
            )
    except VoisinmapError as exc:  # a source missing or unverified, a join below its rate, a failed download
        console.print(f"[bold red]Échec de la construction :[/] {exc}")
        sys.exit(1)
    out = config.data_dir(data_dir)
    if manifest.get("skipped"):
        console.print(f"Données à jour dans {out} (aucune source modifiée).")
        return
    console.print(f"Construit en {manifest['build_seconds']} s dans {out} :")
    for info in manifest["outputs"].values():
        console.print(f"  {info['file']:<26} {_n(info['rows']):>7} lignes  "
                      + f"{info['bytes'] / 1e6:6.2f} Mo".replace(".", ","))


@data.command("status")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help=DATA_DIR_HELP)
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON.")
def status_cmd(data_dir: Path | None, as_json: bool) -> None:
    """Afficher les sources (millésime, licence, origine, empreinte) et les fichiers produits."""
    from geo._http import sha256_file

    rows = []
    for name, ds in sources.REGISTRY.items():
        try:
            res = sources.resolve(name, allow_download=False)
            digest = sha256_file(res.path)
            rows.append(
                {"name": name, "vintage": ds.vintage, "licence": ds.licence, "origin": res.origin,
                 "hash_ok": digest == ds.sha256, "path": str(res.path)}
            )
        except sources.SourceUnavailableError:
            rows.append({"name": name, "vintage": ds.vintage, "licence": ds.licence, "origin": "absent",
                         "hash_ok": None, "path": ds.url})
    out = config.data_dir(data_dir)
    manifest_path = out / schema.MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else None
    files = []
    # the processed layers, then the web map's geometry simplified by the build (layer « web/<name> »)
    for key, prefix, names in (("outputs", "", schema.LAYERS), ("web_outputs", "web/", schema.WEB_LAYERS)):
        for layer, fname in names.items():
            path = out / fname
            rows_count = (manifest.get(key) or {}).get(layer, {}).get("rows") if manifest else None
            files.append({"layer": prefix + layer, "file": str(path), "exists": path.exists(), "rows": rows_count,
                          "bytes": path.stat().st_size if path.exists() else None})
    if as_json:
        click.echo(json.dumps({"sources": rows, "files": files,
                               "built_at": manifest.get("built_at") if manifest else None}, indent=2))
        return
    console = Console()
    table = Table(title="Sources officielles")
    for col in ("Jeu de données", "Millésime", "Licence", "Trouvé dans", "Empreinte"):
        table.add_column(col)
    mark = {True: "[green]OK[/]", False: "[red]différente[/]", None: "—"}
    for r in rows:
        table.add_row(r["name"], r["vintage"], r["licence"], r["origin"], mark[r["hash_ok"]])
    console.print(table)
    ftable = Table(title=f"Données traitées ({out})" + (f", construites le {manifest['built_at']}" if manifest else ""))
    for col in ("Couche", "Fichier", "Lignes", "Taille"):
        ftable.add_column(col)
    for f in files:
        ftable.add_row(
            f["layer"], Path(f["file"]).name if f["exists"] else "[red]absent[/]",
            _n(f["rows"]) if f["rows"] is not None else "—",
            f"{f['bytes'] / 1e6:.2f} Mo".replace(".", ",") if f["bytes"] else "—",
        )
    console.print(ftable)
    if not manifest:
        console.print("[yellow]Aucune donnée construite : lancez `voisinmap data build`.[/]")
