"""Row-by-row validation of door-visit logs, vectorised (pandas), and the content key of each visit.

:func:`validate_rows` takes the table of strings of :mod:`geo.coverage.reader` and returns the typed rows
that pass every check, and one problem per failed check: line, column, code and reason, in French or
English (message ids ``coverage.row.<code>``, :mod:`geo.coverage.errors`). A row with any problem is
rejected as a whole.

Personal data is kept out: phone numbers and e-mails in any text cell, house numbers that are not house
numbers, door marks and buildings that name a resident, languages and topics outside the closed lists and
Voisin ids that are not codes (:mod:`geo.coverage.vocabulary`). Coordinates are checked against France's
land (:class:`geo.coverage.territory.Territory`, passed in by the caller) when given.

The **content key** identifies a visit by everything stored about it (campaign, site, date and time,
location, building, door, outcome, language, topics, Voisin) plus its rank among identical rows of the
same file. Re-importing a file, or a file overlapping an earlier one, therefore adds nothing twice, while
20 identical "absent" knocks in one building on one day stay 20 visits. A file validated chunk by chunk
carries the ranks from one chunk to the next in a :class:`RankCounter`, so its keys are those of the whole
file validated at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.coverage import schema, vocabulary
from geo.coverage.errors import row_message
from geo.coverage.territory import Territory

logger = logging.getLogger(__name__)

#: Earliest accepted visit date.
MIN_DATE = dt.date(2010, 1, 1)

#: Bounding boxes (lon_min, lat_min, lon_max, lat_max) of France: métropole and overseas. A coarse check,
#: used only when no :class:`~geo.coverage.territory.Territory` (département polygons) is given.
FRANCE_BOXES: tuple[tuple[float, float, float, float], ...] = (
    (-5.3, 41.3, 9.7, 51.2),  # métropole and Corse
    (-63.2, 15.8, -60.9, 18.2),  # Guadeloupe, Saint-Martin, Saint-Barthélemy
    (-61.3, 14.35, -60.75, 14.9),  # Martinique
    (-54.7, 2.0, -51.5, 5.9),  # Guyane
    (55.2, -21.45, 55.9, -20.85),  # La Réunion
    (44.9, -13.1, 45.35, -12.6),  # Mayotte
    (-56.5, 46.7, -56.1, 47.2),  # Saint-Pierre-et-Miquelon
    (-154.8, -28.0, -134.0, -7.8),  # Polynésie française
    (163.5, -22.8, 168.2, -19.5),  # Nouvelle-Calédonie
    (-178.3, -14.4, -176.1, -13.1),  # Wallis-et-Futuna
)

OUTCOME_ALIASES: dict[str, str] = {
    **{o: o for o in schema.OUTCOMES},
    "ouverte": "ouvert", "porte_ouverte": "ouvert", "open": "ouvert", "opened": "ouvert",
    "absente": "absent", "absents": "absent", "not_home": "absent",
    "refuse": "refus", "refusee": "refus", "refused": "refus",
    "revoir": "a_revoir", "a_repasser": "a_revoir", "repasser": "a_revoir", "come_back": "a_revoir",
    "npd": "ne_pas_deranger", "do_not_disturb": "ne_pas_deranger",
}

#: French phone numbers (06 12 34 56 78, +33 6..., 0033...) and other international ones (+32 ..., 0044 ...).
_PHONE = (r"(?:^|[^0-9])(?:(?:\+[ ]?33|0033|0)[ ]?[1-9](?:[ .\-]?[0-9]{2}){4}"
          r"|(?:\+|00)[ ]?[1-9][0-9](?:[ .\-]?[0-9]){7,12})(?:$|[^0-9])")
_EMAIL = r"[^@ \t]+@[^@ \t]+\.[A-Za-z]{2,}"
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_IDENT = r"^[0-9A-Za-zÀ-ÿ _.:/#'\-]+$"
_TEXT_COLUMNS = ("campagne", "site", "numero", "voie", "commune", "batiment", "porte", "langue", "sujets",
                 "voisin")
_PERSONAL_COLUMNS = ("campagne", "site", "numero", "voie", "commune", "batiment", "porte", "langue", "sujets",
                     "voisin")

#: Columns of the frame of valid rows, with their meaning.
VALID_COLUMNS: dict[str, str] = {
    "ligne": "line number in the file",
    "campaign": "campaign",
    "site": "site code or name",
    "visited_at": "date and time of the visit (naive, local time); 00:00 when the time is unknown",
    "time_known": "True when the file gave the time",
    "street_number": "number in the street (may be empty)",
    "street": "street (may be empty)",
    "postcode": "postcode (may be empty)",
    "city": "commune name (may be empty)",
    "lat": "latitude from the file (NaN when the row has an address only)",
    "lon": "longitude from the file",
    "building": "building id (may be empty)",
    "door": "door mark in the building (may be empty)",
    "outcome": "one of schema.OUTCOMES",
    "language": "language, lower case (may be empty)",
    "topics": "topics, '|'-joined, sorted (may be empty)",
    "voisin": "pseudonymous Voisin id (may be empty)",
    "content_key": "32 hex characters identifying the visit",
}


@dataclass
class Validated:
    """Outcome of :func:`validate_rows`.

    Attributes
    ----------
    valid : pandas.DataFrame
        The rows that passed, with the columns of :data:`VALID_COLUMNS`.
    problems : pandas.DataFrame
        Columns ``ligne``, ``colonne``, ``code``, ``motif``; one row per failed check.
    n_rows : int
        Number of data rows checked.
    """

    valid: pd.DataFrame
    problems: pd.DataFrame
    n_rows: int

    @property
    def rejected_lines(self) -> np.ndarray:
        """Sorted unique line numbers of the rejected rows."""
        return np.unique(self.problems["ligne"].to_numpy(dtype=np.int64))


def in_france(lon: np.ndarray, lat: np.ndarray, *, territory: Territory | None = None) -> np.ndarray:
    """Boolean mask: the points lie in France.

    Parameters
    ----------
    lon, lat : array-like of float
        WGS84 coordinates in degrees.
    territory : Territory, optional
        France's land from the département polygons (:func:`geo.coverage.territory.france_territory`).
        Without it, the coarse :data:`FRANCE_BOXES` are used (they hold Brussels, Geneva or Barcelona too).

    Returns
    -------
    numpy.ndarray of bool
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if territory is not None:
        return territory.contains(lon, lat)
    out = np.zeros(lon.shape, dtype=bool)
    for x0, y0, x1, y1 in FRANCE_BOXES:
        out |= (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    return out


class _Problems:
    def __init__(self, lines: np.ndarray, *, lang: str) -> None:
        self.lines = lines
        self.lang = lang
        self.parts: list[pd.DataFrame] = []

    def add(self, mask: pd.Series | np.ndarray, column: str, code: str, **fields: object) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        idx = np.flatnonzero(mask)
        self.parts.append(pd.DataFrame({"ligne": self.lines[idx], "colonne": column, "code": code,
                                        "motif": row_message(code, self.lang, **fields)}))

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({"ligne": pd.Series([], dtype="int64"), "colonne": pd.Series([], dtype="str"),
                                 "code": pd.Series([], dtype="str"), "motif": pd.Series([], dtype="str")})
        out = pd.concat(self.parts, ignore_index=True)
        return out.sort_values(["ligne", "colonne"], kind="stable", ignore_index=True)


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name].astype("str").str.replace(r"[ \t\r\n\x0b\x0c\xa0]+", " ", regex=True).str.strip()
    return pd.Series([""] * len(frame), index=frame.index, dtype="str")


_DATE_FORMATS: tuple[tuple[str, str, bool], ...] = (
    (r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}", "%Y-%m-%d", False),
    (r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2} [0-9]{1,2}:[0-9]{2}", "%Y-%m-%d %H:%M", True),
    (r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}", "%d/%m/%Y", False),
    (r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4} [0-9]{1,2}:[0-9]{2}", "%d/%m/%Y %H:%M", True),
    (r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{2}", "%d/%m/%y", False),
    (r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{2} [0-9]{1,2}:[0-9]{2}", "%d/%m/%y %H:%M", True),
)


def _parse_dates(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised date parsing: returns (datetime64 with NaT where invalid, bool time present).

    Accepted: ``AAAA-MM-JJ``, ``JJ/MM/AAAA`` (or ``JJ.MM.AAAA``, ``JJ/MM/AA``), each optionally followed by
    ``HH:MM`` (``T`` or a space before it, ``h`` allowed for ``:``, seconds ignored), and Excel serial
    numbers of the years 2000 to 2099.
    """
    t = text.str.replace(r"^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})T", r"\1 ", regex=True)
    t = t.str.replace(r"^([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{2,4})", r"\1/\2/\3", regex=True)
    t = t.str.replace(r"([0-9])[hH]([0-9]{2})", r"\1:\2", regex=True)
    t = t.str.replace(r"([0-9]{1,2}:[0-9]{2}):[0-9]{2}(?:\.[0-9]+)?$", r"\1", regex=True)
    t = t.str.replace(r"[ \t\r\n\x0b\x0c\xa0]+", " ", regex=True)
    dates = pd.Series(pd.NaT, index=text.index, dtype="datetime64[s]")
    has_time = pd.Series(False, index=text.index)
    for pattern, fmt, timed in _DATE_FORMATS:
        match = t.str.fullmatch(pattern).to_numpy(dtype=bool)
        if match.any():
            parsed = pd.to_datetime(t[match], format=fmt, errors="coerce")
            dates[match] = parsed.to_numpy(dtype="datetime64[s]")
            if timed:
                has_time[match] = True
    # Excel serial dates (1900 system, days since 1899-12-30), 2000-01-01 .. 2099-12-31
    serial_text = t.where(t.str.fullmatch(r"[0-9]{5}(?:[.,][0-9]+)?"))
    serial = pd.to_numeric(serial_text.str.replace(",", ".", regex=False), errors="coerce")
    ok_serial = serial.between(36526, 73415).to_numpy(dtype=bool)
    if ok_serial.any():
        values = serial[ok_serial].to_numpy(dtype=float)
        minutes = np.round((values - np.floor(values)) * 1440)
        stamps = (np.datetime64("1899-12-30", "s") + np.floor(values).astype("timedelta64[D]")
                  + minutes.astype("timedelta64[m]"))
        dates[ok_serial] = stamps.astype("datetime64[s]")
        has_time[ok_serial] = minutes > 0
    return dates, has_time & dates.notna()


def _parse_times(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised time parsing: (minutes since midnight, float NaN where invalid; bool valid)."""
    hm = text.str.extract(r"^([0-9]{1,2})[ ]?[:hH][ ]?([0-9]{2})?(?::[0-9]{2})?$")
    hours = pd.to_numeric(hm[0], errors="coerce")
    minutes = pd.to_numeric(hm[1], errors="coerce").fillna(0)
    total = hours * 60 + minutes
    total = total.where((hours <= 23) & (minutes <= 59))
    frac = pd.to_numeric(text.where(text.str.fullmatch(r"0?[.,][0-9]+|0")).str.replace(",", "."), errors="coerce")
    total = total.fillna(np.round(frac * 1440).where(frac < 1))
    return total, total.notna()


def _per_distinct(text: pd.Series, parse) -> tuple[pd.Series, pd.Series]:  # noqa: ANN001
    """``parse`` (text -> two Series) run once per distinct cell, its answers spread back over the rows
    (a file holds a few hundred distinct dates and times for a million rows)."""
    codes, uniques = pd.factorize(text, sort=False)
    first, second = parse(pd.Series(uniques, dtype="str"))
    return (pd.Series(first.to_numpy()[codes], index=text.index),
            pd.Series(second.to_numpy()[codes], index=text.index))


def _parse_coord(text: pd.Series) -> pd.Series:
    cleaned = text.str.replace(",", ".", regex=False).str.replace("°", "", regex=False).str.strip()
    return pd.to_numeric(cleaned.where(cleaned.str.fullmatch(r"[+-]?[0-9]{1,3}(?:\.[0-9]+)?")), errors="coerce")


def _coded_lists(text: pd.Series, *, kind: str) -> tuple[pd.Series, pd.Series]:
    """Cells of a closed list (``langue`` or ``sujets``): their stored form and a mask of invalid cells.

    A cell holds one or more values separated by ``|``, ``,``, ``;`` or ``/``; each must be in the list of
    :mod:`geo.coverage.vocabulary` (or one of its aliases). Stored: canonical spellings joined by ``|``,
    topics sorted, languages in the order given. Each distinct cell is parsed once.
    """
    splitter = re.compile(r"\s*[|,;/]\s*")

    def parse(cell: str) -> tuple[str, bool]:
        tokens = [tok for tok in splitter.split(cell.strip()) if tok]
        found = vocabulary.canonical_values(tokens, kind=kind)
        if not tokens or any(value is None for value in found):
            return "", True
        values = list(dict.fromkeys(found))
        return "|".join(sorted(values) if kind == "sujets" else values), False

    filled = text != ""
    stored = pd.Series("", index=text.index, dtype="str")
    bad = pd.Series(False, index=text.index)
    if filled.any():
        cells = text[filled]
        parsed = {cell: parse(cell) for cell in cells.unique()}
        stored[filled] = cells.map({cell: pair[0] for cell, pair in parsed.items()}).astype("str")
        bad[filled] = cells.map({cell: pair[1] for cell, pair in parsed.items()}).astype(bool)
    return stored, bad


def _fold(text: pd.Series) -> pd.Series:
    """Lower case without accents (for the civility and door-word checks)."""
    # combining accents as characters, not \u escapes: the pattern then runs in pyarrow, not per cell
    return text.str.normalize("NFKD").str.replace("[\u0300-\u036f]", "", regex=True).str.lower()


#: A word of four letters or more that is not a door word (see :data:`vocabulary.DOOR_WORDS`).
_NOT_DOOR_WORD = (r"(?<![a-z])(?!(?:" + "|".join(sorted(vocabulary.DOOR_WORDS, key=len, reverse=True))
                  + r")(?![a-z]))[a-z]{4,}")


def looks_like_a_name(text: pd.Series) -> pd.Series:
    """True for the cells holding a civility word (Mme, M., monsieur, famille...): a resident's name.

    ``text`` is a Series of strings; the answer, a boolean Series on its index (see :func:`looks_personal`).
    """
    return _fold(text.astype("str")).str.contains(vocabulary.CIVILITY_PATTERN, regex=True)


def looks_personal(text: pd.Series) -> pd.Series:
    """True for the cells holding a phone number, an e-mail address or a civility word (vectorised).

    Parameters
    ----------
    text : pandas.Series of str

    Returns
    -------
    pandas.Series of bool
    """
    text = text.astype("str")
    return (text.str.contains(_PHONE, regex=True) | text.str.contains(_EMAIL, regex=True)
            | looks_like_a_name(text))


def _map_unique(values: pd.Series, function) -> pd.Series:  # noqa: ANN001
    """Apply a Python function once per distinct value."""
    uniques = values.unique()
    mapping = {u: function(u) for u in uniques}
    return values.map(mapping)


class RankCounter:
    """How many times each visit content was met in the earlier chunks of a file (for :func:`content_keys`).

    Holds one 64-bit digest and one count per distinct content (16 bytes), in sorted arrays. Two contents
    sharing a digest (odds about 1 in 10^8 for a million rows) would only share a rank sequence: their keys
    still differ by their content, and a re-import of the same file computes the same ranks.
    """

    def __init__(self) -> None:
        self._digests = np.empty(0, dtype=np.uint64)
        self._counts = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return int(self._digests.size)

    def ranks(self, content: pd.Series) -> np.ndarray:
        """The rank of each row among the identical contents met so far (earlier chunks, then this one, in
        order); counts this chunk's contents."""
        digests = pd.util.hash_pandas_object(content, index=False).to_numpy(dtype=np.uint64)
        local = pd.Series(digests).groupby(digests, sort=False).cumcount().to_numpy(dtype=np.int64)
        uniques, inverse, counts = np.unique(digests, return_inverse=True, return_counts=True)
        at = np.searchsorted(self._digests, uniques)
        found = at < self._digests.size
        found[found] = self._digests[at[found]] == uniques[found]
        before = np.zeros(uniques.size, dtype=np.int64)
        before[found] = self._counts[at[found]]
        self._counts[at[found]] += counts[found]
        if (~found).any():
            digests_all = np.concatenate([self._digests, uniques[~found]])
            counts_all = np.concatenate([self._counts, counts[~found].astype(np.int64)])
            order = np.argsort(digests_all, kind="stable")
            self._digests, self._counts = digests_all[order], counts_all[order]
        return before[inverse.reshape(-1)] + local


def content_keys(frame: pd.DataFrame, *, ranks: RankCounter | None = None) -> pd.Series:
    """The content key of each visit (see the module docstring).

    Parameters
    ----------
    frame : pandas.DataFrame
        Valid rows with the columns of :data:`VALID_COLUMNS` (``content_key`` and ``ligne`` excepted).
    ranks : RankCounter, optional
        The contents met in the earlier chunks of the same file (updated); without it the frame is the
        whole file.

    Returns
    -------
    pandas.Series of str
        32 hexadecimal characters per row.
    """
    if frame.empty:
        return pd.Series([], index=frame.index, dtype="str")
    when = frame["visited_at"].dt.strftime("%Y-%m-%dT%H:%M")
    has = frame["lat"].notna()
    loc = pd.Series("", index=frame.index, dtype="str")
    if has.any():
        # each distinct coordinate formatted once: the doors of a building share its point
        loc[has] = (_map_unique(frame.loc[has, "lat"], "{:.6f}".format) + ","
                    + _map_unique(frame.loc[has, "lon"], "{:.6f}".format))
    if (~has).any():
        sub = frame.loc[~has]
        addr = sub["street_number"] + " " + sub["street"] + " " + sub["postcode"] + " " + sub["city"]
        loc[~has] = "adr:" + _map_unique(addr, schema.normalise_header)
    parts = [frame["campaign"].str.casefold(), frame["site"].str.casefold(), when, loc,
             frame["building"].str.casefold(), frame["door"].str.casefold(), frame["outcome"],
             frame["language"], frame["topics"], frame["voisin"].str.casefold()]
    content = parts[0]
    for part in parts[1:]:
        content = content + "\x1f" + part
    if ranks is None:
        rank = content.groupby(content, sort=False).cumcount().astype("str")
    else:
        rank = pd.Series(ranks.ranks(content), index=content.index).astype("str")
    full = (content + "\x1e" + rank).tolist()
    sha256 = hashlib.sha256
    return pd.Series([sha256(s.encode("utf-8")).hexdigest()[:32] for s in full], index=frame.index, dtype="str")


def _check_text_cells(cols: dict[str, pd.Series], problems: _Problems, n: int) -> None:
    """Control characters, required values, lengths and phone numbers or e-mails in any text cell."""
    # cheap screen on all text columns at once, then per column on the rows that matched
    combined = cols[_TEXT_COLUMNS[0]]
    for name in _TEXT_COLUMNS[1:]:
        combined = combined + " \t " + cols[name]
    suspect_ctrl = combined.str.contains(_CONTROL, regex=True).to_numpy(dtype=bool)
    suspect_pers = (combined.str.contains(_PHONE, regex=True) | combined.str.contains(_EMAIL, regex=True)
                    ).to_numpy(dtype=bool)
    for name in _TEXT_COLUMNS:
        if suspect_ctrl.any():
            hit = np.zeros(n, dtype=bool)
            hit[suspect_ctrl] = cols[name][suspect_ctrl].str.contains(_CONTROL, regex=True).to_numpy(dtype=bool)
            problems.add(hit, name, "text")
    for name in schema.REQUIRED:
        problems.add(cols[name] == "", name, "required")
    for col in schema.COLUMNS:
        if col.name not in ("date", "heure", "latitude", "longitude"):
            problems.add(cols[col.name].str.len() > col.max_length, col.name, "too_long", max_length=col.max_length)
    for name in _PERSONAL_COLUMNS:
        if suspect_pers.any():
            sub = cols[name][suspect_pers]
            hit = np.zeros(n, dtype=bool)
            hit[suspect_pers] = (sub.str.contains(_PHONE, regex=True) | sub.str.contains(_EMAIL, regex=True)
                                 ).to_numpy(dtype=bool)
            problems.add(hit, name, "personal")


def _check_identifiers(cols: dict[str, pd.Series], problems: _Problems) -> pd.Series:
    """House numbers, buildings, doors and Voisin ids: never a resident's name or phone number.

    Returns the Voisin ids in upper case (see :mod:`geo.coverage.vocabulary`).
    """
    numero = cols["numero"]
    problems.add((numero != "") & ~numero.str.fullmatch(vocabulary.HOUSE_NUMBER, case=False), "numero",
                 "house_number")
    for name in ("batiment", "porte"):
        s = cols[name]
        problems.add((s != "") & ~s.str.fullmatch(_IDENT), name, "identifier")
    batiment = cols["batiment"]
    problems.add((batiment != "") & looks_like_a_name(batiment), "batiment", "civility")
    porte = cols["porte"]
    filled = porte != ""
    if filled.any():
        folded = _fold(porte)
        bad_door = (~porte.str.contains(r"[0-9]", regex=True) | folded.str.contains(vocabulary.CIVILITY_PATTERN)
                    | folded.str.contains(_NOT_DOOR_WORD, regex=True))
        problems.add(filled & bad_door, "porte", "door")
    voisin = cols["voisin"].str.upper()
    problems.add((voisin != "") & ~voisin.str.fullmatch(vocabulary.VOISIN_CODE), "voisin", "voisin")
    return voisin


def validate_rows(frame: pd.DataFrame, *, today: dt.date | None = None,
                  field_count_errors: list[tuple[int, int, int]] | None = None,
                  allowed_sites: Collection[str] | None = None, territory: Territory | None = None,
                  lang: str = "fr", ranks: RankCounter | None = None) -> Validated:
    """Check every row of a door-visit table.

    Parameters
    ----------
    frame : pandas.DataFrame
        Column ``ligne`` and one string column per recognised schema column (from the reader).
    today : datetime.date, optional
        Latest accepted visit date (default: the current date).
    field_count_errors : list of (line, fields, expected), optional
        Rows the reader found with too many fields.
    allowed_sites : collection of str, optional
        When given, rows of other sites are rejected (a site manager imports only their own sites).
    territory : Territory, optional
        France's land (:func:`geo.coverage.territory.france_territory` of the départements layer): rows
        whose coordinates fall outside are rejected. Without it, a coarse bounding-box check applies.
    lang : {"fr", "en"}
        Language of the reasons (``motif``) of the problems (default French).
    ranks : RankCounter, optional
        For a file validated in chunks: the visit contents of its earlier chunks (see :func:`content_keys`).

    Returns
    -------
    Validated
        Valid typed rows and the list of problems.
    """
    if "ligne" not in frame.columns:
        raise ValueError(f"frame: expected a 'ligne' column, got columns {list(frame.columns)}")
    today = today or dt.date.today()
    frame = frame.reset_index(drop=True)
    n = len(frame)
    lines = frame["ligne"].to_numpy(dtype=np.int64)
    problems = _Problems(lines, lang=lang)
    if field_count_errors:
        by_line = {line: (got, expected) for line, got, expected in field_count_errors}
        for line, (got, expected) in by_line.items():
            problems.add(lines == line, "", "field_count", got=got, expected=expected)

    cols = {name: _col(frame, name) for name in schema.COLUMN_NAMES}

    _check_text_cells(cols, problems, n)

    # site: a 4-digit code lost its leading zero in a spreadsheet
    site = cols["site"].where(~cols["site"].str.fullmatch(r"[0-9]{4}"), "0" + cols["site"])
    if allowed_sites is not None:
        problems.add((site != "") & ~site.isin(list(allowed_sites)), "site", "site_scope")

    # date and time
    dates, date_has_time = _per_distinct(cols["date"], _parse_dates)
    filled = cols["date"] != ""
    problems.add(filled & dates.isna(), "date", "date")
    day = dates.dt.normalize()
    out_of_range = dates.notna() & ((day < pd.Timestamp(MIN_DATE)) | (day > pd.Timestamp(today)))
    problems.add(out_of_range, "date", "date_range")
    minutes, time_ok = _per_distinct(cols["heure"], _parse_times)
    has_heure = cols["heure"] != ""
    problems.add(has_heure & ~time_ok, "heure", "time")
    visited_at = dates.where(~(has_heure & time_ok), day + pd.to_timedelta(minutes.fillna(0), unit="min"))
    time_known = date_has_time | (has_heure & time_ok)

    # outcome
    outcome = _map_unique(cols["resultat"], lambda v: OUTCOME_ALIASES.get(schema.normalise_header(v)))
    problems.add((cols["resultat"] != "") & outcome.isna(), "resultat", "outcome")

    # coordinates
    lat_t, lon_t = cols["latitude"], cols["longitude"]
    lat, lon = _parse_coord(lat_t), _parse_coord(lon_t)
    partial = (lat_t == "") != (lon_t == "")
    problems.add(partial & (lat_t == ""), "latitude", "coords_partial")
    problems.add(partial & (lon_t == ""), "longitude", "coords_partial")
    problems.add((lat_t != "") & lat.isna(), "latitude", "number")
    problems.add((lon_t != "") & lon.isna(), "longitude", "number")
    both = (lat.notna() & lon.notna()).to_numpy(dtype=bool)
    x, y = lon.to_numpy(dtype=float), lat.to_numpy(dtype=float)
    outside = both & ~in_france(x, y, territory=territory)
    swapped = np.zeros(n, dtype=bool)
    if outside.any():  # only the points outside are tried the other way round
        swapped[outside] = in_france(y[outside], x[outside], territory=territory)
    problems.add(outside & swapped, "latitude", "coords_swapped")
    problems.add(outside & ~swapped, "latitude", "coords_outside")

    # address
    postcode = cols["code_postal"].str.replace(" ", "", regex=False)
    postcode = postcode.where(~postcode.str.fullmatch(r"[0-9]{4}"), "0" + postcode)
    bad_pc = (postcode != "") & (~postcode.str.fullmatch(r"[0-9]{5}") | (postcode == "00000"))
    problems.add(bad_pc, "code_postal", "postcode")
    has_address = (cols["voie"] != "") & ((postcode != "") | (cols["commune"] != ""))
    no_coords = (lat_t == "") & (lon_t == "")
    problems.add(no_coords & ~has_address, "voie", "location")

    voisin = _check_identifiers(cols, problems)
    topics, bad_topics = _coded_lists(cols["sujets"], kind="sujets")
    problems.add(bad_topics, "sujets", "topic")
    language, bad_language = _coded_lists(cols["langue"], kind="langue")
    problems.add(bad_language, "langue", "language")
    # canonical spellings may be longer than an alias: check the stored values too
    for name, stored in (("langue", language), ("sujets", topics)):
        limit = schema.BY_NAME[name].max_length
        problems.add((stored.str.len() > limit) & (cols[name].str.len() <= limit), name, "too_long",
                     max_length=limit)

    found = problems.frame()
    rejected = np.isin(lines, found["ligne"].to_numpy(dtype=np.int64))
    keep = ~rejected
    valid = pd.DataFrame({
        "ligne": lines[keep],
        "campaign": cols["campagne"][keep].to_numpy(),
        "site": site[keep].to_numpy(),
        "visited_at": visited_at[keep].to_numpy(dtype="datetime64[s]"),
        "time_known": time_known[keep].to_numpy(dtype=bool),
        "street_number": cols["numero"][keep].to_numpy(),
        "street": cols["voie"][keep].to_numpy(),
        "postcode": postcode[keep].to_numpy(),
        "city": cols["commune"][keep].to_numpy(),
        "lat": lat[keep].to_numpy(dtype=float),
        "lon": lon[keep].to_numpy(dtype=float),
        "building": cols["batiment"][keep].to_numpy(),
        "door": cols["porte"][keep].to_numpy(),
        "outcome": outcome[keep].astype("str").to_numpy(),
        "language": language[keep].to_numpy(),
        "topics": topics[keep].to_numpy(),
        "voisin": voisin[keep].to_numpy(),
    })
    for name in ("campaign", "site", "street_number", "street", "postcode", "city", "building", "door",
                 "outcome", "language", "topics", "voisin"):
        valid[name] = valid[name].astype("str")
    valid["content_key"] = content_keys(valid, ranks=ranks)
    logger.info("validated %d rows: %d valid, %d rejected (%d problems)", n, len(valid), int(rejected.sum()),
                len(found))
    return Validated(valid=valid, problems=found, n_rows=n)
