"""A bad plan file is refused with the file, the line and the field at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.db import Database
from storage.plan_loader import PlanFileError, default_plan_path, read_plan
from tests.helpers import dump

ORIGINAL = default_plan_path().read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize(
    ("old", "new", "field", "reason"),
    [
        ("    leads: [stnmt]\n", "    leads: [khong-co]\n", "leads[0]", "khong-co"),
        ('    due: "10/12"', '    due: "31/02"', "milestones[1].due", "31/02"),
        ("  - code: sxd\n", "  - code: stnmt\n", "agencies[1].code", "stnmt"),
        ("    target_score: 6.58\n", "    target_score: 7.58\n", "indices[0]", "target_score"),
        ("  coordinator: stnmt\n", "  coordinator: stnmt\n  colour: green\n", "plan.colour", ""),
        ("    kind: police\n", "    kind: army\n", "agencies", ""),
    ],
)
def test_faults_name_file_line_and_field(
    tmp_path: Path, old: str, new: str, field: str, reason: str
) -> None:
    assert old in ORIGINAL
    text = ORIGINAL.replace(old, new, 1)
    path = _write(tmp_path, text)
    with pytest.raises(PlanFileError) as caught:
        read_plan(path)
    error = caught.value
    assert error.path == path
    assert field in error.field
    assert reason in str(error)
    assert str(path) in str(error) and f":{error.line}:" in str(error)
    changed_line = _line_of(ORIGINAL, old) + new.count("\n") - 1
    assert abs((error.line or 0) - changed_line) <= 1


def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    text = ORIGINAL.replace("schema_version: 1\n", "schema_version: 1\nplan: [unclosed\n", 1)
    with pytest.raises(PlanFileError) as caught:
        read_plan(_write(tmp_path, text))
    assert caught.value.line is not None and caught.value.line > 4
    assert "YAML" in str(caught.value)


def test_missing_section_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(PlanFileError) as caught:
        read_plan(_write(tmp_path, "schema_version: 1\n"))
    assert caught.value.field == "plan"
    with pytest.raises(PlanFileError):
        read_plan(tmp_path / "missing.yaml")
    (tmp_path / "latin1.yaml").write_bytes("Sở".encode("utf-16"))
    with pytest.raises(PlanFileError, match="UTF-8"):
        read_plan(tmp_path / "latin1.yaml")


async def test_a_refused_file_imports_nothing(database: Database, tmp_path: Path) -> None:
    from bot.cli import main

    before = await dump(database)
    bad = _write(tmp_path, ORIGINAL.replace("    leads: [stnmt]\n", "    leads: [xyz]\n", 1))
    with pytest.raises(PlanFileError):
        read_plan(bad)
    assert await dump(database) == before
    del main
