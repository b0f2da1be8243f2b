"""How a worksheet's rows become cells: through XlsxWriter, or as worksheet XML (the fast path).

Both writers take the same rows of Python values (texts, numbers, moments, None for an empty
cell) with one XlsxWriter format per column, write them one after another below the header of
a worksheet in constant-memory mode, and remember each column's longest value for its width.
They make the same cells of the same values: a text too long for a cell is shortened at a word,
a text that XlsxWriter would take for rich-text XML gets a leading space, a moment is an Excel
serial in local time.

``PlainRows`` calls XlsxWriter's public ``write_string`` and ``write_number``. It writes every
small sheet of the workbook.

``XmlRows`` is the fast path, for the sheet of every submission: a row per report version,
about a hundred thousand in a large year. Through XlsxWriter's calls a row of 15 cells costs
about 100 us, and 100,000 rows three times what the whole workbook takes with ``XmlRows``:
far over the 5-second goal for the file (docs/benchmarks.md). ``XmlRows`` writes the ``<row>``
and ``<c>`` elements that XlsxWriter's constant-memory mode would write (inline strings with
its escapes, numbers with its ``%.16G``, ``xml:space="preserve"`` only where a text begins or
ends with whitespace: byte for byte what XlsxWriter writes) into a side file. Each column's
markup is made once, and a column of few distinct texts (the task, the agency, the state, the
review) remembers the finished cell of each text, so only free text (results, difficulties) is
escaped row by row. Once the workbook is closed,
``close`` copies that file into the worksheet's XML just before ``</sheetData>`` and sets the
sheet's dimension.

The fast path relies on three things XlsxWriter does not promise: a format's style index
(``Format._get_xf_index``, the ``s`` attribute of a cell), the name of a worksheet's part
(``xl/worksheets/sheetN.xml``, N its position in the workbook), and a constant-memory worksheet
whose XML ends its rows with ``</sheetData>``. tests/test_exports.py renders the same rows
through both writers and compares the two workbooks cell by cell, so an XlsxWriter upgrade
that changes any of them fails there.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from xlsxwriter.utility import xl_col_to_name

from bot.core.i18n import current_timezone
from bot.core.text import shorten

Value = str | int | float | datetime | None
"""A cell's value: a text, a number, a moment (shown in local time), or None for no cell."""

EXCEL_CELL_LIMIT = 32_767
"""The longest text a cell holds, in UTF-16 code units."""
_SHORT_ENOUGH = EXCEL_CELL_LIMIT // 2
"""A text no longer than this fits in a cell whatever its characters."""
_EXCEL_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)
_EXACT = 2**53
"""Integers smaller than this (in size) are exact as floats: %.16G writes them as str() does."""
_PENDING_PARTS = 20_000
"""How many pieces of XML (a thousand rows or so) are joined and written at once."""
_DIMENSION = re.compile(r'<dimension ref="[^"]*"/>')
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_ESCAPED = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile("([\x00-\x08\x0b-\x1f])")
_SPECIAL = re.compile("[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x")
"""What a text needs escaped in a cell: XML's three characters, control characters, ``_x``."""
_SPACES = frozenset(chr(code) for code in range(0x3001) if chr(code).isspace())
"""Whitespace, as XlsxWriter's ``\\s`` finds it at either end of a text (the last is U+3000)."""
_PRESERVE = ' xml:space="preserve">'
_REMEMBERED = 4096
"""How many distinct texts a column remembers the cell of, before it is taken for free text."""


class Rows(Protocol):
    """Where the rows of one worksheet go, one after another, below its header."""

    widths: list[int]
    """Each column's width so far: the longest text or number written in it."""

    def write(self, row: int, values: Sequence[Value], formats: Sequence[Any]) -> None:
        """Write one row (zero-based), each value in its column's format."""

    def close(self, path: Path | None) -> None:
        """Finish the workbook file once XlsxWriter has closed it (None: it is abandoned)."""


class PlainRows:
    """Rows written cell by cell through XlsxWriter's public API."""

    def __init__(self, worksheet: Any, widths: list[int]) -> None:
        self.widths = widths
        self._string = worksheet.write_string
        self._number = worksheet.write_number

    def write(self, row: int, values: Sequence[Value], formats: Sequence[Any]) -> None:
        """Write one row through XlsxWriter."""
        widths = self.widths
        for col, (value, cell_format) in enumerate(zip(values, formats, strict=False)):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                text = fit(clean(value))
                widths[col] = max(widths[col], len(text))
                self._string(row, col, text, cell_format)
            elif isinstance(value, datetime):
                self._number(row, col, serial(value), cell_format)
            else:
                widths[col] = max(widths[col], len(str(value)))
                self._number(row, col, value, cell_format)

    def close(self, path: Path | None) -> None:
        """Nothing to finish: XlsxWriter wrote every row."""


class XmlRows:
    """Rows written as worksheet XML into a side file and spliced into the closed workbook."""

    def __init__(self, workbook: Any, worksheet: Any, widths: list[int], folder: Path) -> None:
        self.widths = widths
        position = workbook.worksheets().index(worksheet) + 1
        self._part = f"xl/worksheets/sheet{position}.xml"
        self._letters = [xl_col_to_name(col) for col in range(len(widths))]
        self._rows_path = folder / f"sheet{position}.rows.xml"
        self._rows = self._rows_path.open("w", encoding="utf-8")
        self._pending: list[str] = []
        self._last_row = 0
        self._formats: Sequence[Any] = ()
        self._styles: list[tuple[int, str, str, str]] = []
        self._known: list[dict[str, str] | None] = []

    def write(self, row: int, values: Sequence[Value], formats: Sequence[Any]) -> None:
        """Write one row as XML, as XlsxWriter's constant-memory mode would."""
        # Run for every submission: what ``clean``, ``fit`` and XlsxWriter's escaping do is
        # checked here inline, and their functions called only for the rare texts they change.
        # Each column's markup around the row number is made once per set of formats, and a
        # column of few distinct texts (a task, an agency, a state) remembers each text's cell.
        if formats is not self._formats:  # a sheet has one or two sets of formats
            self._formats = formats
            self._styles = [
                (
                    col,
                    f'<c r="{letter}',
                    f'" s="{cell_format._get_xf_index()}" t="inlineStr"><is><t',
                    f'" s="{cell_format._get_xf_index()}"><v>',
                )
                for col, (letter, cell_format) in enumerate(
                    zip(self._letters, formats, strict=True)
                )
            ]
            self._known = [{} for _ in formats]
        widths, special, short_enough = self.widths, _SPECIAL.search, _SHORT_ENOUGH
        known, spaces = self._known, _SPACES
        number = row + 1
        parts = self._pending
        append = parts.append
        append(f'<row r="{number}">')
        for (col, opening, text, figure), value in zip(self._styles, values, strict=False):
            if isinstance(value, str):
                if not value:
                    continue
                seen = known[col]
                if seen is not None:
                    cell = seen.get(value)
                    if cell is not None:
                        append(f"{opening}{number}{cell}")
                        continue
                original = value
                if value.startswith("<r>"):
                    value = clean(value)
                if len(value) > short_enough:
                    value = fit(value)
                if len(value) > widths[col]:
                    widths[col] = len(value)
                if special(value):
                    value = _escape(value)
                # XlsxWriter keeps leading or trailing whitespace with xml:space="preserve".
                space = _PRESERVE if value[0] in spaces or value[-1] in spaces else ">"
                cell = f"{text}{space}{value}</t></is></c>"
                append(f"{opening}{number}{cell}")
                if seen is not None:
                    if len(seen) < _REMEMBERED:
                        seen[original] = cell
                    else:
                        known[col] = None  # a column of free text: nothing worth remembering
            elif value is None:
                continue
            elif isinstance(value, datetime):
                append(f"{opening}{number}{figure}{serial(value):.16G}</v></c>")
            else:
                if value.__class__ is int and -_EXACT < value < _EXACT:
                    shown = str(value)  # what %.16G makes of it, sooner
                    if len(shown) > widths[col]:
                        widths[col] = len(shown)
                else:
                    if len(str(value)) > widths[col]:
                        widths[col] = len(str(value))
                    shown = f"{value:.16G}"
                append(f"{opening}{number}{figure}{shown}</v></c>")
        append("</row>")
        if len(parts) > _PENDING_PARTS:
            self._flush()
        self._last_row = number

    def close(self, path: Path | None) -> None:
        """Copy the rows into their worksheet, inside the workbook XlsxWriter closed."""
        if path is None:
            self._rows.close()
            return
        self._flush()
        self._rows.close()
        source = path.with_name(path.name + ".without-rows")
        path.rename(source)
        with (
            zipfile.ZipFile(source) as old,
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as new,
        ):
            for info in old.infolist():
                data = old.read(info.filename)
                if info.filename != self._part:
                    new.writestr(info, data)
                    continue
                head, tail = data.decode("utf-8").split("</sheetData>", 1)
                if self._last_row:
                    last = f"{self._letters[-1]}{self._last_row}"
                    head = _DIMENSION.sub(f'<dimension ref="A1:{last}"/>', head, count=1)
                with new.open(info.filename, "w", force_zip64=True) as target:
                    target.write(head.encode("utf-8"))
                    with self._rows_path.open("rb") as rows:
                        shutil.copyfileobj(rows, target, 1 << 20)
                    target.write(("</sheetData>" + tail).encode("utf-8"))
        source.unlink()
        self._rows_path.unlink()

    def _flush(self) -> None:
        self._rows.write("".join(self._pending))
        self._pending.clear()


def clean(text: str) -> str:
    """Keep a text from being taken for rich-text XML by XlsxWriter."""
    if text.startswith("<r>") and text.endswith("</r>"):
        text = " " + text  # XlsxWriter would write it unescaped as rich text
    return text


def fit(text: str) -> str:
    """Shorten a text that a cell cannot hold, at a word, with an ellipsis."""
    if len(text) > _SHORT_ENOUGH:
        excess = len(text.encode("utf-16-le")) // 2 - EXCEL_CELL_LIMIT
        if excess > 0:
            text = shorten(text, len(text) - excess - 1)
    return text


def serial(moment: datetime) -> float:
    """Return a moment as an Excel date serial in local time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # a naive moment is taken as UTC
    offset = moment.astimezone(current_timezone()).utcoffset()
    return (moment - _EXCEL_EPOCH + offset).total_seconds() / 86_400  # type: ignore[operator]


def _escape(text: str) -> str:
    """Escape a text as XlsxWriter does: controls as ``_xHHHH_`` (and ``_x`` itself), then XML."""
    if "_x" in text or _UNSAFE.search(text):
        text = _ESCAPED.sub(r"_x005F\1", text)
        text = _CONTROL.sub(lambda match: f"_x{ord(match.group(1)):04X}_", text)
        text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
