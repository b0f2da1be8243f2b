"""Page and table helpers for official documents in python-docx (Decree 30/2020/NĐ-CP layout).

A4 pages in Times New Roman, body text in 14 pt with its first line indented, short centred
rules under headings, borderless and fixed-width tables, table rows that repeat as a header or
never split across pages, and a landscape section for wide appendices. What a document says is
written in :mod:`handlers.exports.document`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

FONT = "Times New Roman"
BODY_SIZE = 14
LANDSCAPE_MARGINS_MM = (20, 20, 25, 15)  # top, bottom, left, right
CENTER = WD_ALIGN_PARAGRAPH.CENTER
JUSTIFY = WD_ALIGN_PARAGRAPH.JUSTIFY
LEFT = WD_ALIGN_PARAGRAPH.LEFT

Container = Any  # a Document or a table cell: both have add_paragraph

# Word wants the children of w:pPr and w:tblPr in schema order.
AFTER_PBDR = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
    "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd",
    "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents",
    "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment", "w:textboxTightWrap",
    "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)  # fmt: skip
AFTER_TBLBORDERS = (
    "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption", "w:tblDescription",
    "w:tblPrChange",
)  # fmt: skip


def page_setup(document: Any) -> None:
    """Lay out the first section as Decree 30 asks: A4 portrait, margins, font, page numbers."""
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance, section.footer_distance = Mm(10), Mm(10)
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_SIZE)
    defaults = document.styles.element.xpath("w:docDefaults/w:rPrDefault/w:rPr/w:rFonts")
    for fonts in [*defaults, normal.element.get_or_add_rPr().get_or_add_rFonts()]:
        fonts.attrib.clear()  # theme fonts would win over the names below
        for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            fonts.set(qn(attribute), FONT)
    for language in document.styles.element.xpath("w:docDefaults/w:rPrDefault/w:rPr/w:lang"):
        language.set(qn("w:val"), "vi-VN")
    paragraph = normal.paragraph_format
    paragraph.space_before, paragraph.space_after = Pt(0), Pt(6)
    paragraph.line_spacing = 1.15
    # Page numbers at the top centre from the second page (Decree 30, appendix I).
    section.different_first_page_header_footer = True
    number = section.header.paragraphs[0]
    number.alignment = CENTER
    field(number, "PAGE")


def para(
    where: Container,
    text: str = "",
    *,
    bold: bool = False,
    italic: bool = False,
    align: Any = JUSTIFY,
    size: float | None = None,
    indent: bool = True,
    after: float | None = None,
) -> Any:
    """Add a paragraph of one run, indented on its first line like body text by default."""
    paragraph = where.add_paragraph()
    paragraph.alignment = align
    if indent and align == JUSTIFY:
        paragraph.paragraph_format.first_line_indent = Mm(10)
    if after is not None:
        paragraph.paragraph_format.space_after = Pt(after)
    if text:
        run(paragraph, text, bold=bold, italic=italic, size=size)
    return paragraph


def run(
    paragraph: Any,
    text: str,
    *,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    size: float | None = None,
) -> Any:
    """Add a run of text to a paragraph; a style left unset follows the paragraph's."""
    run = paragraph.add_run(text)
    run.bold = bold or None
    run.italic = italic or None
    run.underline = underline or None
    if size is not None:
        run.font.size = Pt(size)
    return run


def rule(where: Container, length_mm: float, width_mm: float) -> None:
    """Draw a short centred line (a bordered empty paragraph) under the previous paragraph."""
    paragraph = where.add_paragraph()
    margin = max(0.0, (width_mm - length_mm) / 2)
    fmt = paragraph.paragraph_format
    fmt.left_indent, fmt.right_indent = Mm(margin), Mm(margin)
    fmt.space_before, fmt.space_after = Pt(0), Pt(4)
    fmt.line_spacing = Pt(2)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "auto")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().insert_element_before(borders, *AFTER_PBDR)


def field(paragraph: Any, instruction: str) -> None:
    """Append a simple field (such as ``PAGE``) to a paragraph."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def borderless(table: Any) -> None:
    """Remove every border of a table."""
    properties = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    properties.insert_element_before(borders, *AFTER_TBLBORDERS)


def widths(table: Any, widths_mm: Iterable[float]) -> None:
    """Fix the width of each column of a table, in millimetres."""
    table.autofit = False
    widths = list(widths_mm)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Mm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = Mm(width)


def cell_margins(table: Any, margin_mm: float) -> None:
    """Set the left and right margins of every cell of a table, in millimetres."""
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:w"), str(round(margin_mm * 56.7)))  # twentieths of a point
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    table._tbl.tblPr.insert_element_before(margins, *AFTER_TBLBORDERS[3:])


def first_paragraph(cell: Any) -> Any:
    """Return the empty paragraph a new cell holds, so the cell starts without a blank line."""
    return cell.paragraphs[0]


def cell_line(
    cell: Any,
    text: str,
    *,
    first: bool = False,
    bold: bool = False,
    italic: bool = False,
    size: float = 13,
    align: Any = CENTER,
) -> Any:
    """Add a line of text to a table cell (the first one fills the cell's empty paragraph)."""
    paragraph = first_paragraph(cell) if first else cell.add_paragraph()
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.paragraph_format.first_line_indent = None
    run(paragraph, text, bold=bold, italic=italic, size=size)
    return paragraph


def landscape(document: Any) -> None:
    """Start a new landscape A4 section (its page numbers go on from the body's)."""
    section = document.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    top, bottom, left, right = LANDSCAPE_MARGINS_MM
    section.top_margin, section.bottom_margin = Mm(top), Mm(bottom)
    section.left_margin, section.right_margin = Mm(left), Mm(right)
    section.different_first_page_header_footer = False


def repeat_header(row: Any) -> None:
    """Repeat a table's first row at the top of every page, and never split it."""
    properties = row._tr.get_or_add_trPr()
    cant_split = OxmlElement("w:cantSplit")
    properties.append(cant_split)
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)


def keep_row_whole(row: Any) -> None:
    """Keep a row on one page: a task is never split across two pages."""
    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
