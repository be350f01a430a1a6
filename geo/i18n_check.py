"""Checks of the translation catalogues: every message id used by the code is in both, with the same placeholders.

The ids are found the way ``pybabel extract -F babel.cfg -k t -k _ geo app`` finds them (Babel's Python
extractor, with the mapping of ``babel.cfg``), plus the ids built at run time, which the code declares
through :class:`geo.i18n.MessageView` / :class:`geo.i18n.LanguageView` (:data:`geo.i18n.DECLARED_IDS`).

>>> problems = check_catalogues(used_ids())      # doctest: +SKIP
>>> problems
[]
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import string
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from geo.i18n import DECLARED_IDS, LANGS, LOCALE_DIR, po_path

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
#: Babel mapping file of the project.
MAPPING_FILE = PROJECT_ROOT / "babel.cfg"
#: Functions whose first argument is a message id (``t(msgid, lang, **params)``, ``_(msgid)``).
KEYWORDS: dict[str, None] = {"t": None, "_": None, "N_": None}
#: Folders searched for message ids.
SOURCE_DIRS: tuple[str, ...] = ("geo", "app")


@dataclass(frozen=True)
class Use:
    """Where a message id is used."""

    msgid: str
    where: str


def read_catalogue(lang: str, *, locale_dir: Path = LOCALE_DIR) -> dict[str, str]:
    """``{msgid: text}`` of the ``.po`` catalogue of ``lang`` (the header entry left out)."""
    from babel.messages.pofile import read_po

    path = po_path(lang, locale_dir=locale_dir)
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    return {message.id: message.string for message in catalog if message.id}


def placeholders(text: str) -> frozenset[str]:
    """Names of the ``{placeholders}`` of ``text`` (:meth:`str.format` syntax)."""
    return frozenset(field.split(".")[0].split("[")[0]
                     for _, field, _, _ in string.Formatter().parse(text) if field is not None)


def extract_ids(*, root: Path = PROJECT_ROOT, dirs: Iterable[str] = SOURCE_DIRS,
                mapping_file: Path = MAPPING_FILE) -> list[Use]:
    """Message ids written in the source, found by Babel's extractor with the mapping of ``babel.cfg``.

    Parameters
    ----------
    root : Path
        Project folder.
    dirs : iterable of str
        Folders of ``root`` to search.
    mapping_file : Path
        Babel mapping file (``[python: **.py]``).

    Returns
    -------
    list of Use
        One entry per call, with its file and line.
    """
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with mapping_file.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, filename=str(mapping_file))
    uses = []
    for folder in dirs:
        found = extract_from_dir(root / folder, method_map=method_map, options_map=options_map, keywords=KEYWORDS)
        for filename, lineno, message, _comments, _context in found:
            msgid = message if isinstance(message, str) else message[0]
            if msgid:
                uses.append(Use(msgid, f"{folder}/{filename}:{lineno}"))
    return uses


def declared_ids(packages: Iterable[str] = ("geo",)) -> set[str]:
    """Message ids built at run time, declared by the modules of ``packages`` when they are imported.

    Every module of each package is imported (so its :class:`~geo.i18n.MessageView` declarations run);
    a module that cannot be imported raises, so no declaration goes unchecked.
    """
    for name in packages:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if not any(part.endswith("migrations") for part in info.name.split(".")):
                importlib.import_module(info.name)
    return set(DECLARED_IDS)


def used_ids(*, root: Path = PROJECT_ROOT, extra: Iterable[str] = ()) -> list[Use]:
    """Extracted ids, the ids declared by ``geo``, and ``extra`` (ids the caller knows are built)."""
    uses = extract_ids(root=root)
    uses += [Use(msgid, "declared") for msgid in sorted(declared_ids())]
    uses += [Use(msgid, "extra") for msgid in extra]
    return uses


def check_catalogues(uses: Iterable[Use], *, locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Problems of the catalogues: used ids missing, ids in one language only, placeholders or texts that differ.

    Parameters
    ----------
    uses : iterable of Use
        The message ids used (:func:`used_ids`).
    locale_dir : Path
        Folder of the catalogues.

    Returns
    -------
    list of str
        One sentence per problem; empty when the catalogues are complete and consistent.
    """
    catalogues = {lang: read_catalogue(lang, locale_dir=locale_dir) for lang in LANGS}
    problems = []
    seen: set[tuple[str, str]] = set()
    for use in uses:
        for lang, catalogue in catalogues.items():
            if use.msgid not in catalogue and (use.msgid, lang) not in seen:
                seen.add((use.msgid, lang))
                problems.append(f"{use.msgid}: used at {use.where}, missing from the {lang} catalogue")
    reference, *others = LANGS
    for lang in others:
        for msgid in sorted(catalogues[reference].keys() ^ catalogues[lang].keys()):
            where = reference if msgid in catalogues[reference] else lang
            problems.append(f"{msgid}: only in the {where} catalogue")
    for msgid in sorted(set.intersection(*(set(c) for c in catalogues.values()))):
        texts = {lang: catalogues[lang][msgid] for lang in LANGS}
        empty = [lang for lang, text in texts.items() if not text.strip()]
        if empty:
            problems.append(f"{msgid}: no text in the {', '.join(empty)} catalogue")
        found = {lang: placeholders(text) for lang, text in texts.items()}
        if len(set(found.values())) > 1:
            detail = ", ".join(f"{lang} {sorted(names)}" for lang, names in found.items())
            problems.append(f"{msgid}: placeholders differ ({detail})")
    return problems
