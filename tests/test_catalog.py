"""The Vietnamese catalog: complete, consistent with the code, compiled, formatting right."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.core.i18n import format_day, format_moment, format_score

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "locales" / "vi" / "LC_MESSAGES" / "bot.po"
POT = ROOT / "locales" / "bot.pot"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


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
        for string in strings:
            if set(PLACEHOLDER.findall(string)) != wanted:
                problems.append(f"placeholders differ: {ids[0]!r}")
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
