"""Every message a user of the door-visit import can read, in one catalogue.

Two kinds:

* **file refusals** (:data:`FILE_MESSAGES`, raised as :class:`FileRefusedError`): the whole file is refused,
  nothing is stored, ``voisinmap coverage import`` exits with status 2;
* **row rejections** (:data:`ROW_MESSAGES`): one row is left out of the store and listed in the report
  with its line, column and reason; the other rows are imported (exit status 3).

Messages never quote the content of a cell that may hold personal data. ``docs/coverage.md`` lists them all
and ``tests/coverage/test_coverage_messages.py`` triggers each one.
"""

from __future__ import annotations

from geo._errors import VoisinmapError

#: code -> French template of a file refusal.
FILE_MESSAGES: dict[str, str] = {
    "missing": "Fichier introuvable : {name}.",
    "empty": "Fichier vide : {name} ne contient aucune donnée.",
    "too_large": "Fichier trop volumineux : {size_mb} Mo, le maximum est {max_mb} Mo. Découpez-le en "
                 "plusieurs fichiers.",
    "binary": "Fichier illisible : {name} n'est ni un CSV ni un classeur XLSX (contenu binaire).",
    "xls": "Format Excel 97-2003 (.xls) non pris en charge : enregistrez {name} au format .xlsx ou CSV.",
    "xlsx_unreadable": "Classeur XLSX illisible : {name} est endommagé ou protégé par un mot de passe.",
    "no_header": "En-tête non reconnu : la première ligne de {name} doit porter les noms de colonnes du "
                 "modèle (campagne, site, date, resultat, latitude, longitude…). Obtenez le modèle avec "
                 "`voisinmap coverage template modele.csv`.",
    "missing_columns": "Colonnes obligatoires absentes de {name} : {columns}.",
    "no_location": "Aucune colonne de localisation dans {name} : il faut latitude et longitude, ou voie "
                   "avec code_postal ou commune.",
    "personal_columns": "Colonnes de données personnelles refusées dans {name} : {columns}. Les noms, "
                        "téléphones et e-mails des habitants ne doivent pas être saisis : retirez ces "
                        "colonnes puis importez à nouveau.",
    "duplicate_columns": "Colonnes en double dans {name} : {columns}.",
    "no_rows": "Aucune ligne de données : {name} ne contient que l'en-tête.",
    "too_many_rows": "Trop de lignes dans {name} : plus de {max_rows}. Découpez-le en plusieurs fichiers.",
    "malformed": "CSV mal formé dans {name}, ligne {line} : {detail}.",
}

#: code -> French template of a row rejection (the report's ``motif``).
ROW_MESSAGES: dict[str, str] = {
    "required": "valeur obligatoire manquante",
    "field_count": "nombre de champs incorrect : {got} au lieu de {expected}",
    "too_long": "texte trop long : {max_length} caractères au plus",
    "date": "date invalide : attendu AAAA-MM-JJ, JJ/MM/AAAA ou une date Excel",
    "date_range": "date hors période : avant 2010 ou dans le futur",
    "time": "heure invalide : attendu HH:MM",
    "outcome": "résultat inconnu : attendu ouvert, absent, refus, a_revoir ou ne_pas_deranger",
    "number": "coordonnée invalide : attendu un nombre décimal en degrés",
    "coords_partial": "coordonnées incomplètes : latitude et longitude vont ensemble",
    "coords_swapped": "latitude et longitude inversées ? Le point tombe hors de France dans cet ordre",
    "coords_outside": "coordonnées hors de France",
    "location": "localisation manquante : latitude et longitude, ou voie avec code postal ou commune",
    "postcode": "code postal invalide : attendu 5 chiffres",
    "identifier": "identifiant invalide : lettres, chiffres et - _ . / : seulement",
    "house_number": "numéro de voie invalide : attendu 1 à 4 chiffres suivis ou non de bis, ter, quater ou "
                    "d'une lettre (ex. 12 bis)",
    "door": "repère de porte invalide : attendu un repère avec au moins un chiffre (escalier-étage-porte, "
            "ex. A-03-12), jamais un nom",
    "civility": "nom d'habitant détecté (Mme, M., famille…) : jamais de nom dans le journal",
    "voisin": "identifiant Voisin invalide : attendu V suivi de 1 à 4 chiffres, précédé ou non d'un code "
              "d'équipe (ex. V017, GRI-V03), jamais un nom",
    "personal": "donnée personnelle détectée (téléphone ou e-mail) : la ligne n'est pas stockée",
    "topic": "sujet inconnu : attendu un ou des sujets de la liste du modèle (eau, énergie, santé…)",
    "language": "langue inconnue : attendu une ou des langues de la liste du modèle (français, arabe, soninké…)",
    "text": "texte invalide : caractères de contrôle",
    "site_scope": "site hors de votre périmètre : vous ne pouvez importer que les visites de vos sites",
}

#: code -> French template of the other messages of the import command (exit status 1).
OTHER_MESSAGES: dict[str, str] = {
    "store_unreachable": "Base de données inaccessible ({url}) : {detail}.",
    "geocoder_unavailable": "Service de géocodage injoignable ({url}) : {count} adresse(s) gardée(s) en "
                            "attente ; lancez `voisinmap coverage geocode` une fois en ligne.",
    "geocoder_error": "Le service de géocodage ({url}) a répondu {status} : {detail}.",
}


class CoverageError(VoisinmapError):
    """Base class of the errors of :mod:`geo.coverage`, carrying a catalogue ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class FileRefusedError(CoverageError):
    """The whole file is refused (nothing is stored). ``str(error)`` is the user's message."""

    def __init__(self, code: str, **fields: object) -> None:
        if code not in FILE_MESSAGES:
            raise ValueError(f"code: expected one of {sorted(FILE_MESSAGES)}, got {code!r}")
        super().__init__(code, FILE_MESSAGES[code].format(**fields))


class StoreUnavailableError(CoverageError):
    """The database cannot be opened or migrated."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__("store_unreachable", OTHER_MESSAGES["store_unreachable"].format(url=url, detail=detail))


def row_message(code: str, **fields: object) -> str:
    """The French reason of a row rejection.

    Parameters
    ----------
    code : str
        A key of :data:`ROW_MESSAGES`.
    **fields
        Values for the template's placeholders.

    Returns
    -------
    str
        The reason, as written in the report.
    """
    if code not in ROW_MESSAGES:
        raise ValueError(f"code: expected one of {sorted(ROW_MESSAGES)}, got {code!r}")
    return ROW_MESSAGES[code].format(**fields)
