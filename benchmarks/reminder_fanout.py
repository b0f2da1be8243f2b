"""Benchmark: a reminder fan-out to many members through a Bot API that enforces Telegram's limits.

Usage::

    python -m benchmarks.reminder_fanout [--members 10000] [--rate 25]

It builds a SQLite database with the shipped plan and N officers spread over the agencies,
runs the reminder sweep on 03/12/2024 08:00 (seven days before the results report, when every
agency is behind), then delivers the outbox with the real outbox worker and the real
python-telegram-bot client to the fake Bot API of the test suite, configured to enforce
Telegram's limits (30 messages/s overall, 1/s per chat) and to answer 429 beyond them. It
prints the time of the sweep, the achieved delivery rate against the configured one, the
number of 429s and of duplicates, and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from benchmarks.harness import machine
from bot.channels.telegram import TelegramConfig, TelegramSender, new_bot
from bot.core.clock import FrozenClock, SystemClock
from bot.core.i18n import set_language
from bot.outbox import DeliveryLimits, OutboxWorker
from handlers.reminders import Reminders
from storage import migrate
from storage.db import Database
from storage.models import Agency, Assignment, Member, MemberIdentity
from storage.plan_loader import default_plan_path, read_plan
from storage.structure import assignment_in_force
from storage.uow import UnitOfWork
from tests.fakes.telegram_api import FakeTelegram

TOKEN = "424242:BENCH"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


async def run(members: int, rate: float, folder: Path) -> dict[str, object]:
    """Run the benchmark and return its figures."""
    set_language("vi")
    database = Database(f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}")
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
        for n in range(members):
            member = Member(
                full_name=f"Cán bộ {n}",
                agency_id=agencies[n % len(agencies)],
                role="officer",
                created_at=clock.now(),
            )
            session.add(member)
            await session.flush()
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

    started = time.perf_counter()
    async with UnitOfWork(database) as uow:
        swept = await Reminders().sweep(uow, clock.now())
    sweep_seconds = time.perf_counter() - started

    async with FakeTelegram(token=TOKEN, enforce_limits=True) as fake:
        async with new_bot(TelegramConfig(TOKEN, fake.base_url, fake.base_file_url)) as bot:
            worker = OutboxWorker(
                database,
                {"telegram": TelegramSender(bot)},
                SystemClock(),
                DeliveryLimits(rate=rate, chat_interval=1.0),
            )
            stop = asyncio.Event()
            started = time.perf_counter()
            running = asyncio.create_task(worker.run(stop))
            await fake.wait_for(
                "sendMessage",
                count=swept.decided,
                predicate=lambda c: c.ok,
                timeout=swept.decided / rate * 3 + 60,
            )
            elapsed = time.perf_counter() - started
            stop.set()
            await running
        ok = [c for c in fake.calls_of("sendMessage") if c.ok]
        per_chat = Counter(c.params["chat_id"] for c in ok)
        duplicates = sum(count - 1 for count in per_chat.values() if count > 1)
        too_many = fake.rate_limited
    await database.dispose()
    return {
        "members": members,
        "reminders_decided": swept.decided,
        "sweep_seconds": round(sweep_seconds, 2),
        "delivered": len(ok),
        "delivery_seconds": round(elapsed, 1),
        "achieved_rate_per_second": round(len(ok) / elapsed, 2),
        "configured_rate_per_second": rate,
        "http_429": too_many,
        "duplicates": duplicates,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": machine(),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        figures = asyncio.run(run(args.members, args.rate, Path(folder)))
    json.dump(figures, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return (
        0
        if figures["duplicates"] == 0 and figures["delivered"] == figures["reminders_decided"]
        else 1
    )


if __name__ == "__main__":
    raise SystemExit(main())
