"""The documented column schema of door-visit logs (CSV or XLSX).

One row is one knock on one door. Column names are French; common English or French variants are
accepted (:data:`ALIASES`), compared after :func:`normalise_header` (lower case, no accents, ``_`` for
spaces). Columns that would hold personal data about residents (names, phone numbers, e-mails, dates of
birth...) make the whole file refused: the store keeps the minimum, a pseudonymous Voisin id only.
Unknown other columns are ignored and never stored.

>>> resolve_header(["Campagne", "Site", "Date de visite", "Résultat", "Latitude", "Longitude"]).columns
('campagne', 'site', 'date', 'resultat', 'latitude', 'longitude')
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from geo.i18n import DEFAULT_LANG, MessageView, t

#: Outcomes of a knock, in display order.
OUTCOMES: tuple[str, ...] = ("ouvert", "absent", "refus", "a_revoir", "ne_pas_deranger")

#: Labels of the outcomes (interface and exports), in French; :func:`outcome_labels` in either language.
OUTCOME_LABELS = MessageView("coverage.outcome", OUTCOMES)


def outcome_labels(lang: str = DEFAULT_LANG) -> MessageView:
    """``{outcome: label}`` in ``lang`` (``"ouvert"`` -> « porte ouverte » / "door opened")."""
    return MessageView("coverage.outcome", OUTCOMES, lang)


@dataclass(frozen=True)
class Column:
    """One column of the schema; its description is the message ``coverage.column.<name>``."""

    name: str
    required: bool
    example: str
    max_length: int = 80

    @property
    def description(self) -> str:
        """The French description (help sheet of the template, documentation)."""
        return self.describe(DEFAULT_LANG)

    def describe(self, lang: str = DEFAULT_LANG) -> str:
        """The description in ``lang``."""
        return t(COLUMN_DESCRIPTIONS.msgid(self.name), lang)


#: The columns, in template order.
COLUMNS: tuple[Column, ...] = tuple(Column(name, required, example, max_length) for name, required, example, max_length in (
    ("campagne", True, "Eau et énergie 2025", 80), ("site", True, "91286", 60), ("date", True, "2025-03-18", 80),
    ("heure", False, "18:30", 8), ("numero", False, "12 bis", 10), ("voie", False, "avenue des Tuileries", 120),
    ("code_postal", False, "91350", 5), ("commune", False, "Grigny", 80), ("latitude", False, "48.6511", 20),
    ("longitude", False, "2.3766", 20), ("batiment", False, "GB-T12", 40), ("porte", False, "A-03-12", 40),
    ("resultat", True, "ouvert", 30), ("langue", False, "français", 30), ("sujets", False, "eau|énergie", 200),
    ("voisin", False, "V017", 32),
))

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
#: column name -> French description (a view of the catalogue; :meth:`Column.describe` for English).
COLUMN_DESCRIPTIONS = MessageView("coverage.column", COLUMN_NAMES)
REQUIRED: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required)
BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}

#: Accepted variants (after :func:`normalise_header`) -> canonical column name.
ALIASES: dict[str, str] = {
    **{name: name for name in COLUMN_NAMES},
    "campaign": "campagne", "nom_campagne": "campagne", "mission": "campagne",
    "code_site": "site", "antenne": "site",
    "date_visite": "date", "date_de_visite": "date", "date_de_passage": "date", "date_passage": "date",
    "visit_date": "date", "jour": "date", "date_heure": "date", "datetime": "date",
    "heure_visite": "heure", "heure_de_visite": "heure", "time": "heure", "visit_time": "heure",
    "num": "numero", "no": "numero", "n": "numero", "numero_voie": "numero", "numero_de_voie": "numero",
    "housenumber": "numero", "street_number": "numero",
    "rue": "voie", "adresse": "voie", "street": "voie", "nom_voie": "voie", "nom_de_voie": "voie",
    "libelle_voie": "voie",
    "cp": "code_postal", "postcode": "code_postal", "postal_code": "code_postal",
    "ville": "commune", "city": "commune",
    "lat": "latitude", "lon": "longitude", "lng": "longitude", "long": "longitude",
    "building": "batiment", "building_id": "batiment", "id_batiment": "batiment", "immeuble": "batiment",
    "door": "porte", "logement": "porte",
    "outcome": "resultat", "result": "resultat", "issue": "resultat", "statut": "resultat",
    "language": "langue", "langue_echange": "langue", "langue_de_l_echange": "langue",
    "sujet": "sujets", "topics": "sujets", "topic": "sujets", "themes": "sujets", "thematiques": "sujets",
    "voisin_id": "voisin", "id_voisin": "voisin", "voisin_malin": "voisin", "voisin_id_pseudonyme": "voisin",
}

#: Words that mark a column of personal data about residents (matched on ``_``-separated words).
PERSONAL_WORDS: frozenset[str] = frozenset({
    "nom", "noms", "prenom", "prenoms", "name", "names", "firstname", "lastname", "surname", "patronyme",
    "telephone", "tel", "tél", "phone", "portable", "mobile", "gsm", "fixe",
    "email", "mail", "courriel", "emails",
    "naissance", "birth", "birthday", "nir", "secu", "iban", "habitant", "habitante", "resident",
    "locataire", "occupant",
})
#: Whole headers (normalised) that are personal though none of their words is in :data:`PERSONAL_WORDS`.
PERSONAL_HEADERS: frozenset[str] = frozenset({"first_name", "last_name", "e_mail", "date_de_naissance",
                                              "age", "ddn", "num_allocataire", "numero_allocataire"})

#: Location groups: a file needs one of them in its header.
LOCATION_GROUPS: tuple[tuple[str, ...], ...] = (("latitude", "longitude"), ("voie", "code_postal"),
                                                ("voie", "commune"))


def normalise_header(text: str) -> str:
    """Lower-case, strip accents and the BOM, and turn every run of other characters into ``_``.

    >>> normalise_header(" Date de visite ")
    'date_de_visite'
    >>> normalise_header("Résultat")
    'resultat'
    """
    text = unicodedata.normalize("NFKD", str(text).replace("\ufeff", ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def is_personal_header(normalised: str) -> bool:
    """True when a normalised header names personal data about residents (name, phone, e-mail...)."""
    if normalised in PERSONAL_HEADERS:
        return True
    return any(word in PERSONAL_WORDS for word in normalised.split("_"))


@dataclass(frozen=True)
class HeaderMap:
    """How the header of a file maps to the schema.

    Attributes
    ----------
    columns : tuple of str
        Canonical names of the recognised columns, in file order.
    positions : tuple of int
        Their positions in the file.
    ignored : tuple of str
        Headers (as written) of the columns that are ignored and never stored.
    personal : tuple of str
        Headers (as written) of columns refused as personal data.
    duplicated : tuple of str
        Canonical names that appear more than once.
    """

    columns: tuple[str, ...]
    positions: tuple[int, ...]
    ignored: tuple[str, ...]
    personal: tuple[str, ...]
    duplicated: tuple[str, ...]

    @property
    def missing_required(self) -> tuple[str, ...]:
        """Required columns absent from the header."""
        return tuple(name for name in REQUIRED if name not in self.columns)

    @property
    def has_location(self) -> bool:
        """True when the header holds one of the :data:`LOCATION_GROUPS`."""
        return any(all(name in self.columns for name in group) for group in LOCATION_GROUPS)


def resolve_header(header: list[str] | tuple[str, ...]) -> HeaderMap:
    """Map the cells of a header line to the schema.

    Parameters
    ----------
    header : sequence of str
        The cells of the first line, as read.

    Returns
    -------
    HeaderMap
        Recognised, ignored, personal and duplicated columns.
    """
    columns: list[str] = []
    positions: list[int] = []
    ignored: list[str] = []
    personal: list[str] = []
    duplicated: list[str] = []
    for pos, cell in enumerate(header):
        raw = "" if cell is None else str(cell).strip()
        norm = normalise_header(raw)
        if not norm:
            continue
        name = ALIASES.get(norm)
        if name is None:
            (personal if is_personal_header(norm) else ignored).append(raw[:60])
            continue
        if name in columns:
            duplicated.append(name)
            continue
        columns.append(name)
        positions.append(pos)
    return HeaderMap(tuple(columns), tuple(positions), tuple(ignored), tuple(personal), tuple(duplicated))
