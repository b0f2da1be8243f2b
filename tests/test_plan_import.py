"""Importing plans: idempotent, updates in place, keeps every submission; reorganisations."""

from __future__ import annotations

from datetime import date
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
    # 1.z for sxd, and sgtvt, no longer named in index 1, joins "other departments" of 1.i.
    assert report.created == {"task": 1, "assignment": 2}
    assert report.removed == {"task": 1, "assignment": 1}
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
    submission = await _submit(database, "1.c.1", "snnptnt", clock)
    async with UnitOfWork(database) as uow:
        await uow.agencies.merge("snnptnt", into="stnmt", on=date(2025, 3, 1), now=clock.now())
        await uow.commit()
    before = await dump(database)
    report = await _import(database, default_plan_path(), clock)
    assert not report.changed  # re-importing the 2024 plan follows the merge, changes nothing
    assert await dump(database) == before
    async with database.session() as session:
        old = await session.scalar(select(Agency).where(Agency.code == "snnptnt"))
        new = await session.scalar(select(Agency).where(Agency.code == "stnmt"))
        assert old is not None and new is not None
        assert (old.status, old.successor_id) == ("merged", new.id)
        assert not list(
            await session.scalars(select(Assignment).where(Assignment.agency_id == old.id))
        )
        assert await _has_lead(session, "1.c.1", new.id)
        member = await session.scalar(select(Member).where(Member.full_name == "Nguyễn Văn A"))
        assert member is not None and member.agency_id == new.id
        saved = await session.get(Submission, submission)
        assert saved is not None and saved.agency_id == old.id
    async with UnitOfWork(database) as uow:
        assert old.id in await uow.agencies.lineage(new.id)
        with pytest.raises(AgencyError) as refused:
            await uow.agencies.merge("stnmt", into="stnmt", on=date(2025, 3, 1), now=clock.now())
        assert refused.value.refusal is Refusal.SELF_MERGE


async def _has_lead(session: AsyncSession, task_code: str, agency_id: int) -> bool:
    row = await session.scalar(
        select(Assignment.id)
        .join(Task, Task.id == Assignment.task_id)
        .where(
            Task.code == task_code, Assignment.agency_id == agency_id, Assignment.role == "lead"
        )
    )
    return row is not None


async def test_retire_ends_assignments_and_keeps_reports(
    database: Database, clock: FrozenClock
) -> None:
    submission = await _submit(database, "1.k.1", "h-dinh-lap", clock)
    async with UnitOfWork(database) as uow:
        await uow.agencies.retire("h-dinh-lap", on=date(2025, 7, 1), now=clock.now())
        await uow.commit()
    await _import(database, default_plan_path(), clock)
    async with database.session() as session:
        agency = await session.scalar(select(Agency).where(Agency.code == "h-dinh-lap"))
        assert agency is not None and agency.status == "retired"
        assert (
            await session.scalar(
                select(func.count())
                .select_from(Assignment)
                .where(Assignment.agency_id == agency.id)
            )
            == 0
        )
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
        view = await uow.plans.view()
        assert view is not None and view.coordinator == "snnmt"
        new = await uow.agencies.by_code("snnmt")
        codes = {t.code for t in await uow.plans.tasks_of_agency(new.id)}
    assert {"1.a.1", "1.c.1", "III.5"} <= codes


async def test_invitation_for_a_merged_agency_goes_to_its_successor(
    database: Database, clock: FrozenClock
) -> None:
    async with UnitOfWork(database) as uow:
        await uow.agencies.merge("stttt", into="skhcn", on=date(2025, 3, 1), now=clock.now())
        await uow.commit()
    async with UnitOfWork(database) as uow:
        invitation = await uow.invitations.create(
            agency_code="Sở Thông tin và Truyền thông",
            role=Role.OFFICER,
            max_uses=1,
            valid_for=__import__("datetime").timedelta(days=1),
            created_by="t",
            now=clock.now(),
        )
    assert invitation.agency_code == "skhcn"
