"""The blank door-visit template, as CSV or XLSX bytes (for ``voisinmap coverage template`` and the app)."""

from __future__ import annotations

import io

from geo.coverage import schema, vocabulary

#: Help lines written in the XLSX template's second sheet.
_HELP_TITLE = ("colonne", "obligatoire", "description", "exemple")
_RULES = (
    "Une ligne par porte frappée (une visite).",
    "Localisation : latitude et longitude, ou voie avec code_postal ou commune (adresse géocodée).",
    "Résultat : ouvert, absent, refus, a_revoir ou ne_pas_deranger.",
    "Aucune donnée personnelle sur les habitants : ni nom, ni téléphone, ni e-mail. Les colonnes de ce "
    "type font refuser le fichier.",
    "Le Voisin Malin est désigné par un code pseudonyme : V suivi de 1 à 4 chiffres, précédé ou non d'un "
    "code d'équipe de 2 à 5 lettres ou chiffres et d'un tiret (V017, GRI-V03), jamais par son nom.",
    "numero : un numéro de voie (12, 12 bis, 4B), jamais un numéro de téléphone.",
    "porte : un repère avec au moins un chiffre (A-03-12, esc B étage 3 porte 12), jamais un nom "
    "(Mme, M., famille…).",
    "langue et sujets : une ou plusieurs valeurs des listes ci-dessous, séparées par | ou , (la casse et les "
    "accents ne comptent pas).",
    "Séparateur ; ou , ; encodage UTF-8 ou Windows (Latin-1) ; les dates Excel sont acceptées.",
)


def template_csv() -> bytes:
    """The header line of the schema, ``;``-separated, UTF-8 with BOM (opens cleanly in Excel)."""
    return ("\ufeff" + ";".join(schema.COLUMN_NAMES) + "\r\n").encode("utf-8")


def template_xlsx() -> bytes:
    """A workbook: sheet ``visites`` (the header, ready to fill) and sheet ``aide`` (one line per column)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "visites"
    sheet.append(list(schema.COLUMN_NAMES))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for col, column in zip(sheet.iter_cols(min_row=1, max_row=1), schema.COLUMNS, strict=True):
        sheet.column_dimensions[col[0].column_letter].width = max(12, len(column.name) + 4)
    date_col = sheet.cell(row=1, column=schema.COLUMN_NAMES.index("date") + 1).column_letter
    for row in range(2, 1002):
        sheet[f"{date_col}{row}"].number_format = "yyyy-mm-dd"
    helper = book.create_sheet("aide")
    helper.append(list(_HELP_TITLE))
    for cell in helper[1]:
        cell.font = Font(bold=True)
    for column in schema.COLUMNS:
        helper.append([column.name, "oui" if column.required else "non", column.description, column.example])
    helper.append([])
    for rule in _RULES:
        helper.append([rule])
    helper.append([])
    helper.append(["langues acceptées", ", ".join(vocabulary.LANGUAGES)])
    helper.append(["sujets acceptés", ", ".join(vocabulary.TOPICS)])
    helper.column_dimensions["C"].width = 90
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
