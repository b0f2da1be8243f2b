"""Working days the Government moves and the province declares: the 2024 and 2025 calendars,
the plan file's ``calendar`` section, ``pgibot calendar``, and reminders that follow them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.core.clock import FrozenClock
from bot.core.domain.calendar import (
    DeclaredDay,
    ReminderPolicy,
    WorkingCalendar,
    current_step,
    steps_for,
)
from bot.core.domain.members import Role
from storage.db import Database
from storage.plan_loader import LoadedPlan, PlanFileError, default_plan_path, read_plan
from storage.uow import UnitOfWork
from tests.test_cli import Pgibot
from tests.test_reminders import Recorder, _member, _seen, _walk, d, days

CALENDAR = WorkingCalendar()
POLICY = ReminderPolicy()


@pytest.mark.parametrize(
    ("day", "working", "why"),
    [
        ("29/04/2024", False, "Monday off, moved next to 30/04 and 01/05"),
        ("30/04/2024", False, "Reunification Day"),
        ("01/05/2024", False, "Labour Day"),
        ("04/05/2024", True, "the Saturday worked in exchange for 29/04"),
        ("05/05/2024", False, "an ordinary Sunday"),
        ("03/09/2024", False, "the second day of National Day"),
        ("26/04/2025", True, "the Saturday worked in exchange for 02/05"),
        ("02/05/2025", False, "Friday off, moved next to 30/04 and 01/05"),
        ("01/09/2025", False, "National Day, its first day in 2025"),
        ("27/01/2025", False, "Tết Ất Tỵ"),
        ("22/08/2026", True, "the Saturday worked in exchange for 31/08"),
        ("31/08/2026", False, "Monday off before National Day"),
        ("10/12/2024", True, "an ordinary Tuesday"),
    ],
)
def test_the_national_calendar_of_2024_to_2026(day: str, working: bool, why: str) -> None:
    assert CALENDAR.is_working_day(d(day)) is working, why


def test_declared_days_win_and_the_later_declaration_wins() -> None:
    calendar = WorkingCalendar.declared(
        [
            DeclaredDay(d("11/12/2024"), False, "Nghỉ bù theo quyết định của tỉnh"),
            DeclaredDay(d("14/12/2024"), True, "Làm bù thứ Bảy"),
            DeclaredDay(d("02/09/2024"), True, "Trực Quốc khánh"),
        ]
    )
    assert not calendar.is_working_day(d("11/12/2024"))
    assert calendar.is_working_day(d("14/12/2024"))
    assert calendar.is_working_day(d("02/09/2024"))  # declared beats the public holiday
    again = calendar.adding([DeclaredDay(d("11/12/2024"), True, "Huỷ ngày nghỉ")])
    assert again.is_working_day(d("11/12/2024"))
    assert not calendar.is_working_day(d("11/12/2024"))  # calendars are values


def test_a_make_up_saturday_counts_as_a_working_day_late() -> None:
    # 03/05/2024 is a Friday; the first working day after it is the make-up Saturday 04/05.
    steps = steps_for(d("03/05/2024"), POLICY, CALENDAR)
    late = [s.day for s in steps if s.late_day]
    assert late[:3] == days("04/05/2024", "06/05/2024", "07/05/2024")
    assert current_step(steps, d("04/05/2024")).name == "late-1"  # type: ignore[union-attr]
    # A step before a deadline that falls on 29/04/2024 (a day off) moves to Saturday 27/04? No:
    # 27/04 is an ordinary Saturday, so it moves to Friday 26/04.
    before = {s.name: s.day for s in steps_for(d("06/05/2024"), POLICY, CALENDAR)}
    assert before["before-7"] == d("26/04/2024")
    assert before["before-3"] == d("03/05/2024")


# --- the plan file and the database ----------------------------------------------------------


def _plan_with(tmp_path: Path, calendar: dict[str, object]) -> LoadedPlan:
    document = yaml.safe_load(default_plan_path().read_text(encoding="utf-8"))
    document["calendar"] = calendar
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return read_plan(path)


async def _import(database: Database, clock: FrozenClock, loaded: LoadedPlan) -> dict[str, int]:
    async with UnitOfWork(database) as uow:
        result = await uow.plans.import_plan(loaded, today=clock.now().date(), now=clock.now())
        await uow.commit()
    return {
        "created": result.created.get("calendar day", 0),
        "updated": result.updated.get("calendar day", 0),
        "removed": result.removed.get("calendar day", 0),
    }


async def test_the_plan_files_calendar_is_imported_once_and_leaves_the_administrators_days(
    database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    section = {
        "days_off": [{"date": "2027-04-30", "reason": "Thông báo của Bộ Nội vụ (ví dụ)"}],
        "working_days": [{"date": "2027-04-24", "reason": "Làm bù cho ngày 30/04/2027"}],
    }
    loaded = _plan_with(tmp_path, section)
    assert await _import(database, clock, loaded) == {"created": 2, "updated": 0, "removed": 0}
    assert await _import(database, clock, loaded) == {"created": 0, "updated": 0, "removed": 0}
    async with UnitOfWork(database) as uow:
        await uow.calendar.declare(
            date(2027, 5, 3), working=False, reason="Quyết định của UBND tỉnh", now=clock.now()
        )
        await uow.commit()
    shorter = _plan_with(tmp_path, {"days_off": section["days_off"]})
    assert await _import(database, clock, shorter) == {"created": 0, "updated": 0, "removed": 1}
    async with UnitOfWork(database) as uow:
        declared = await uow.calendar.declared(2027)
        calendar = await uow.calendar.working_calendar()
    assert [(x.day, x.working, x.source) for x in declared] == [
        (date(2027, 4, 30), False, "plan"),
        (date(2027, 5, 3), False, "admin"),
    ]
    assert not calendar.is_working_day(date(2027, 5, 3))
    assert not calendar.is_working_day(date(2027, 4, 24))  # a Saturday again


def test_a_day_declared_twice_in_the_plan_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PlanFileError) as raised:
        _plan_with(
            tmp_path,
            {
                "days_off": [{"date": "2027-05-03", "reason": "Nghỉ"}],
                "working_days": [{"date": "2027-05-03", "reason": "Làm"}],
            },
        )
    assert "03/05/2027" in str(raised.value)


# --- reminders follow the declared days -------------------------------------------------------


async def test_reminders_follow_a_declared_day_off_and_a_declared_working_saturday(
    database: Database, clock: FrozenClock
) -> None:
    await _member(database, "sct", Role.OFFICER, "sct-officer", clock)
    await _member(database, "sxd", Role.OFFICER, "sxd-officer", clock)  # they report on 05/12
    await _member(database, "stnmt", Role.COORDINATOR, "coordinator", clock)
    async with UnitOfWork(database) as uow:
        await uow.calendar.declare(
            d("09/12/2024"), working=False, reason="Nghỉ bù (ví dụ)", now=clock.now()
        )
        await uow.calendar.declare(
            d("14/12/2024"), working=True, reason="Làm bù thứ Bảy (ví dụ)", now=clock.now()
        )
        await uow.commit()
    recorder = Recorder(clock)
    await _walk(database, clock, recorder, d("01/12/2024"), d("17/12/2024"))
    seen = _seen(recorder, "sct-officer", "Báo cáo kết quả")
    # before-1 (Monday 09/12, now a day off) moves to Friday 06/12 and replaces before-3 there;
    # Saturday 14/12 is worked, so it is the fourth working day late.
    assert seen == days(
        "03/12/2024",
        "06/12/2024",
        "10/12/2024",
        "11/12/2024",
        "12/12/2024",
        "13/12/2024",
        "14/12/2024",
        "16/12/2024",
        "17/12/2024",
    )


# --- the administrator's command ---------------------------------------------------------------


@pytest.fixture(scope="module")
def pgibot(tmp_path_factory: pytest.TempPathFactory) -> Pgibot:
    tool = Pgibot(tmp_path_factory.mktemp("calendar"))
    result = tool("init")
    assert result.returncode == 0, result.stderr
    return tool


def test_pgibot_calendar_add_list_remove(pgibot: Pgibot) -> None:
    empty = pgibot("calendar", "list", "--year", "2031")
    assert empty.stdout.strip() == "Chưa khai báo ngày nào; áp dụng lịch làm việc của Nhà nước."
    added = pgibot(
        "calendar", "add", "02/05/2031", "--off", "--reason", "Quyết định số 12/QĐ-UBND (ví dụ)"
    )
    assert added.returncode == 0, added.stderr
    assert "thứ Sáu, 02/05/2031: ngày nghỉ — Quyết định số 12/QĐ-UBND (ví dụ)" in added.stdout
    saturday = pgibot("calendar", "add", "26/04/2031", "--working", "--reason", "Làm bù")
    assert "thứ Bảy, 26/04/2031: ngày làm việc" in saturday.stdout
    listed = pgibot("calendar", "list", "--year", "2031").stdout.splitlines()
    assert [line.split(":")[0] for line in listed] == [
        "thứ Bảy, 26/04/2031",
        "thứ Sáu, 02/05/2031",
    ]
    already = pgibot("calendar", "add", "06/05/2031", "--working", "--reason", "Làm")
    assert already.returncode != 0
    assert "đã là ngày làm việc" in already.stderr
    bad = pgibot("calendar", "add", "31/02/2031", "--off", "--reason", "Nghỉ")
    assert bad.returncode != 0 and "dd/mm/yyyy" in bad.stderr
    removed = pgibot("calendar", "remove", "02/05/2031")
    assert removed.returncode == 0 and "Đã bỏ" in removed.stdout
    missing = pgibot("calendar", "remove", "02/05/2031")
    assert missing.returncode != 0 and "không phải ngày đã khai báo" in missing.stderr
    audit = pgibot("audit", "--action", "calendar.declare").stdout
    assert "calendar.declare" in audit
