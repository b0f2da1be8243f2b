"""Who is asked at each milestone follows section III of the plan document.

20/7: every agency that leads a task of section II writes its implementation plan (III.1.2);
10/12: each of them reports on every task of section II it leads; 20/12: the coordinator sends
the consolidated report (III.5). The Front (III.4, a request) and the section III tasks with no
deadline are chased at none. The reminders, /chuabaocao, /tonghop and the files agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.core.domain.plan import asks_for
from bot.core.domain.structure import Group, Span, TaskRule, assignments_on
from storage.db import Database
from storage.models import Agency
from storage.plan_loader import PlanFileError, default_plan_path, read_plan
from storage.uow import UnitOfWork

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
SECTION_II_ONLY = {"cat", "bchqs", "dkttv", "ttxtdt", "baols", "dptth", "hhdn"}
"""The bodies that lead tasks of section II but are neither departments nor districts."""


def test_what_each_kind_of_milestone_asks_for() -> None:
    assert asks_for("final_report", section_ii=True, linked=False)
    assert asks_for("progress_report", section_ii=True, linked=False)
    assert not asks_for("final_report", section_ii=False, linked=False)  # III.2, III.4
    assert not asks_for("implementation_plan", section_ii=True, linked=False)
    assert asks_for("implementation_plan", section_ii=False, linked=True)  # III.1.2
    assert asks_for("consolidated_report", section_ii=False, linked=True)  # III.5


def test_the_leads_of_section_ii_as_a_group() -> None:
    """The group follows the section II tasks on each day: retired units leave it."""
    spans = {"h-a": Span(valid_to=date(2025, 7, 1)), "x-a": Span(valid_from=date(2025, 7, 1))}
    groups = {
        "leaders": Group((), section_ii_leads=True),
        "districts": Group(("h-a",)),
        "communes": Group(("x-a",)),
    }
    tasks = [
        TaskRule("1.a", "1", ("sxd", "districts", "communes"), ("cat",)),
        TaskRule("2.a", "2", ("cat",)),
        TaskRule("III.1.2", None, ("leaders",)),
        TaskRule("III.4", None, ("mttq",)),
    ]
    before = assignments_on(tasks, groups, spans, [], date(2024, 7, 20))
    after = assignments_on(tasks, groups, spans, [], date(2025, 7, 20))
    assert [a for (t, a) in before if t == "III.1.2"] == ["sxd", "h-a", "cat"]
    assert [a for (t, a) in after if t == "III.1.2"] == ["sxd", "x-a", "cat"]
    assert before[("III.1.2", "sxd")] == ("lead", "leaders")
    assert ("III.1.2", "mttq") not in before  # the Front leads section III only


def test_a_task_of_section_ii_may_not_name_the_group(tmp_path: Path) -> None:
    text = default_plan_path().read_text(encoding="utf-8")
    broken = text.replace("        leads: [cat]\n", "        leads: [section-ii-leads]\n", 1)
    assert broken != text
    path = tmp_path / "broken.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(PlanFileError, match=r"Mục III|section III"):
        read_plan(path)


async def _asked(database: Database, due: date) -> dict[str, set[str]]:
    """Return, per agency code, the tasks the milestone due on a day chases it for."""
    async with UnitOfWork(database) as uow:
        [milestone] = await uow.notifications.milestones_between(due, due)
        pending = await uow.notifications.pending_by_agency(milestone)
    async with database.session() as session:
        codes = dict((await session.execute(select(Agency.id, Agency.code))).all())
    return {codes[agency]: {t.code for t in tasks} for agency, tasks in pending.items()}


@pytest.fixture
async def shipped(database: Database) -> Database:
    async with UnitOfWork(database) as uow:
        await uow.plans.import_plan(read_plan(default_plan_path()), today=NOW.date(), now=NOW)
        await uow.commit()
    return database


async def test_who_is_chased_at_each_milestone_of_2024(shipped: Database) -> None:
    plan = await _asked(shipped, date(2024, 7, 20))
    results = await _asked(shipped, date(2024, 12, 10))
    consolidated = await _asked(shipped, date(2024, 12, 20))
    # 20/7: the 20 departments, the 11 district units and the 7 other bodies of section II.
    assert len(plan) == 38 and set(plan) >= SECTION_II_ONLY
    assert all(tasks == {"III.1.2"} for tasks in plan.values())
    # 10/12: the same bodies, each on the tasks of section II it leads; not the Front.
    assert set(results) == set(plan) and "mttq" not in results
    assert all(not code.startswith("III") for tasks in results.values() for code in tasks)
    assert results["baols"] == {"1.h.1", "1.h.2", "1.h.3", "3.e"}  # not III.2
    assert {"1.k.1", "3.i.2"} <= results["h-van-lang"]
    # 20/12: the coordinator of the day, on its consolidated report.
    assert consolidated == {"stnmt": {"III.5"}}


async def test_who_is_chased_after_the_reorganisation(shipped: Database) -> None:
    plan = await _asked(shipped, date(2025, 7, 20))
    results = await _asked(shipped, date(2026, 12, 10))
    consolidated = await _asked(shipped, date(2026, 12, 20))
    for asked in (plan, results):
        assert len([c for c in asked if c.startswith(("x-", "p-"))]) == 65
        assert not any(code.startswith(("h-", "tp-")) for code in asked)
        assert "stnmt" not in asked and "snnmt" in asked
        assert set(asked) >= SECTION_II_ONLY and "mttq" not in asked
    assert plan["x-that-khe"] == {"III.1.2"}
    assert "1.k.1" in results["x-that-khe"] and "III.1.2" not in results["x-that-khe"]
    assert consolidated == {"snnmt": {"III.5"}}


async def test_the_year_counts_what_is_asked(shipped: Database) -> None:
    """/tonghop, /chuabaocao and the files count the same agencies and tasks as the reminders."""
    async with UnitOfWork(shipped) as uow:
        summary = await uow.summaries.summary(2024, NOW.date())
    assert summary is not None
    behind = {a.code: set(a.pending_tasks) for a in summary.not_reported}
    results = await _asked(shipped, date(2024, 12, 10))
    plan = await _asked(shipped, date(2024, 7, 20))
    consolidated = await _asked(shipped, date(2024, 12, 20))
    chased: dict[str, set[str]] = {}
    for asked in (plan, results, consolidated):
        for code, tasks in asked.items():
            chased.setdefault(code, set()).update(tasks)
    assert behind == chased
    assert len(summary.leading_agencies) == 38
    front = next(a for a in summary.agencies if a.code == "mttq")
    assert front.unasked_tasks == ["III.4"] and not front.pending_tasks
