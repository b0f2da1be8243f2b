"""A realistic synthetic reporting year, for demonstrations and benchmarks.

Every agency that leads a task gets a synthetic officer; submissions are spread over the
agencies' lead tasks, with later versions for some, Vietnamese texts, difficulties for the
blocked ones and attachment records (metadata only: no file is written).

Synthetic data never mixes with real records: :func:`generate` refuses a database that has a
member it did not make (a person who registered) or a report by one. The members it makes
are listed in the audit log (action ``demo.generate``), so a second run on the same
demonstration database reuses them and numbers new versions after the existing ones.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Assignment,
    Attachment,
    AuditEntry,
    Cycle,
    Member,
    Submission,
    Task,
)
from storage.structure import assignment_in_force

BATCH = 5000

RESULTS = [
    "Đã ban hành văn bản chỉ đạo, quán triệt tới các phòng, đơn vị trực thuộc.",
    "Đã tổ chức {n} cuộc kiểm tra, phát hiện và xử lý {k} trường hợp vi phạm.",
    "Đã tuyên truyền trên cổng thông tin điện tử, nhóm Zalo và hệ thống loa truyền thanh cơ sở.",
    "Đã rà soát {n} công trình, đề xuất sửa chữa, nâng cấp {k} công trình.",
    "Phối hợp với các cơ quan liên quan tổ chức {n} hội nghị tập huấn cho doanh nghiệp.",
    "Hoàn thành xây dựng kế hoạch triển khai, phân công cán bộ theo dõi từng nhiệm vụ.",
]
DIFFICULTIES = [
    "Kinh phí thực hiện còn hạn chế, chưa được bố trí kịp thời.",
    "Thiếu nhân lực chuyên môn về môi trường ở cấp cơ sở.",
    "Phương tiện, trang thiết bị kiểm tra chưa đáp ứng yêu cầu.",
]
PROPOSALS = [
    "Đề nghị UBND tỉnh bổ sung kinh phí sự nghiệp môi trường.",
    "Đề nghị Sở Tài nguyên và Môi trường tổ chức tập huấn nghiệp vụ.",
]
STATUSES = ["done", "in_progress", "in_progress", "not_started", "blocked"]
AUDIT_ACTION = "demo.generate"


class RealDataPresent(Exception):
    """The database holds real members or reports; synthetic data is not added to it."""

    def __init__(self, members: int, reports: int) -> None:
        super().__init__(f"{members} real members, {reports} real reports")
        self.members = members
        self.reports = reports


async def synthetic_members(session: AsyncSession) -> set[int]:
    """Return the ids of the members earlier runs of :func:`generate` made."""
    details = await session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == AUDIT_ACTION)
    )
    return {int(i) for detail in details for i in (detail or {}).get("members", [])}


async def check_no_real_data(session: AsyncSession) -> set[int]:
    """Raise RealDataPresent unless every member is synthetic; return the synthetic ones."""
    synthetic = await synthetic_members(session)
    real = select(Member.id).where(Member.id.not_in(synthetic)) if synthetic else select(Member.id)
    members = int(await session.scalar(select(func.count()).select_from(real.subquery())) or 0)
    reports = int(
        await session.scalar(
            select(func.count(Submission.id)).where(Submission.member_id.in_(real))
        )
        or 0
    )
    if members or reports:
        raise RealDataPresent(members, reports)
    return synthetic


async def generate(
    session: AsyncSession,
    *,
    year: int,
    submissions: int,
    seed: int = 2024,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Add officers and ``submissions`` reports to a year; return how many were added.

    Raises RealDataPresent on a database with real members or reports.
    """
    synthetic = await check_no_real_data(session)
    rng = random.Random(seed)
    cycle_id = await session.scalar(select(Cycle.id).where(Cycle.year == year))
    if cycle_id is None:
        raise ValueError(f"there is no cycle {year}")
    pairs = list(
        (
            await session.execute(
                select(Assignment.task_id, Assignment.agency_id)
                .join(Task, Task.id == Assignment.task_id)
                .where(
                    Assignment.role == "lead",
                    Task.active.is_(True),
                    assignment_in_force(date(year, 12, 10)),  # the year's results report
                )
                .order_by(Assignment.id)
            )
        ).all()
    )
    start = datetime(year, 1, 15, 2, 0, tzinfo=UTC)
    members = await _officers(session, {agency for _task, agency in pairs}, synthetic, start)
    version: dict[tuple[int, int], int] = {
        (task_id, agency_id): int(latest)
        for task_id, agency_id, latest in await session.execute(
            select(Submission.task_id, Submission.agency_id, func.max(Submission.version))
            .where(Submission.cycle_id == cycle_id)
            .group_by(Submission.task_id, Submission.agency_id)
        )
    }
    rows: list[dict[str, Any]] = []
    added = 0
    for number in range(submissions):
        task_id, agency_id = (
            pairs[number % len(pairs)] if number < len(pairs) else rng.choice(pairs)
        )
        key = (task_id, agency_id)
        version[key] = version.get(key, 0) + 1
        status = rng.choice(STATUSES)
        rows.append(
            {
                "cycle_id": cycle_id,
                "task_id": task_id,
                "agency_id": agency_id,
                "member_id": members[agency_id],
                "status": status,
                "progress": {"done": 100, "not_started": 0}.get(status, rng.choice((25, 50, 75))),
                "results": rng.choice(RESULTS).format(n=rng.randint(2, 30), k=rng.randint(1, 9)),
                "difficulties": rng.choice(DIFFICULTIES) if status == "blocked" else None,
                "proposals": rng.choice(PROPOSALS) if status == "blocked" else None,
                "version": version[key],
                "created_at": start + timedelta(minutes=number * 3 % (330 * 24 * 60)),
                **_review(number, start + timedelta(minutes=number * 3 % (330 * 24 * 60) + 600)),
            }
        )
        if len(rows) == BATCH:
            added += await _flush(session, rows, rng)
            rows = []
            if progress:
                progress(added)
    if rows:
        added += await _flush(session, rows, rng)
        if progress:
            progress(added)
    return added


def _review(number: int, at: datetime) -> dict[str, Any]:
    """Decide a synthetic version's review by its number: 2 in 5 accepted, 1 returned, 2 wait.

    No draw from the generator's random sequence, so the reports themselves stay as they were.
    """
    state = ("accepted", "accepted", "returned", "waiting", "waiting")[number % 5]
    if state == "waiting":
        return {"review_state": state, "reviewed_at": None, "review_reason": None}
    reason = "Đề nghị bổ sung số liệu và minh chứng." if state == "returned" else None
    return {"review_state": state, "reviewed_at": at, "review_reason": reason}


class SyntheticData:
    """Synthetic reports for a demonstration database, in a unit of work (``uow.synthetic``)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def generate(
        self,
        *,
        year: int,
        submissions: int,
        seed: int = 2024,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Add officers and reports to a year: see :func:`generate`."""
        return await generate(
            self._session, year=year, submissions=submissions, seed=seed, progress=progress
        )


async def _officers(
    session: AsyncSession, agencies: set[int], synthetic: set[int], now: datetime
) -> dict[int, int]:
    """Return a synthetic officer for each agency, made now where an earlier run made none."""
    result: dict[int, int] = {}
    if synthetic:
        for member_id, agency_id in await session.execute(
            select(Member.id, Member.agency_id).where(Member.id.in_(synthetic)).order_by(Member.id)
        ):
            result.setdefault(agency_id, member_id)
    made = []
    for agency_id in sorted(agencies - set(result)):
        member = Member(
            full_name=f"Cán bộ mẫu {agency_id} (dữ liệu minh họa)",
            agency_id=agency_id,
            role="officer",
            created_at=now,
        )
        session.add(member)
        await session.flush()
        result[agency_id] = member.id
        made.append(member.id)
    if made:
        session.add(
            AuditEntry(at=now, channel="cli", action=AUDIT_ACTION, detail={"members": made})
        )
    return result


async def _flush(session: AsyncSession, rows: list[dict[str, Any]], rng: random.Random) -> int:
    # created_at goes through the model's UTC type when inserted with the ORM table
    ids = list(await session.scalars(insert(Submission).returning(Submission.id), rows))
    files = []
    for submission_id in ids:
        if rng.random() < 0.3:
            digest = hashlib.sha256(str(submission_id).encode()).hexdigest()
            files.append(
                {
                    "submission_id": submission_id,
                    "file_name": f"minh-chung-{submission_id}.pdf",
                    "mime_type": "application/pdf",
                    "size": rng.randint(50_000, 2_000_000),
                    "sha256": digest,
                    "storage_path": f"evidence/{digest[:2]}/{digest}.pdf",
                    "created_at": rows[0]["created_at"],
                }
            )
    if files:
        await session.execute(insert(Attachment), files)
    return len(ids)
