"""The Vietnamese catalog: complete, consistent with the code, compiled, formatting right."""

from __future__ import annotations

import ast
import logging
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.core.i18n import format_day, format_moment, format_score
from bot.terminal import VietnameseFormatter

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "locales" / "vi" / "LC_MESSAGES" / "bot.po"
POT = ROOT / "locales" / "bot.pot"
PLACEHOLDER = re.compile(r"%\(\w+\)s")
CONVERSION = re.compile(r"%[#0 +-]*\d*(?:\.\d+)?[sdrfi]")
"""A positional conversion (``%s``, ``%.0f``) of a log message, kept in order when translated."""
LOG_KEYWORDS = re.findall(
    r"^LOG_KEYWORDS := (.*)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE
)[0].split()
"""The logging calls whose messages are extracted, as ``make catalog-extract`` names them."""


def _read(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def _ids(catalog: Catalog) -> set[str]:
    return {str(m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id}


def test_every_message_is_translated_with_its_placeholders() -> None:
    problems = []
    for message in _read(PO):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated: {ids[0]!r}")
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        positional = CONVERSION.findall(ids[-1].replace("%%", ""))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) != wanted:
                problems.append(f"placeholders differ: {ids[0]!r}")
            if CONVERSION.findall(string.replace("%%", "")) != positional:
                problems.append(f"conversions differ or moved: {ids[0]!r}")
    assert problems == []


def test_committed_catalog_matches_a_fresh_extraction(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "--mapping",
            "babel.cfg",
            "--no-location",
            *LOG_KEYWORDS,
            "--output",
            str(fresh),
            "bot",
            "handlers",
            "storage",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    extracted = _ids(_read(fresh))
    assert extracted == _ids(_read(POT)), "run `make catalog-update`"
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in _read(PO) if m.id}
    assert translated == extracted, "run `make catalog-update` and translate the new strings"


def test_dates_are_written_the_vietnamese_way() -> None:
    assert format_day(date(2024, 12, 10)) == "thứ Ba, 10/12/2024"
    assert format_day(date(2024, 7, 20)) == "thứ Bảy, 20/07/2024"
    assert format_day(date(2024, 12, 15)) == "Chủ nhật, 15/12/2024"
    # 01:30 UTC is 08:30 in Hà Nội
    assert format_moment(datetime(2024, 12, 10, 1, 30, tzinfo=UTC)) == "08:30, thứ Ba, 10/12/2024"
    assert format_moment(datetime(2024, 12, 9, 17, 5, tzinfo=UTC)) == "00:05, thứ Ba, 10/12/2024"
    assert format_score(4.84) == "4,84"
    assert format_score(17.3) == "17,30"


LOG_METHODS = {"info", "warning", "error", "exception", "critical"}


def test_every_log_message_the_administrator_reads_is_a_literal_in_the_catalog() -> None:
    """A message built at run time could not be looked up: each is a literal, extracted."""
    extracted = _ids(_read(POT))
    problems = []
    for path in sorted(
        p for d in ("bot", "handlers", "storage") for p in (ROOT / d).rglob("*.py")
    ):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in LOG_METHODS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "logger"
            ):
                continue
            first = node.args[0] if node.args else None
            if (  # translated where it is logged: _("...")
                isinstance(first, ast.Call)
                and isinstance(first.func, ast.Name)
                and first.func.id == "_"
                and first.args
            ):
                first = first.args[0]
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                problems.append(f"{where}: the message is not a literal")
            elif first.value not in extracted:
                problems.append(f"{where}: {first.value!r} is not in the catalog")
    assert problems == []


def test_log_lines_are_written_in_vietnamese() -> None:
    formatter = VietnameseFormatter()
    ours = logging.LogRecord(
        "bot.channels.telegram",
        logging.WARNING,
        __file__,
        1,
        "getUpdates failed: %s; retrying in %.0f s",
        ("TimedOut", 4.0),
        None,
    )
    line = formatter.format(ours)
    assert "CẢNH BÁO bot.channels.telegram: " in line
    assert line.endswith("getUpdates không thành công: TimedOut; thử lại sau 4 giây")
    assert ours.msg == "getUpdates failed: %s; retrying in %.0f s"  # the record is left as it was
    library = logging.LogRecord("httpx", logging.INFO, __file__, 1, "HTTP %s", ("200",), None)
    assert formatter.format(library).endswith("THÔNG TIN httpx: HTTP 200")
