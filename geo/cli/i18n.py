"""``voisinmap i18n``: compile and check the translation catalogues (``geo/locale/{fr,en}``)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

logger = logging.getLogger(__name__)


@click.group()
def i18n() -> None:
    """Catalogues de traduction (français, anglais) : compilation et vérification."""


@i18n.command()
@click.option("--locale-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Folder of the catalogues (default: geo/locale).")
def compile(locale_dir: Path | None) -> None:  # noqa: A001 - the command's name
    """Compile chaque catalogue .po en .mo (lancé par `make install`)."""
    from geo.i18n import LOCALE_DIR, compile_catalogues

    written = compile_catalogues(locale_dir=locale_dir or LOCALE_DIR)
    if not written:
        raise click.ClickException(f"--locale-dir: no */LC_MESSAGES/*.po catalogue under {locale_dir or LOCALE_DIR}")
    for mo in written:
        click.echo(str(mo))


@i18n.command()
def check() -> None:
    """Vérifie que chaque identifiant de message du code est dans les deux catalogues, avec les mêmes champs."""
    from geo.i18n_check import check_catalogues, used_ids

    uses = used_ids()
    problems = check_catalogues(uses)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in the catalogues")
    click.echo(f"catalogues complete: {len({use.msgid for use in uses})} message ids used, fr and en agree")
