"""Closed, documented lists of the door-visit log's coded columns, and the patterns of its identifiers.

A free-text cell is where personal data slips in (a resident's name in "sujets", a phone number as a street
number, "Mme Diallo" as a door mark). So the columns that describe a visit accept only:

* ``langue`` -- one or more languages of :data:`LANGUAGES` (or an alias of :data:`LANGUAGE_ALIASES`);
* ``sujets`` -- one or more topics of :data:`TOPICS` (or an alias of :data:`TOPIC_ALIASES`);
* ``numero`` -- a house number, :data:`HOUSE_NUMBER` (``12``, ``12 bis``, ``4B``);
* ``porte`` -- a door mark with at least one digit, no civility word (:data:`CIVILITY`) and no word of four
  letters or more outside :data:`DOOR_WORDS` (``A-03-12``, ``esc B étage 3 porte 12``);
* ``voisin`` -- a pseudonymous code, :data:`VOISIN_CODE` (``V017``, or with a team prefix ``GRI-V03``).

Case, accents, spaces and hyphens do not matter (values are compared after
:func:`geo.coverage.schema.normalise_header`); the canonical spelling is stored. ``docs/coverage.md`` lists
every value and alias; a test checks that it does.

>>> canonical_values(["Francais", "kabyle", "Mme Diallo"], kind="langue")
['français', 'berbère', None]
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from geo.coverage.schema import normalise_header

#: Languages of the conversation (French names, lower case), in display order.
LANGUAGES: tuple[str, ...] = (
    "français", "arabe", "berbère", "anglais", "espagnol", "portugais", "italien", "allemand", "néerlandais",
    "turc", "kurde", "arménien", "géorgien", "russe", "ukrainien", "polonais", "roumain", "romani", "bulgare",
    "serbo-croate", "albanais", "grec", "tchétchène", "persan", "pachto", "ourdou", "hindi", "pendjabi",
    "bengali", "tamoul", "cinghalais", "mandarin", "cantonais", "vietnamien", "khmer", "lao", "tagalog",
    "hébreu", "wolof", "soninké", "bambara", "peul", "malinké", "dioula", "lingala", "kikongo", "swahili",
    "somali", "tigrigna", "amharique", "haoussa", "yoruba", "twi", "éwé", "fon", "mooré", "sango",
    "kinyarwanda", "kirundi", "malgache", "comorien", "shimaoré", "créole", "langue des signes", "autre",
)

#: Other spellings (English names, regional names, ISO 639-1 codes) -> language of :data:`LANGUAGES`.
LANGUAGE_ALIASES: dict[str, str] = {
    "fr": "français", "french": "français",
    "ar": "arabe", "arabic": "arabe", "darija": "arabe", "arabe dialectal": "arabe",
    "berber": "berbère", "kabyle": "berbère", "tamazight": "berbère", "chleuh": "berbère", "rifain": "berbère",
    "chaoui": "berbère",
    "en": "anglais", "english": "anglais", "es": "espagnol", "spanish": "espagnol",
    "pt": "portugais", "portuguese": "portugais", "it": "italien", "italian": "italien",
    "de": "allemand", "german": "allemand", "dutch": "néerlandais", "tr": "turc", "turkish": "turc",
    "kurdish": "kurde", "armenian": "arménien", "georgian": "géorgien", "russian": "russe",
    "ukrainian": "ukrainien", "polish": "polonais", "romanian": "roumain", "romanes": "romani",
    "bulgarian": "bulgare", "serbe": "serbo-croate", "croate": "serbo-croate", "bosniaque": "serbo-croate",
    "serbian": "serbo-croate", "croatian": "serbo-croate", "bosnian": "serbo-croate", "albanian": "albanais",
    "greek": "grec", "chechen": "tchétchène", "farsi": "persan", "persian": "persan", "dari": "persan",
    "pashto": "pachto", "pachtou": "pachto", "urdu": "ourdou", "punjabi": "pendjabi", "panjabi": "pendjabi",
    "bangla": "bengali", "tamil": "tamoul", "singhalais": "cinghalais", "sinhala": "cinghalais",
    "chinois": "mandarin", "chinese": "mandarin", "cantonese": "cantonais", "vietnamese": "vietnamien",
    "cambodgien": "khmer", "filipino": "tagalog", "hebrew": "hébreu", "sarakole": "soninké",
    "soninke": "soninké", "pulaar": "peul", "fulfulde": "peul", "fula": "peul", "mandingue": "malinké",
    "jula": "dioula", "dyula": "dioula", "tigrinya": "tigrigna", "amharic": "amharique", "hausa": "haoussa",
    "ewe": "éwé", "moore": "mooré", "mossi": "mooré", "malagasy": "malgache", "shikomori": "comorien",
    "mahorais": "shimaoré", "shimaore": "shimaoré", "creole haitien": "créole", "creole antillais": "créole",
    "creole reunionnais": "créole", "creole guyanais": "créole", "creole mauricien": "créole",
    "creole": "créole", "lsf": "langue des signes", "langue des signes francaise": "langue des signes",
    "other": "autre",
}

#: Topics of the conversation (lower case), in display order.
TOPICS: tuple[str, ...] = (
    "eau", "énergie", "chèque énergie", "précarité énergétique", "chauffage", "logement", "relogement",
    "renouvellement urbain", "charges", "loyer", "bailleur", "santé", "dépistage", "vaccination", "mutuelle",
    "accès aux soins", "droits", "caf", "retraite", "emploi", "formation", "budget", "banque", "impôts",
    "école", "cantine", "périscolaire", "jeunesse", "parentalité", "numérique", "démarches en ligne",
    "transport", "tarification", "mobilité", "déchets", "tri", "propreté", "cadre de vie", "tranquillité",
    "sécurité", "citoyenneté", "élections", "recensement", "alimentation", "culture", "sport", "seniors",
    "handicap", "environnement", "consommation", "internet", "autre",
)

#: Other spellings -> topic of :data:`TOPICS`.
TOPIC_ALIASES: dict[str, str] = {
    "water": "eau", "energy": "énergie", "electricite": "énergie", "gaz": "énergie",
    "cheque": "chèque énergie", "precarite": "précarité énergétique", "heating": "chauffage",
    "housing": "logement", "logement social": "logement", "renovation urbaine": "renouvellement urbain",
    "npnru": "renouvellement urbain", "anru": "renouvellement urbain", "rent": "loyer",
    "health": "santé", "depistages": "dépistage", "vaccins": "vaccination", "complementaire sante": "mutuelle",
    "acces aux droits": "droits", "rsa": "droits", "apl": "caf", "allocations": "caf",
    "allocations familiales": "caf", "job": "emploi", "employment": "emploi", "impots": "impôts",
    "school": "école", "scolarite": "école", "rentree scolaire": "école", "restauration scolaire": "cantine",
    "youth": "jeunesse", "digital": "numérique", "inclusion numerique": "numérique",
    "demarches": "démarches en ligne", "transports": "transport", "mobility": "mobilité",
    "waste": "déchets", "tri selectif": "tri", "cleanliness": "propreté", "safety": "sécurité",
    "vote": "élections", "elections": "élections", "inscription electorale": "élections", "food": "alimentation",
    "elderly": "seniors", "disability": "handicap", "climat": "environnement", "environment": "environnement",
    "fibre": "internet", "other": "autre",
}

#: A house number: 1 to 4 digits, optionally ``bis``, ``ter``, ``quater`` or one letter (case-insensitive).
HOUSE_NUMBER = r"^[0-9]{1,4}(?: ?(?:bis|ter|quater|[a-z]))?$"

#: A Voisin's pseudonymous code (after upper-casing): ``V`` and 1 to 4 digits, optionally after a team prefix
#: of 2 to 5 capital letters or digits and a hyphen (``V017``, ``GRI-V03``, ``P19-V12``).
VOISIN_CODE = r"^(?:[A-Z0-9]{2,5}-)?V[0-9]{1,4}$"

#: Civility words (after lower-casing and removing accents) that mark a resident's name.
CIVILITY: tuple[str, ...] = ("m.", "mme", "mmes", "madame", "mesdames", "mlle", "mlles", "melle",
                             "mademoiselle", "mr", "mrs", "monsieur", "messieurs", "mister", "miss", "famille",
                             "fam", "chez", "veuve", "vve", "epoux", "epouse")
#: Pattern of :data:`CIVILITY` on lower-case, accent-free text (whole words; ``m.`` before a word).
CIVILITY_PATTERN = (r"(?:^|[^a-z0-9])(?:" + "|".join(re.escape(w) for w in CIVILITY if w != "m.")
                    + r")(?:$|[^a-z0-9])|(?:^|[^a-z0-9])m\. ?[a-z]")

#: Words of four letters or more accepted in a door mark (lower case, no accents).
DOOR_WORDS: frozenset[str] = frozenset({
    "escalier", "etage", "porte", "appartement", "appart", "logement", "batiment", "gauche", "droite",
    "face", "fond", "entree", "hall", "tour", "niveau", "palier", "bloc", "aile", "cage", "couloir", "studio",
    "duplex", "pavillon", "maison", "sous", "haut", "milieu", "centre", "cote", "numero", "door",
    "floor", "stair", "stairs", "left", "right", "unit", "flat",
})

_KINDS = ("langue", "sujets")


def _lookup(kind: str) -> dict[str, str]:
    if kind not in _KINDS:
        raise ValueError(f"kind: expected one of {list(_KINDS)}, got {kind!r}")
    values, aliases = (LANGUAGES, LANGUAGE_ALIASES) if kind == "langue" else (TOPICS, TOPIC_ALIASES)
    table = {normalise_header(alias): value for alias, value in aliases.items()}
    table.update({normalise_header(value): value for value in values})
    return table


_TABLES: dict[str, dict[str, str]] = {kind: _lookup(kind) for kind in _KINDS}


def canonical_values(values: Iterable[str], *, kind: str) -> list[str | None]:
    """The canonical spelling of each single value, or None when it is not in the list.

    Parameters
    ----------
    values : iterable of str
        Single values (one language, one topic).
    kind : {"langue", "sujets"}
        Which list.

    Returns
    -------
    list of (str or None)
    """
    if kind not in _TABLES:
        raise ValueError(f"kind: expected one of {list(_KINDS)}, got {kind!r}")
    table = _TABLES[kind]
    return [table.get(normalise_header(v)) for v in values]


def documented_values() -> dict[str, tuple[str, ...]]:
    """Every accepted spelling, by column (``docs/coverage.md`` lists them)."""
    return {"langue": LANGUAGES + tuple(LANGUAGE_ALIASES), "sujets": TOPICS + tuple(TOPIC_ALIASES)}
