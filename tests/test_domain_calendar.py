"""Working days and reminder steps, without a database: holidays, 2024 deadlines, the step due."""

from __future__ import annotations

from datetime import date, time

from bot.core.domain.calendar import ReminderPolicy, WorkingCalendar, current_step, steps_for

CALENDAR = WorkingCalendar()
POLICY = ReminderPolicy()


def d(text: str) -> date:
    day, month, year = (int(x) for x in text.split("/"))
    return date(year, month, day)


def days(*texts: str) -> list[date]:
    return [d(t) for t in texts]


def test_working_calendar_knows_weekends_and_vietnamese_holidays() -> None:
    assert not CALENDAR.is_working_day(d("20/07/2024"))  # Saturday
    assert not CALENDAR.is_working_day(d("02/09/2024"))  # National Day
    assert not CALENDAR.is_working_day(d("29/01/2025"))  # Tết Ất Tỵ
    assert CALENDAR.is_working_day(d("10/12/2024"))
    assert CALENDAR.working_days_after(d("31/12/2024"), 2) == days("02/01/2025", "03/01/2025")


def test_steps_of_the_three_2024_deadlines() -> None:
    def table(due: str) -> list[tuple[str, date]]:
        return [(s.name, s.day) for s in steps_for(d(due), POLICY, CALENDAR)]

    # 20/07/2024 is a Saturday: "due" moves to Friday 19/07 and replaces "before-1" there.
    assert table("20/07/2024") == list(
        zip(
            ["before-7", "before-3", "due"] + [f"late-{n}" for n in range(1, 11)],
            days(
                "12/07/2024",
                "17/07/2024",
                "19/07/2024",
                "22/07/2024",
                "23/07/2024",
                "24/07/2024",
                "25/07/2024",
                "26/07/2024",
                "29/07/2024",
                "30/07/2024",
                "31/07/2024",
                "01/08/2024",
                "02/08/2024",
            ),
            strict=True,
        )
    )
    # 10/12/2024 is a Tuesday: "before-3" (Saturday 07/12) moves to Friday 06/12.
    assert table("10/12/2024")[:5] == list(
        zip(
            ["before-7", "before-3", "before-1", "due", "late-1"],
            days("03/12/2024", "06/12/2024", "09/12/2024", "10/12/2024", "11/12/2024"),
            strict=True,
        )
    )
    steps = steps_for(d("10/12/2024"), POLICY, CALENDAR)
    assert current_step(steps, d("07/12/2024")).name == "before-3"  # type: ignore[union-attr]
    assert current_step(steps, d("02/12/2024")) is None
    assert current_step(steps, d("24/12/2024")).name == "late-10"  # type: ignore[union-attr]
    assert current_step(steps, d("25/12/2024")) is None  # the last step is not repeated


def test_extra_days_off_and_the_policy_hours() -> None:
    calendar = WorkingCalendar(frozenset({d("11/12/2024")}))
    assert not calendar.is_working_day(d("11/12/2024"))
    assert calendar.previous_working_day(d("11/12/2024")) == d("10/12/2024")
    assert calendar.previous_working_day(d("15/12/2024")) == d("13/12/2024")  # Sunday → Friday
    assert calendar.working_days_after(d("10/12/2024"), 1) == days("12/12/2024")
    assert POLICY.sending_allowed(time(8, 0)) and POLICY.sending_allowed(time(20, 59))
    assert not POLICY.sending_allowed(time(7, 59)) and not POLICY.sending_allowed(time(21, 0))
