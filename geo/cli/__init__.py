"""The ``voisinmap`` command line.

Sub-commands live in their own modules (``geo/cli/<name>.py``) and are imported only when used, so
``voisinmap --help`` stays fast. A module listed in :data:`COMMANDS` that is not installed is skipped.
"""

from __future__ import annotations

import importlib
import logging

import click

from geo import __version__

#: command name -> "module:attribute" (a click command or group)
COMMANDS: dict[str, str] = {
    "data": "geo.cli.data:data",
    "recommend": "geo.cli.recommend:recommend",
    "coverage": "geo.cli.coverage:coverage",
    "demo": "geo.cli.coverage:demo",
    "serve": "geo.cli.serve:serve",
    "users": "geo.cli.users:users",
    "export": "geo.cli.export:export",
    "i18n": "geo.cli.i18n:i18n",
    "worker": "geo.cli.worker:worker",
    "releases": "geo.cli.releases:releases",
}


class LazyGroup(click.Group):
    """A click group that imports each sub-command's module on first use."""

    def _available(self) -> dict[str, str]:
        out = {}
        for name, target in COMMANDS.items():
            module = target.split(":")[0]
            if importlib.util.find_spec(module) is not None:
                out[name] = target
        return out

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._available()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self._available().get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voisinmap")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """voisinmap : cartographie des QPV et aide au choix des sites de VoisinMalin."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
