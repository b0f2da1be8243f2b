"""What one update costs inside the bot: CPU and SQL statements per step of ``/baocao``.

The intake benchmark measures the whole process over HTTP; this one takes the platform away
and drives the real router (real database, real catalog) with the same six steps an officer
goes through, so that a change to the hot path can be weighed in seconds::

    .venv/bin/python -m benchmarks.router_cost --reports 300
    .venv/bin/python -m benchmarks.router_cost --database postgres
    .venv/bin/python -m benchmarks.router_cost --batch 8   # the worker's group commit

It prints, per step, the CPU time per update (``time.process_time``, so the aiosqlite thread
counts too) and how many SQL statements the step ran.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event

from benchmarks.harness import POSTGRES, database, machine, populate
from benchmarks.intake import AS_OF
from bot.core.clock import OffsetClock
from bot.core.i18n import check_catalog
from bot.core.messages import Incoming, Reply
from handlers.router import Inbound, Router
from storage.db import Database
from storage.uow import UnitOfWork


@dataclass
class StepCost:
    """CPU seconds and statements spent on one kind of step."""

    updates: int = 0
    cpu: float = 0.0
    statements: int = 0


def _choice(replies: list[Reply], label: str) -> str:
    for reply in replies:
        for choice in reply.flat_choices:
            if choice.label.startswith(label):
                return choice.payload
    raise LookupError(f"no choice {label!r} in {[r.text[:40] for r in replies]}")


async def run(
    kind: str,
    reports: int,
    officers: int,
    members: int,
    batch: int,
    loop: str,
    inbox: bool = False,
    held: bool = False,
) -> None:
    """Populate a database, then time ``reports`` whole reports through the router.

    ``inbox``: each update is first recorded in the inbox (not timed) and handled as the
    inbox worker does (claimed in the transaction); ``held``: its replies are also held in the
    outbox in that transaction (the instance's durable replies).
    """
    check_catalog()
    with tempfile.TemporaryDirectory() as folder:
        async with database(kind, Path(folder), POSTGRES) as url:
            accounts = await populate(url, members, officers, AS_OF)
            db = Database(url)
            statements = [0]

            @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
            def _count(*_args: Any) -> None:
                statements[0] += 1

            router = Router(db, OffsetClock(AS_OF), replies_claimant="bench" if held else None)
            recorded = [0]

            async def inbound(incomings: list[Incoming]) -> list[Inbound]:
                if not (inbox or held):
                    return [Inbound(i) for i in incomings]
                updates = []
                for _incoming in incomings:
                    recorded[0] += 1
                    updates.append((f"bench-{recorded[0]}", {"n": recorded[0]}))
                async with UnitOfWork(db) as uow:
                    entries = await uow.inbox.record_all("telegram", updates, AS_OF)
                    await uow.commit()
                router.held.clear()
                return [Inbound(i, e.id) for i, e in zip(incomings, entries, strict=True)]

            costs: dict[str, StepCost] = defaultdict(StepCost)

            async def step(name: str, incomings: list[Incoming]) -> list[list[Reply]]:
                updates = await inbound(incomings)
                before_cpu, before_statements = time.process_time(), statements[0]
                answers = await router.handle_batch(updates)
                cost = costs[name]
                cost.updates += len(incomings)
                cost.cpu += time.process_time() - before_cpu
                cost.statements += statements[0] - before_statements
                return answers

            def message(
                user: str, text: str | None = None, payload: str | None = None
            ) -> Incoming:
                return Incoming(
                    "telegram", user, user, text=text, payload=payload, display_name="Cán bộ"
                )

            done = 0
            while done < reports:
                group = [
                    (str(accounts[n % len(accounts)].user_id), accounts[n % len(accounts)], n)
                    for n in range(done, min(done + batch, reports))
                ]
                done += len(group)
                answers = await step(
                    "/baocao CODE",
                    [
                        message(user, f"/baocao {a.task_codes[n % len(a.task_codes)]}")
                        for user, a, n in group
                    ],
                )
                answers = await step(
                    "status button",
                    [
                        message(u, payload=_choice(r, "Đang"))
                        for (u, _, _), r in zip(group, answers, strict=True)
                    ],
                )
                answers = await step("percentage", [message(u, "60") for u, _, _ in group])
                answers = await step(
                    "result text", [message(u, f"Kết quả {n}: đã làm.") for u, _, n in group]
                )
                answers = await step(
                    "skip evidence",
                    [
                        message(u, payload=_choice(r, "Bỏ qua"))
                        for (u, _, _), r in zip(group, answers, strict=True)
                    ],
                )
                answers = await step(
                    "confirm",
                    [
                        message(u, payload=_choice(r, "Xác nhận"))
                        for (u, _, _), r in zip(group, answers, strict=True)
                    ],
                )
                for answer in answers:
                    if "Đã ghi nhận" not in answer[0].text:
                        raise RuntimeError(f"the report was not confirmed: {answer[0].text[:80]}")
            await db.dispose()

    total = StepCost()
    mode = "replies held in the outbox" if held else "through the inbox" if inbox else "direct"
    print(f"{kind}, {loop}, {reports} reports, {members} members, batches of {batch}, {mode}")
    print(machine())
    print(f"{'step':<16} {'ms CPU/update':>14} {'statements':>11}")
    for name, cost in costs.items():
        total.updates += cost.updates
        total.cpu += cost.cpu
        total.statements += cost.statements
        print(
            f"{name:<16} {1000 * cost.cpu / cost.updates:>14.2f} "
            f"{cost.statements / cost.updates:>11.1f}"
        )
    print(
        f"{'all steps':<16} {1000 * total.cpu / total.updates:>14.2f} "
        f"{total.statements / total.updates:>11.1f}"
    )


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--officers", type=int, default=100)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument(
        "--batch", type=int, default=1, help="officers whose steps are handled together"
    )
    parser.add_argument("--asyncio", action="store_true", help="plain asyncio, not uvloop")
    parser.add_argument("--inbox", action="store_true", help="updates through the inbox")
    parser.add_argument(
        "--held-replies", action="store_true", help="through the inbox, replies held in the outbox"
    )
    args = parser.parse_args()
    coroutine = run(
        args.database,
        args.reports,
        args.officers,
        args.members,
        args.batch,
        "asyncio" if args.asyncio else "uvloop",
        args.inbox,
        args.held_replies,
    )
    if args.asyncio:
        asyncio.run(coroutine)
    else:
        import uvloop

        uvloop.run(coroutine)


if __name__ == "__main__":
    main()
