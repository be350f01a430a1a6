"""The blank door-visit template, as CSV or XLSX bytes (for ``voisinmap coverage template`` and the app)."""

from __future__ import annotations

import io

from geo.coverage import schema

#: Help lines written in the XLSX template's second sheet.
_HELP_TITLE = ("colonne", "obligatoire", "description", "exemple")
_RULES = (
    "Une ligne par porte frappée (une visite).",
    "Localisation : latitude et longitude, ou voie avec code_postal ou commune (adresse géocodée).",
    "Résultat : ouvert, absent, refus, a_revoir ou ne_pas_deranger.",
    "Aucune donnée personnelle sur les habitants : ni nom, ni téléphone, ni e-mail. Les colonnes de ce "
    "type font refuser le fichier.",
    "Le Voisin Malin est désigné par un identifiant pseudonyme (ex. V017), jamais par son nom.",
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
    helper.column_dimensions["C"].width = 90
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
