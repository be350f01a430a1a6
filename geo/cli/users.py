"""``voisinmap users``: accounts of the web app (add, list, password, disable, remove).

The password is read from standard input (one line), never from the command line, so that it stays out
of the shell history and of the process list::

    printf '%s\\n' "$MOT_DE_PASSE" | voisinmap users add ines --role manager --site 91286

On a terminal, it is asked twice without echo.
"""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

from geo.auth.policy import ROLES

DB_HELP = "URL de la base (défaut : $DATABASE_URL ou data/voisinmap.db)."


def _store(db: str | None):  # noqa: ANN202
    from geo.auth.store import UserStore

    try:
        return UserStore(db)
    except Exception as exc:  # noqa: BLE001 - shown to the user, without the URL's password
        from sqlalchemy.engine import make_url

        try:
            shown = make_url(db).render_as_string(hide_password=True) if db else "défaut"
        except Exception:  # noqa: BLE001
            shown = "invalide"
        raise click.ClickException(f"base inaccessible ({shown}) : {str(exc).splitlines()[0][:200]}") from exc


def _read_password(confirm: bool = True) -> str:
    if sys.stdin.isatty():
        return click.prompt("Mot de passe", hide_input=True, confirmation_prompt=confirm)
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@click.group()
def users() -> None:
    """Comptes de l'application web (rôles : strategie, financeur, manager, admin, voisin)."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="Rôle du compte.")
@click.option("--site", "sites", multiple=True, metavar="INSEE_CODE",
              help="Site d'un manager (répétable) ou d'un Voisin (un seul) : code INSEE (ou SIREN d'EPCI).")
@click.option("--voisin-code", default=None, metavar="CODE",
              help="Code pseudonyme d'un Voisin (V017, GRI-V03) ; défaut : le premier libre du site (V001…).")
@click.option("--db", default=None, help=DB_HELP)
def add_cmd(name: str, role: str, sites: tuple[str, ...], voisin_code: str | None, db: str | None) -> None:
    """Créer le compte NAME ; le mot de passe est lu sur l'entrée standard (12 caractères au moins)."""
    from geo.auth.store import UserExistsError

    store = _store(db)
    password = _read_password()
    try:
        user = store.add_user(name, password, role=role, sites=sites, voisin_code=voisin_code)
    except (ValueError, UserExistsError) as exc:
        raise click.ClickException(str(exc)) from exc
    where = f" (sites : {', '.join(user.sites)})" if user.sites else ""
    code = f", code Voisin {user.voisin_code}" if user.voisin_code else ""
    click.echo(f"Compte « {user.username} » créé avec le rôle {user.role}{where}{code}.")


@users.command("list")
@click.option("--db", default=None, help=DB_HELP)
def list_cmd(db: str | None) -> None:
    """Lister les comptes (jamais les mots de passe)."""
    table = Table("Nom", "Rôle", "Sites", "Code Voisin", "Actif", "Créé le")
    accounts = _store(db).list_users()
    for u in accounts:
        table.add_row(u.username, u.role, ", ".join(u.sites), u.voisin_code, "oui" if u.active else "non",
                      u.created_at.strftime("%Y-%m-%d"))
    Console().print(table)
    if not accounts:
        click.echo("Aucun compte : créez-en un avec `voisinmap users add NOM --role admin`.")


@users.command("passwd")
@click.argument("name")
@click.option("--db", default=None, help=DB_HELP)
def passwd_cmd(name: str, db: str | None) -> None:
    """Changer le mot de passe de NAME (lu sur l'entrée standard) ; ses sessions ouvertes sont fermées."""
    from geo.auth.store import UnknownUserError

    store = _store(db)
    try:
        store.set_password(name, _read_password())
    except (ValueError, UnknownUserError) as exc:
        raise click.ClickException(str(exc).strip('"')) from exc
    click.echo(f"Mot de passe de « {name.strip().lower()} » changé.")


@users.command("disable")
@click.argument("name")
@click.option("--enable", is_flag=True, help="Réactiver au lieu de désactiver.")
@click.option("--db", default=None, help=DB_HELP)
def disable_cmd(name: str, enable: bool, db: str | None) -> None:
    """Désactiver (ou réactiver avec --enable) le compte NAME."""
    from geo.auth.store import UnknownUserError

    try:
        user = _store(db).set_active(name, enable)
    except UnknownUserError as exc:
        raise click.ClickException(str(exc).strip('"')) from exc
    click.echo(f"Compte « {user.username} » {'réactivé' if user.active else 'désactivé'}.")


@users.command("remove")
@click.argument("name")
@click.option("--db", default=None, help=DB_HELP)
@click.confirmation_option(prompt="Supprimer ce compte ?")
def remove_cmd(name: str, db: str | None) -> None:
    """Supprimer le compte NAME."""
    from geo.auth.store import UnknownUserError

    try:
        _store(db).remove_user(name)
    except UnknownUserError as exc:
        raise click.ClickException(str(exc).strip('"')) from exc
    click.echo(f"Compte « {name.strip().lower()} » supprimé.")


@users.command("demo")
@click.option("--if-missing", is_flag=True, help="Ne rien faire si un compte existe déjà.")
@click.option("--db", default=None, help=DB_HELP)
def demo_cmd(if_missing: bool, db: str | None) -> None:
    """Créer un compte de démonstration par rôle, avec un mot de passe aléatoire affiché une fois.

    Refusé en production (``VOISINMAP_ENV=production``).
    """
    import secrets

    from geo.auth.demo import DEMO_ACCOUNTS
    from geo.auth.environment import ConfigurationError, production

    try:
        refused = production()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc
    if refused:
        raise click.ClickException("comptes de démonstration refusés en production (VOISINMAP_ENV=production)")
    store = _store(db)
    if if_missing and store.count_users() > 0:
        click.echo("Des comptes existent déjà (`voisinmap users list`) : aucun compte de démonstration créé. "
                   "Mot de passe oublié : `voisinmap users passwd NOM`.")
        return
    password = secrets.token_urlsafe(12)
    from geo.auth.store import UserExistsError

    created = []
    for name, (role, sites) in DEMO_ACCOUNTS.items():
        try:
            store.add_user(name, password, role=role, sites=sites)
            created.append((name, role, sites))
        except UserExistsError:
            store.set_password(name, password)
            created.append((name, role, sites))
    table = Table("Compte", "Rôle", "Sites", title="Comptes de démonstration (données fictives)")
    for name, role, sites in created:
        table.add_row(name, role, ", ".join(sites))
    Console().print(table)
    click.echo(f"Mot de passe commun (affiché une seule fois) : {password}")
    click.echo("Changez-le avec `voisinmap users passwd NOM` ; supprimez ces comptes avant tout usage réel.")
