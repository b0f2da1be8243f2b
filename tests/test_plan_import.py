"""Importing plans: idempotent, updates in place, keeps every submission; reorganisations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.domain.plan import ImportResult
from bot.core.domain.reorganisation import Refusal
from storage.agencies import AgencyError
from storage.db import Database
from storage.models import Agency, AgencyName, Assignment, Member, Submission, Task
from storage.plan_loader import default_plan_path, read_plan
from storage.structure import assignment_in_force
from storage.uow import UnitOfWork
from tests.helpers import dump


async def _import(database: Database, path: Path, clock: FrozenClock) -> ImportResult:
    async with UnitOfWork(database) as uow:
        report = await uow.plans.import_plan(
            read_plan(path), today=clock.now().date(), now=clock.now()
        )
        await uow.commit()
    return report


def _edited_plan(tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(default_plan_path().read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


async def _submit(database: Database, task_code: str, agency: str, clock: FrozenClock) -> int:
    """Write a submission row directly (the report flow comes with the Telegram issue)."""
    async with database.session() as session:
        task = await session.scalar(select(Task).where(Task.code == task_code))
        row = await session.scalar(select(Agency).where(Agency.code == agency))
        assert task is not None and row is not None
        member = Member(
            full_name="Nguyễn Văn A", agency_id=row.id, role="officer", created_at=clock.now()
        )
        session.add(member)
        await session.flush()
        from storage.models import Cycle

        cycle = await session.scalar(select(Cycle).where(Cycle.year == 2024))
        assert cycle is not None
        submission = Submission(
            cycle_id=cycle.id,
            task_id=task.id,
            agency_id=row.id,
            member_id=member.id,
            status="in_progress",
            progress=50,
            results="Đã triển khai",
            created_at=clock.now(),
        )
        session.add(submission)
        await session.commit()
        return submission.id


async def test_import_twice_leaves_the_database_identical(
    database: Database, clock: FrozenClock
) -> None:
    before = await dump(database)
    clock.advance(__import__("datetime").timedelta(days=1))
    report = await _import(database, default_plan_path(), clock)
    assert not report.changed
    assert await dump(database) == before


async def test_changed_version_updates_in_place_and_keeps_submissions(
    database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    submission = await _submit(database, "1.d", "sgtvt", clock)

    def edit(data: dict) -> None:  # type: ignore[type-arg]
        index = data["indices"][0]
        index["tasks"] = [t for t in index["tasks"] if t["code"] != "1.d"]
        index["tasks"][0]["title"] = "Tiêu đề mới"
        index["tasks"].append(
            {
                "code": "1.z",
                "title": "Nhiệm vụ bổ sung",
                "text": "Nội dung bổ sung.",
                "leads": ["sxd"],
            }
        )
        data["milestones"][1]["due"] = "15/12"

    report = await _import(database, _edited_plan(tmp_path, edit), clock)
    # 1.z for sxd, and sgtvt, no longer named in index 1, joins "other departments" of 1.i
    # until it merges into sxd (01/03/2025); 1.d goes: sgtvt's lead, then sxd's from then.
    assert report.created == {"task": 1, "assignment": 2}
    assert report.removed == {"task": 1, "assignment": 2}
    assert (
        report.updated["task"] >= 1 and report.updated["milestone"] == 1
    )  # one cycle (2024) so far
    async with database.session() as session:
        old = await session.scalar(select(Task).where(Task.code == "1.d"))
        assert old is not None and old.active is False
        assert (await session.get(Submission, submission)) is not None
        first = await session.scalar(select(Task).where(Task.code == "1.a.1"))
        assert first is not None and first.title == "Tiêu đề mới"
        assert await session.scalar(select(func.count()).select_from(Task)) == 62
    async with UnitOfWork(database) as uow:
        due = {m.code: m.due_date for m in await uow.plans.milestones(2024)}
    assert due["results-report"] == date(2024, 12, 15)
    # Importing the original again brings the task back, with its submission.
    report = await _import(database, default_plan_path(), clock)
    async with database.session() as session:
        old = await session.scalar(select(Task).where(Task.code == "1.d"))
        assert old is not None and old.active is True
        assert (await session.get(Submission, submission)) is not None


async def test_rename_keeps_the_former_name_and_the_reports(
    database: Database, clock: FrozenClock
) -> None:
    submission = await _submit(database, "1.a.1", "stnmt", clock)
    async with UnitOfWork(database) as uow:
        await uow.agencies.rename(
            "stnmt",
            name="Sở Nông nghiệp và Môi trường",
            short_name="Sở NN&MT",
            on=date(2025, 3, 1),
            now=clock.now(),
        )
        await uow.commit()
    report = await _import(database, default_plan_path(), clock)
    assert "agency" not in report.updated  # the plan's old name does not undo the rename
    async with database.session() as session:
        agency = await session.scalar(select(Agency).where(Agency.code == "stnmt"))
        assert agency is not None and agency.name == "Sở Nông nghiệp và Môi trường"
        former = await session.scalar(select(AgencyName).where(AgencyName.agency_id == agency.id))
        assert former is not None and former.name == "Sở Tài nguyên và Môi trường"
        saved = await session.get(Submission, submission)
        assert saved is not None and saved.agency_id == agency.id


async def test_merge_moves_tasks_and_members_and_keeps_history(
    database: Database, clock: FrozenClock
) -> None:
    submission = await _submit(database, "2.dd", "sct", clock)
    merged_on = date(2024, 11, 1)  # before the clock's day: the merger has come
    async with UnitOfWork(database) as uow:
        await uow.agencies.merge("sct", into="sxd", on=merged_on, now=clock.now())
        await uow.commit()
    before = await dump(database)
    report = await _import(database, default_plan_path(), clock)
    assert not report.changed  # re-importing the 2024 plan follows the merge, changes nothing
    assert await dump(database) == before
    async with database.session() as session:
        old = await session.scalar(select(Agency).where(Agency.code == "sct"))
        new = await session.scalar(select(Agency).where(Agency.code == "sxd"))
        assert old is not None and new is not None
        assert (old.status, old.successor_id, old.valid_to) == ("merged", new.id, merged_on)
        assert not await _leads_on(session, old.id, merged_on)  # nothing from the merger on
        assert "2.dd" in await _leads_on(session, old.id, date(2024, 10, 31))  # the past stays
        assert "2.dd" in await _leads_on(session, new.id, merged_on)
        assert "2.dd" not in await _leads_on(session, new.id, date(2024, 10, 31))
        member = await session.scalar(select(Member).where(Member.full_name == "Nguyễn Văn A"))
        assert member is not None and member.agency_id == new.id
        saved = await session.get(Submission, submission)
        assert saved is not None and saved.agency_id == old.id
    async with UnitOfWork(database) as uow:
        assert old.id in await uow.agencies.lineage(new.id)
        with pytest.raises(AgencyError) as refused:
            await uow.agencies.merge("sxd", into="sxd", on=date(2025, 3, 1), now=clock.now())
        assert refused.value.refusal is Refusal.SELF_MERGE


async def test_a_merger_still_to_come_moves_nobody_yet(
    database: Database, clock: FrozenClock
) -> None:
    await _submit(database, "2.dd", "sct", clock)
    async with UnitOfWork(database) as uow:
        await uow.agencies.merge("sct", into="sxd", on=date(2025, 3, 1), now=clock.now())
        await uow.commit()
    async with database.session() as session:
        old = await session.scalar(select(Agency).where(Agency.code == "sct"))
        assert old is not None
        assert "2.dd" in await _leads_on(session, old.id, clock.now().date())
        member = await session.scalar(select(Member).where(Member.full_name == "Nguyễn Văn A"))
        assert member is not None and member.agency_id == old.id
    clock.advance(timedelta(days=120))  # 20/03/2025: the next import settles the members
    await _import(database, default_plan_path(), clock)
    async with database.session() as session:
        member = await session.scalar(select(Member).where(Member.full_name == "Nguyễn Văn A"))
        assert member is not None and member.agency_id != old.id and member.active


async def _leads_on(session: AsyncSession, agency_id: int, on: date) -> set[str]:
    rows = await session.scalars(
        select(Task.code)
        .join(Assignment, Assignment.task_id == Task.id)
        .where(
            Assignment.agency_id == agency_id,
            Assignment.role == "lead",
            assignment_in_force(on),
        )
    )
    return set(rows)


async def test_retire_ends_assignments_and_keeps_reports(
    database: Database, clock: FrozenClock
) -> None:
    submission = await _submit(database, "1.g", "dkttv", clock)
    retired_on = date(2024, 11, 1)
    async with UnitOfWork(database) as uow:
        await uow.agencies.retire("dkttv", on=retired_on, now=clock.now())
        await uow.commit()
    await _import(database, default_plan_path(), clock)
    async with database.session() as session:
        agency = await session.scalar(select(Agency).where(Agency.code == "dkttv"))
        assert agency is not None and agency.status == "retired"
        assert agency.valid_to == retired_on
        assert not await _leads_on(session, agency.id, retired_on)
        assert "1.g" in await _leads_on(session, agency.id, date(2024, 7, 20))
        assert (await session.get(Submission, submission)) is not None
        member = await session.scalar(select(Member).where(Member.agency_id == agency.id))
        assert member is not None and member.active is False


async def test_reorganisation_section_of_a_plan_file(
    database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    def edit(data: dict) -> None:  # type: ignore[type-arg]
        data["reorganisations"] = [
            {
                "since": "2025-03-01",
                "action": "add",
                "agency": "snnmt",
                "name": "Sở Nông nghiệp và Môi trường",
                "short_name": "Sở NN&MT",
                "kind": "department",
            },
            {"since": "2025-03-01", "action": "merge", "agency": "stnmt", "into": "snnmt"},
            {"since": "2025-03-01", "action": "merge", "agency": "snnptnt", "into": "snnmt"},
            {"since": "2025-07-01", "action": "retire", "agency": "h-van-lang"},
        ]

    path = _edited_plan(tmp_path, edit)
    await _import(database, path, clock)
    first = await dump(database)
    await _import(database, path, clock)
    assert await dump(database) == first
    async with UnitOfWork(database) as uow:
        view = await uow.plans.view(date(2025, 3, 1))
        assert view is not None and view.coordinator == "snnmt"
        before = await uow.plans.view(date(2025, 2, 28))
        assert before is not None and before.coordinator == "stnmt"
        new = await uow.agencies.by_code("snnmt")
        codes = {t.code for t in await uow.plans.tasks_of_agency(new.id, date(2025, 3, 1))}
        assert not await uow.plans.tasks_of_agency(new.id, date(2025, 2, 28))
    assert {"1.a.1", "1.c.1", "III.5"} <= codes


async def test_an_invitation_for_a_merged_agency_names_its_successor(
    database: Database, clock: FrozenClock
) -> None:
    """Before the merger the agency is invited as it is; from then on it is refused."""

    async def invite(now: datetime) -> str:
        async with UnitOfWork(database) as uow:
            invitation = await uow.invitations.create(
                agency_code="Sở Thông tin và Truyền thông",
                role=Role.OFFICER,
                max_uses=1,
                valid_for=timedelta(days=1),
                created_by="t",
                now=now,
            )
        return invitation.agency_code

    assert await invite(clock.now()) == "stttt"  # 20/11/2024: it still exists
    with pytest.raises(AgencyError) as refused:
        await invite(datetime(2025, 3, 1, 2, tzinfo=UTC))
    assert refused.value.refusal is Refusal.ENDED
    assert "Sở Khoa học và Công nghệ" in refused.value.successors
