"""Benchmark: /tonghop and its files at 10,000 and 100,000 submissions, SQLite and PostgreSQL.

Usage::

    python -m benchmarks.summary [--sizes 10000,100000] [--postgres URL]

For each database and size it builds a migrated database with the shipped plan and a
synthetic year (``storage.synthetic``), then measures, through the real router as a
coordinator, the /tonghop message and each file that has a /tonghop button (the export
registry's). Then the workbook once more outside the router, its submissions written by the
fast row writer and by XlsxWriter's own calls (``handlers.exports.xlsx_rows``), to show what
the fast path is worth. Time is wall-clock, and the process's CPU time beside it (the database
driver's thread included), which varies less on a busy machine; memory is the process's peak
resident size after each step (it only grows), which includes the synthetic data generation
that came before.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from benchmarks.harness import LoopLag, database, machine
from bot.channels.memory import MemoryChannel
from bot.channels.registry import describe
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.i18n import set_language
from handlers.context import BotInfo
from handlers.exports.registry import offered
from handlers.exports.spreadsheet import spreadsheet
from handlers.router import Router
from storage import migrate
from storage.db import Database
from storage.plan_loader import default_plan_path, read_plan
from storage.summary import SummaryRepository
from storage.uow import UnitOfWork

NOW = datetime(2024, 11, 20, 2, 0, tzinfo=UTC)


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def _measure(label: str, action: Any, figures: dict[str, Any]) -> Any:
    # No tracemalloc here: it slows Python code several times over and would skew the time.
    started, cpu = time.perf_counter(), time.process_time()
    async with LoopLag() as lag:  # how long the bot's event loop would stall meanwhile
        result = await action()
    figures[label] = {
        "seconds": round(time.perf_counter() - started, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "process_peak_rss_mb": _rss_mb(),
        **lag.figures(),
    }
    return result


async def bench(url: str, size: int, folder: Path) -> dict[str, Any]:
    """Measure one database at one size."""
    database = Database(url)
    clock = FrozenClock(NOW)
    figures: dict[str, Any] = {"submissions": size, "database": make_url(url).get_backend_name()}
    try:
        await migrate.upgrade(database.engine)
        async with UnitOfWork(database) as uow:
            await uow.plans.import_plan(read_plan(default_plan_path()), today=NOW.date(), now=NOW)
            started = time.perf_counter()
            await uow.synthetic.generate(year=2024, submissions=size)
            await uow.commit()
            figures["generate_seconds"] = round(time.perf_counter() - started, 1)
        router = Router(database, clock, BotInfo(describe(), folder / "data"))
        async with UnitOfWork(database) as uow:
            invitation = await uow.invitations.create(
                agency_code="stnmt",
                role=Role.COORDINATOR,
                max_uses=1,
                valid_for=timedelta(days=1),
                created_by="bench",
                now=NOW,
            )
            await uow.commit()
        coordinator = MemoryChannel(router.handle, user_id="1", display_name="Điều phối")
        await coordinator.send(f"/start {invitation.code}")
        replies = await _measure(
            "tonghop_message", lambda: coordinator.send("/tonghop 2024"), figures
        )
        buttons = {c.payload.split(":")[-1]: c.payload for c in replies[0].flat_choices}
        for kind in (entry.key for entry in offered(Role.COORDINATOR)):
            answer = await _measure(
                f"file_{kind}", lambda k=kind: coordinator.press(buttons[k]), figures
            )
            figures[f"file_{kind}"]["bytes"] = len(answer[0].files[0].content)
        async with database.session() as session:
            repository = SummaryRepository(session)
            summary = await repository.summary(2024, NOW.date())
            assert summary is not None
            for label, fast in (("xlsx_fast_rows", True), ("xlsx_xlsxwriter_rows", False)):
                await _measure(
                    label,
                    lambda f=fast: spreadsheet(summary, repository.submissions(2024), fast=f),
                    figures,
                )
    finally:
        await database.dispose()
    return figures


async def main_async(sizes: list[int], postgres: str | None) -> list[dict[str, Any]]:
    """Run every size on SQLite and, when given, PostgreSQL."""
    set_language("vi")
    results = []
    for size in sizes:
        for kind in ("sqlite", "postgres") if postgres else ("sqlite",):
            with tempfile.TemporaryDirectory() as folder:
                async with database(kind, Path(folder), postgres or "") as url:
                    results.append(await bench(url, size, Path(folder)))
                print(json.dumps(results[-1], ensure_ascii=False), file=sys.stderr)
    return results


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print the figures as JSON."""
    parser = argparse.ArgumentParser(description="Benchmark /tonghop and its files.")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--postgres", default=None, help="an admin URL; omit to skip PostgreSQL")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    results = asyncio.run(main_async(sizes, args.postgres))
    json.dump({"machine": machine(), "results": results}, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
