"""``voisinmap coverage ...`` (door-visit logs) and ``voisinmap demo`` (fictitious demo history).

Exit status of ``voisinmap coverage import``: 0 every row imported (or already there), 3 some rows
rejected (report written), 2 file refused, 1 store or other error. The import's summary, refusal and
progress speak French or English (``--lang``, default: the locale's language, ``$LC_ALL``, ``$LC_MESSAGES``
or ``$LANG``, French unless it is English); progress goes to standard error, as bars on a terminal and as
plain lines otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from geo.i18n import MessageView, format_number, t

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_ERROR, EXIT_REFUSED, EXIT_REJECTED = 0, 1, 2, 3

_db_option = click.option("--db", "db_url", metavar="URL", default=None,
                          help="Base de données (sqlite:///chemin.db ou postgresql+psycopg://…) ; "
                               "défaut : $DATABASE_URL ou data/voisinmap.db.")
_data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                                help="Dossier des données nationales traitées (couche QPV).")


def _console():  # noqa: ANN202
    from rich.console import Console

    # a pipe or a file gets wide lines instead of wrapped table cells
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def locale_lang() -> str:
    """The language of the user's locale (``$LC_ALL``, ``$LC_MESSAGES``, ``$LANG``): ``en`` for an English
    locale, else ``fr``."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "en" if value.lower().startswith("en") else "fr"
    return "fr"


_lang_option = click.option("--lang", type=click.Choice(["fr", "en"]), default=None,
                            help="Langue du bilan et des messages (défaut : celle de la locale, sinon français).")


def _fail(message: str, code: int, *, as_json: bool = False, payload: dict[str, Any] | None = None,
          lang: str = "fr") -> None:
    if as_json:
        click.echo(json.dumps({**(payload or {}), "status": "error", "error": message}, ensure_ascii=False))
    else:
        click.echo(t("cli.coverage.error", lang, message=message), err=True)
    sys.exit(code)


def _open(db_url: str | None, *, as_json: bool = False, lang: str = "fr"):  # noqa: ANN202
    from geo.coverage.errors import StoreUnavailableError
    from geo.coverage.store import open_store

    try:
        return open_store(db_url)
    except StoreUnavailableError as exc:
        _fail(exc.text(lang), EXIT_ERROR, as_json=as_json, lang=lang)


def _qpv_layer(data_dir: Path | None, lang: str = "fr") -> tuple[Any, str | None]:
    from geo.load import DataNotBuiltError, load_qpv

    try:
        return load_qpv(data_dir=data_dir), None
    except DataNotBuiltError:
        return None, t("cli.coverage.no_qpv_layer", lang)


def _territory(data_dir: Path | None, lang: str = "fr") -> tuple[Any, str | None]:
    from geo.coverage.territory import france_territory
    from geo.load import DataNotBuiltError, load_departements

    try:
        return france_territory(load_departements(data_dir=data_dir)), None
    except DataNotBuiltError:
        return None, t("cli.coverage.no_territory", lang)


#: Labels of the progress, by step of :data:`geo.coverage.importer.Progress` (``cli.coverage.step.<step>``).
STEPS = MessageView("cli.coverage.step", ("validate", "geocode", "write"))
#: Least seconds between two progress lines when standard error is not a terminal.
LINE_EVERY = 1.0


class _ProgressBars:
    """Progress of long work on standard error: one tqdm bar per step on a terminal, else plain lines (at a
    step's start and end, and at most one a second between); silent with --json."""

    def __init__(self, *, enabled: bool, lines: bool = False, lang: str = "fr") -> None:
        self.enabled = enabled
        self.lines = lines
        self.lang = lang
        self.step: str | None = None
        self.bar: Any = None
        self.last = 0.0

    def _label(self, step: str) -> str:
        return t(STEPS.msgid(step), self.lang) if step in STEPS else step

    def __call__(self, step: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.lines:
            self._line(step, done, total)
            return
        if step != self.step:
            from tqdm import tqdm

            self.close()
            self.step = step
            unit = (t("cli.coverage.unit_addresses", self.lang) if step == "geocode"
                    else t("cli.coverage.unit_rows", self.lang))
            self.bar = tqdm(total=total, desc=self._label(step), unit=f" {unit}", file=sys.stderr, leave=False,
                            dynamic_ncols=True)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def _line(self, step: str, done: int, total: int) -> None:
        now = time.monotonic()
        if step == self.step and done < total and now - self.last < LINE_EVERY:
            return
        self.step, self.last = step, now
        click.echo(t("cli.coverage.progress_line", self.lang, step=self._label(step),
                     done=format_number(done, self.lang), total=format_number(total, self.lang)), err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar = None
        self.step = None


def _progress_bars(as_json: bool, lang: str = "fr") -> _ProgressBars:
    return _ProgressBars(enabled=not as_json, lines=not sys.stderr.isatty(), lang=lang)


@click.group("coverage")
def coverage() -> None:
    """Journaux de porte-à-porte : modèle, import, géocodage, statistiques."""


@coverage.command("template")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def template(file: Path) -> None:
    """Écrire le modèle vierge FILE (.csv ou .xlsx)."""
    from geo.coverage.template import template_csv, template_xlsx

    suffix = file.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise click.BadParameter(f"extension attendue .csv ou .xlsx, reçu « {file.suffix or '(aucune)'} »",
                                 param_hint="FILE")
    file.write_bytes(template_xlsx() if suffix == ".xlsx" else template_csv())
    click.echo(f"Modèle écrit : {file}")


def _report_path(file: Path, report: Path | None) -> Path:
    if report is not None:
        return report
    return file.with_name(f"{file.stem}.rejets.csv")


@coverage.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_db_option
@click.option("--json", "as_json", is_flag=True, help="Afficher le bilan en un objet JSON.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Rapport des lignes rejetées (défaut : FICHIER.rejets.csv à côté du fichier).")
@click.option("--no-geocode", is_flag=True, help="Ne pas appeler le service d'adresses : adresses en attente.")
@click.option("--geocoder-url", default=None, metavar="URL",
              help="Service d'adresses (défaut : $VOISINMAP_GEOCODER_URL ou api-adresse.data.gouv.fr).")
@click.option("--chunk-rows", type=click.IntRange(min=1), default=None,
              help="Lignes lues, validées et préparées à la fois (défaut : 50 000) ; borne la mémoire.")
@_lang_option
@_data_dir_option
def import_(file: Path, db_url: str | None, as_json: bool, report: Path | None, no_geocode: bool,
            geocoder_url: str | None, chunk_rows: int | None, lang: str | None, data_dir: Path | None) -> None:
    """Importer un journal de visites FILE (CSV ou XLSX), par paquets de lignes, tout ou rien.

    Statut de sortie : 0 tout importé, 3 des lignes rejetées (rapport écrit), 2 fichier refusé.
    """
    from geo.coverage.errors import FileRefusedError

    lang = lang or locale_lang()
    empty = {"file": file.name, "imported": 0, "duplicates": 0, "rejected": 0, "pending_geocoding": 0}
    try:  # a spreadsheet bomb is refused before the store, the layers or pandas are loaded
        _precheck(file)
    except FileRefusedError as exc:
        _refused(exc, empty, as_json=as_json, lang=lang)
    from geo.coverage import impact_store, importer, prepared
    from geo.coverage.geocode import Geocoder
    from geo.coverage.geocode import geocoder_url as resolve_url
    from geo.coverage.store import SqlGeocodeCache

    engine = _open(db_url, as_json=as_json, lang=lang)
    qpv, qpv_note = _qpv_layer(data_dir, lang)
    territory, territory_note = _territory(data_dir, lang)
    geocoder = None if no_geocode else Geocoder(url=resolve_url(geocoder_url), cache=SqlGeocodeCache(engine))
    bars = _progress_bars(as_json, lang)
    try:
        summary = importer.import_file(file, engine=engine, geocoder=geocoder, qpv=qpv, territory=territory,
                                       progress=bars, lang=lang, chunk_rows=chunk_rows or importer.CHUNK_ROWS)
    except FileRefusedError as exc:
        _refused(exc, empty, as_json=as_json, lang=lang)
    finally:
        bars.close()
        engine.dispose()
    if summary.imported:
        impact_store.compute_and_store(db=db_url, data_dir=data_dir)
        prepared.prepare_for_app(db=db_url, data_dir=data_dir, qpv=qpv)
    result = summary.as_dict()
    result["notes"] += [note for note in (qpv_note, territory_note) if note]
    if summary.rejected:
        path = _report_path(file, report)
        try:
            written = importer.write_report(summary, path)
        except OSError:
            written = importer.write_report(summary, Path.cwd() / path.name)
        result["report"] = str(written)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        _print_summary(result, lang)
    sys.exit(EXIT_REJECTED if summary.rejected else EXIT_OK)


def _precheck(file: Path) -> None:
    """Refuse an XLSX whose archive or sheets break the reading limits, with a streaming scan of the file."""
    from geo.coverage.limits import DEFAULT_LIMITS
    from geo.coverage.xlsx_scan import check_xlsx

    try:
        with file.open("rb") as handle:
            if handle.read(4) != b"PK\x03\x04":
                return  # not an XLSX: the importer says what it is
    except OSError:
        return  # the importer names a missing or unreadable file
    check_xlsx(file, name=file.name, limits=DEFAULT_LIMITS)


def _refused(exc: Exception, empty: dict[str, Any], *, as_json: bool, lang: str = "fr") -> None:
    message = exc.text(lang)
    if as_json:
        click.echo(json.dumps({**empty, "status": "refused", "code": exc.code, "error": message},
                              ensure_ascii=False))
    else:
        click.echo(t("cli.coverage.refused", lang, message=message), err=True)
    sys.exit(EXIT_REFUSED)


#: Labels of the counts of the summary table, by key of :meth:`geo.coverage.importer.ImportSummary.as_dict`.
SUMMARY = MessageView("cli.coverage.summary", ("rows", "imported", "duplicates", "rejected", "pending_geocoding",
                                               "geocoded", "geocoding_failed", "outside_qpv"))


def _print_summary(result: dict[str, Any], lang: str = "fr") -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=t("cli.coverage.import_title", lang, file=escape(result["file"])), show_header=False)
    for key in SUMMARY:
        table.add_row(t(SUMMARY.msgid(key), lang), format_number(result[key], lang))
    console = _console()
    console.print(table)
    if result.get("ignored_columns"):
        console.print(escape(t("cli.coverage.ignored_columns", lang, columns=", ".join(result["ignored_columns"]))))
    for note in result.get("notes", []):
        console.print(escape(note))
    if result.get("report"):
        console.print(escape(t("cli.coverage.report", lang, path=result["report"])))


@coverage.command("geocode")
@_db_option
@click.option("--geocoder-url", default=None, metavar="URL",
              help="Service d'adresses (défaut : $VOISINMAP_GEOCODER_URL ou api-adresse.data.gouv.fr).")
@click.option("--json", "as_json", is_flag=True, help="Afficher le bilan en un objet JSON.")
@_data_dir_option
def geocode(db_url: str | None, geocoder_url: str | None, as_json: bool, data_dir: Path | None) -> None:
    """Géocoder les adresses en attente et vérifier l'appartenance aux QPV des visites localisées."""
    import numpy as np

    from geo.coverage import store
    from geo.coverage.aggregate import assign_qpv
    from geo.coverage.geocode import Geocoder
    from geo.coverage.geocode import geocoder_url as resolve_url
    from geo.coverage.importer import locate

    engine = _open(db_url, as_json=as_json)
    qpv, qpv_note = _qpv_layer(data_dir)
    out: dict[str, Any] = {"addresses": 0, "geocoded": 0, "geocoding_failed": 0, "pending_geocoding": 0,
                           "qpv_checked": 0, "notes": [qpv_note] if qpv_note else []}
    bars = _progress_bars(as_json)
    try:
        pending = store.pending_addresses(engine)
        out["addresses"] = len(pending)
        if len(pending):
            geocoder = Geocoder(url=resolve_url(geocoder_url), cache=store.SqlGeocodeCache(engine))
            frame = pending[["street_number", "street", "postcode", "city"]].assign(
                lat=np.nan, lon=np.nan)
            located, notes = locate(frame, geocoder=geocoder, qpv=qpv, progress=bars)
            out["notes"] += notes
            done = located[located["location_status"] != store.LOCATION_PENDING]
            store.set_locations(engine, done)
            weights = pending["n_visits"].to_numpy()
            status = located["location_status"].to_numpy()
            out["geocoded"] = int(weights[status == store.LOCATION_GEOCODED].sum())
            out["geocoding_failed"] = int(weights[status == store.LOCATION_FAILED].sum())
            out["pending_geocoding"] = int(weights[status == store.LOCATION_PENDING].sum())
        if qpv is not None:
            unknown = store.unknown_qpv(engine)
            if len(unknown):
                codes = assign_qpv(unknown["lon"].to_numpy(float), unknown["lat"].to_numpy(float), qpv)
                out["qpv_checked"] = store.set_qpv(engine, unknown["id"].to_numpy(), list(codes))
    finally:
        bars.close()
        engine.dispose()
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        click.echo(f"{out['addresses']} adresse(s) à géocoder : {out['geocoded']} visite(s) localisée(s), "
                   f"{out['geocoding_failed']} introuvable(s), {out['pending_geocoding']} toujours en attente ; "
                   f"{out['qpv_checked']} visite(s) rattachée(s) aux QPV.")
        for note in out["notes"]:
            click.echo(note)
    sys.exit(EXIT_ERROR if out["pending_geocoding"] else EXIT_OK)


@coverage.command("stats")
@_db_option
@click.option("--json", "as_json", is_flag=True, help="Afficher les chiffres en JSON.")
def stats(db_url: str | None, as_json: bool) -> None:
    """Visites stockées par site et campagne."""
    from geo.coverage import store

    engine = _open(db_url, as_json=as_json)
    try:
        frame = store.stats(engine)
    finally:
        engine.dispose()
    if as_json:
        records = []
        for row in frame.to_dict(orient="records"):
            records.append({k: (v.isoformat() if isinstance(v, dt.datetime) else
                                int(v) if hasattr(v, "__int__") and not isinstance(v, str | float) else v)
                            for k, v in row.items()})
        total = int(frame["visites"].sum()) if len(frame) else 0
        pending = int(frame["loc_en_attente"].sum()) if len(frame) else 0
        click.echo(json.dumps({"visits": total, "pending_geocoding": pending, "campaigns": records},
                              ensure_ascii=False, default=str))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Visites stockées")
    for col in ("site", "campagne", "visites", "ouvertes", "taux d'ouverture", "en attente", "introuvables",
                "hors QPV", "période"):
        table.add_column(col, overflow="fold")
    for row in frame.itertuples(index=False):
        knocked = row.visites - row.ne_pas_deranger
        rate = f"{100 * row.ouvert / knocked:.0f} %" if knocked else "–"
        name = row.campaign + (" [démo]" if row.demo else "")
        table.add_row(escape(row.site), escape(name), str(row.visites), str(row.ouvert), rate, str(row.loc_en_attente),
                      str(row.loc_echec), str(row.hors_qpv), f"{str(row.debut)[:10]} → {str(row.fin)[:10]}")
    console = _console()
    console.print(table)
    if frame.empty:
        console.print("Aucune visite : importez un journal (`voisinmap coverage import`) ou la démo "
                      "(`voisinmap demo`).")


@coverage.command("prepare", help=t("cli.prepare.help"))
@_db_option
@_data_dir_option
@click.option("--chunk-size", type=click.IntRange(min=1), default=None, help=t("cli.prepare.chunk_size"))
def prepare(db_url: str | None, data_dir: Path | None, chunk_size: int | None) -> None:
    """Prepare the arrays of the store's current data version (:func:`geo.coverage.prepared.prepare`)."""
    import time

    from geo import config
    from geo.coverage import prepared
    from geo.coverage.store import stream

    _open(db_url).dispose()  # a store that cannot be opened stops here with its message
    qpv, note = _qpv_layer(data_dir)
    if note:
        click.echo(note, err=True)
    started = time.perf_counter()
    folder = prepared.prepare(db_url, folder=config.data_dir(data_dir) / "prepared", qpv=qpv,
                              chunk_size=chunk_size or stream.CHUNK_SIZE)
    visits = json.loads((folder / "meta.json").read_text(encoding="utf-8"))["n_events"]
    click.echo(t("cli.prepare.done", visits=format_number(visits), folder=str(folder),
                 seconds=format_number(time.perf_counter() - started, decimals=1)))


@click.command("demo")
@click.option("--if-missing", is_flag=True, help="Ne rien faire si le magasin contient déjà des visites.")
@click.option("--remove", is_flag=True, help="Supprimer les visites de démonstration.")
@click.option("--seed", type=int, default=None, help="Graine du générateur (défaut : fixe).")
@click.option("--json", "as_json", is_flag=True, help="Afficher le bilan en JSON.")
@_db_option
@_data_dir_option
def demo(if_missing: bool, remove: bool, seed: int | None, as_json: bool, db_url: str | None,
         data_dir: Path | None) -> None:
    """Écrire l'historique de campagnes de démonstration (données fictives) dans le magasin."""
    from geo.coverage import demo as demo_data
    from geo.coverage import impact_store, importer, prepared, store
    from geo.load import DataNotBuiltError, load_arrondissements, load_qpv

    engine = _open(db_url, as_json=as_json)
    try:
        if remove:
            deleted = store.delete_demo(engine)
            _emit(as_json, {"removed": deleted}, f"{deleted} visite(s) de démonstration supprimée(s).")
            return
        existing = store.count_visits(engine)
        if if_missing and existing:
            _emit(as_json, {"imported": 0, "skipped": True, "visits": existing},
                  f"Le magasin contient déjà {existing} visite(s) : démonstration non chargée.")
            return
        try:
            qpv = load_qpv(data_dir=data_dir)
            arrondissements = load_arrondissements(data_dir=data_dir)
        except DataNotBuiltError as exc:
            _fail(f"{exc} — la démonstration se place dans les QPV réels.", EXIT_ERROR, as_json=as_json)
        from rich.console import Console

        with Console(stderr=True).status("Génération de l'historique fictif…"):
            rows = demo_data.generate_demo(qpv, arrondissements=arrondissements,
                                           seed=demo_data.DEFAULT_SEED if seed is None else seed)
            today = max(dt.date.today(), demo_data.DEMO_END)
            summary = importer.import_frame(rows, name=f"démonstration ({demo_data.DEMO_LABEL})", engine=engine,
                                            qpv=qpv, today=today, demo=True)
    finally:
        engine.dispose()
    if summary.imported:
        impact_store.compute_and_store(db=db_url, data_dir=data_dir)
        prepared.prepare_for_app(db=db_url, data_dir=data_dir, qpv=qpv)
    result = summary.as_dict()
    _emit(as_json, result, f"{summary.imported} visite(s) de démonstration écrite(s) "
                           f"({demo_data.DEMO_LABEL}), {summary.duplicates} déjà présente(s).")
    sys.exit(EXIT_OK if summary.rejected == 0 else EXIT_ERROR)


def _emit(as_json: bool, payload: dict[str, Any], text: str) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False) if as_json else text)
