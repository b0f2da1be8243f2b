"""Benchmark: a reminder fan-out to many members through a Bot API that enforces Telegram's limits.

Usage::

    python -m benchmarks.reminder_fanout [--members 10000] [--rate 25] [--away 5] [--snoozed 5]
    python -m benchmarks.reminder_fanout --instances 2 [--postgres URL]

It builds a database with the shipped plan and N officers spread over the agencies,
runs the reminder sweep on 03/12/2024 08:00 (seven days before the results report, when every
agency is behind) with ``--away`` per cent of the officers on leave (a colleague of the same
agency standing in) and ``--snoozed`` per cent having asked to be reminded later that day, then
delivers the outbox with the real outbox worker and the real
python-telegram-bot client to the fake Bot API of the test suite, configured to enforce
Telegram's limits (30 messages/s overall, 1/s per chat) and to answer 429 beyond them. It
prints the time of the sweep, the achieved delivery rate against the configured one, the
number of 429s and of duplicates, and the peak memory of the process.

With ``--instances 2`` (PostgreSQL: SQLite serves one process) two instances share the
database, each with its own connection pool, leadership, outbox worker and Bot API client, as
two ``pgibot run`` would: the leader delivers; halfway through, it is stopped (a rolling
restart) and the other takes the leadership and delivers the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from benchmarks.harness import POSTGRES, LoopLag, machine
from benchmarks.harness import database as database_url
from bot.channels.registry import TELEGRAM_PER_SECOND
from bot.channels.telegram import TelegramConfig, TelegramSender, new_bot
from bot.core.clock import FrozenClock, SystemClock
from bot.core.i18n import set_language
from bot.outbox import DeliveryLimits, OutboxWorker
from handlers.reminders import Reminders
from storage import migrate
from storage.db import Database
from storage.leadership import Leadership
from storage.models import Agency, Assignment, Member, MemberIdentity
from storage.plan_loader import default_plan_path, read_plan
from storage.structure import assignment_in_force
from storage.uow import UnitOfWork
from tests.fakes.telegram_api import FakeTelegram

TOKEN = "424242:BENCH"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True, slots=True)
class People:
    """How many officers, and the share of them away or snoozed on the morning of the sweep."""

    members: int
    away_percent: float = 5.0
    snoozed_percent: float = 5.0


async def run(
    people: People,
    rate: float,
    folder: Path,
    instances: int = 1,
    postgres: str = "",
    sweep_only: bool = False,
) -> dict[str, object]:
    """Run the benchmark and return its figures (``sweep_only``: the sweep's alone)."""
    kind = "sqlite" if instances == 1 and not postgres else "postgres"
    async with database_url(kind, folder, postgres) as url:
        return await _run(url, people, rate, instances, sweep_only)


async def _run(
    url: str, people: People, rate: float, instances: int, sweep_only: bool = False
) -> dict[str, object]:
    members = people.members
    set_language("vi")
    database = Database(url)
    engine = database.engine
    clock = FrozenClock(datetime(2024, 12, 3, 8, 0, tzinfo=HANOI))
    await migrate.upgrade(engine)
    async with UnitOfWork(database) as uow:
        await uow.plans.import_plan(
            read_plan(default_plan_path()), today=clock.now().date(), now=clock.now()
        )
        await uow.commit()
    async with database.session() as session:
        agencies = list(
            await session.scalars(
                select(Agency.id)
                .where(
                    Agency.id.in_(
                        select(Assignment.agency_id).where(assignment_in_force(clock.now().date()))
                    )
                )
                .distinct()
            )
        )
        ids: list[int] = []
        for n in range(members):
            member = Member(
                full_name=f"Cán bộ {n}",
                agency_id=agencies[n % len(agencies)],
                role="officer",
                created_at=clock.now(),
            )
            session.add(member)
            await session.flush()
            ids.append(member.id)
            session.add(
                MemberIdentity(
                    member_id=member.id,
                    channel="telegram",
                    user_id=str(10_000 + n),
                    chat_id=str(10_000 + n),
                    created_at=clock.now(),
                )
            )
        await session.commit()
    away, snoozed = await _away_and_snoozed(database, ids, len(agencies), people, clock.now())

    started = time.perf_counter()
    async with LoopLag() as lag, UnitOfWork(database) as uow:
        swept = await Reminders().sweep(uow, clock.now())
    sweep_seconds = time.perf_counter() - started
    sweep_figures = {"sweep_seconds": round(sweep_seconds, 2)} | {
        f"sweep_{key}": value for key, value in lag.figures().items()
    }
    if sweep_only:
        await database.dispose()
        return {
            "members": members,
            "away": away,
            "snoozed": snoozed,
            "reminders_decided": swept.decided,
            **sweep_figures,
        }

    async with FakeTelegram(token=TOKEN, enforce_limits=True) as fake:
        started = time.perf_counter()
        if instances == 1:
            async with new_bot(TelegramConfig(TOKEN, fake.base_url, fake.base_file_url)) as bot:
                worker = OutboxWorker(
                    database,
                    {"telegram": TelegramSender(bot)},
                    SystemClock(),
                    DeliveryLimits(rate=rate, chat_interval=1.0, ceiling=TELEGRAM_PER_SECOND),
                )
                stop = asyncio.Event()
                running = asyncio.create_task(worker.run(stop))
                await _delivered(fake, swept.decided, rate)
                elapsed = time.perf_counter() - started
                stop.set()
                await running
            handover: dict[str, object] = {}
        else:
            handover = await _two_instances(url, fake, swept.decided, rate)
            elapsed = time.perf_counter() - started
        ok = [c for c in fake.calls_of("sendMessage") if c.ok]
        per_chat = Counter(c.params["chat_id"] for c in ok)
        duplicates = sum(count - 1 for count in per_chat.values() if count > 1)
        too_many = fake.rate_limited
    await database.dispose()
    return {
        "database": engine.dialect.name,
        "instances": instances,
        **handover,
        "members": members,
        "away": away,
        "snoozed": snoozed,
        "reminders_decided": swept.decided,
        **sweep_figures,
        "delivered": len(ok),
        "delivery_seconds": round(elapsed, 1),
        "achieved_rate_per_second": round(len(ok) / elapsed, 2),
        "configured_rate_per_second": rate,
        "http_429": too_many,
        "duplicates": duplicates,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": machine(),
    }


async def _away_and_snoozed(
    database: Database, ids: list[int], agencies: int, people: People, now: datetime
) -> tuple[int, int]:
    """Put some officers on leave and let others snooze the deadlines of the coming days.

    Officers are dealt to the agencies in turn, so officer ``n`` is in the agency's row
    ``n // agencies``: rows ``1, 1 + k, ...`` are away (from yesterday to Friday, row 0 of
    the same agency standing in) and rows ``2, 2 + j, ...`` snoozed until 14:00 today.
    """

    def every(percent: float) -> int:
        return max(3, round(100 / percent)) if percent > 0 else 0

    away_every, snooze_every = every(people.away_percent), every(people.snoozed_percent)
    today = now.date()
    away = snoozed = 0
    async with UnitOfWork(database) as uow:
        coming = await uow.notifications.milestones_between(today, today + timedelta(days=14))
        for n, member_id in enumerate(ids):
            row = n // agencies
            if away_every and row % away_every == 1:
                await uow.absences.add(
                    member_id,
                    today - timedelta(days=1),
                    today + timedelta(days=3),
                    ids[n % agencies],
                    member_id,
                    now,
                )
                away += 1
            elif snooze_every and row % snooze_every == 2:
                for milestone in coming:
                    await uow.snoozes.add(
                        member_id, milestone.id, now.replace(hour=14, minute=0), now
                    )
                snoozed += 1
        await uow.commit()
    return away, snoozed


async def _delivered(fake: FakeTelegram, count: int, rate: float) -> None:
    """Wait until ``count`` messages have been delivered."""
    await fake.wait_for(
        "sendMessage", count=count, predicate=lambda c: c.ok, timeout=count / rate * 3 + 60
    )


async def _two_instances(
    url: str, fake: FakeTelegram, count: int, rate: float
) -> dict[str, object]:
    """Deliver with two instances; stop the leader halfway; return the handover's figures."""
    databases = [Database(url), Database(url)]
    stops = [asyncio.Event(), asyncio.Event()]
    tasks: list[asyncio.Task[None]] = []
    async with contextlib.AsyncExitStack() as stack:
        leaderships = [Leadership(database, check_every=2.0) for database in databases]
        for n, (database, leadership) in enumerate(zip(databases, leaderships, strict=True)):
            config = TelegramConfig(TOKEN, fake.base_url, fake.base_file_url)
            bot = await stack.enter_async_context(new_bot(config))
            worker = OutboxWorker(
                database,
                {"telegram": TelegramSender(bot)},
                SystemClock(),
                DeliveryLimits(rate=rate, chat_interval=1.0, ceiling=TELEGRAM_PER_SECOND),
                claimant=f"bench-{n}",
                leadership=leadership,
            )
            tasks.append(asyncio.create_task(leadership.run(stops[n])))
            tasks.append(asyncio.create_task(worker.run(stops[n])))
            if n == 0:
                await leadership.wait_leading()
        ok = lambda c: c.ok  # noqa: E731
        await fake.wait_for("sendMessage", count=count // 2, predicate=ok, timeout=count / rate)
        stopped = time.perf_counter()
        stops[0].set()  # a rolling restart of the leader
        await asyncio.gather(*tasks[:2])
        by_first = len([c for c in fake.calls_of("sendMessage") if c.ok])
        await leaderships[1].wait_leading()
        led = time.perf_counter() - stopped
        await fake.wait_for("sendMessage", count=by_first + 1, predicate=ok, timeout=60)
        resumed = time.perf_counter() - stopped
        await _delivered(fake, count, rate)
        stops[1].set()
        await asyncio.gather(*tasks[2:])
    for database in databases:
        await database.dispose()
    return {
        "delivered_by_first_leader": by_first,
        "delivered_by_second_leader": count - by_first,
        "second_leader_after_seconds": round(led, 1),
        "sending_again_after_seconds": round(resumed, 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--away", type=float, default=5.0, help="per cent of officers on leave")
    parser.add_argument(
        "--snoozed", type=float, default=5.0, help="per cent who asked to be reminded later"
    )
    parser.add_argument("--instances", type=int, choices=(1, 2), default=1)
    parser.add_argument(
        "--postgres",
        default="",
        help=f"PostgreSQL admin URL (two instances need it; default with two: {POSTGRES})",
    )
    parser.add_argument(
        "--sweep-only", action="store_true", help="measure the sweep and stop (no delivery)"
    )
    args = parser.parse_args(argv)
    postgres = args.postgres or (POSTGRES if args.instances == 2 else "")
    with tempfile.TemporaryDirectory() as folder:
        figures = asyncio.run(
            run(
                People(args.members, args.away, args.snoozed),
                args.rate,
                Path(folder),
                args.instances,
                postgres,
                args.sweep_only,
            )
        )
    if args.sweep_only:
        json.dump(figures, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    json.dump(figures, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return (
        0
        if figures["duplicates"] == 0
        and figures["delivered"] == figures["reminders_decided"]
        and figures["http_429"] == 0
        else 1
    )


if __name__ == "__main__":
    raise SystemExit(main())
