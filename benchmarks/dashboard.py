"""Benchmark: the dashboard's overview, agency list and a search at 100,000 reports.

Usage::

    python -m benchmarks.dashboard [--size 100000] [--postgres URL] [--repeat 5]

For each database it builds a migrated database with the shipped plan and a synthetic year
(``storage.synthetic``), serves the dashboard on 127.0.0.1 (the real aiohttp server), logs in
as the coordinator with a one-time link, and times each page over HTTP: the first request
and the median of the following ones, with the process's CPU time (the database driver's
thread included; on PostgreSQL the server's own time is not in it) and the machine's load
average beside them. Target: each under 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy.engine import make_url

from benchmarks.harness import database, machine
from bot.channels.memory import MemoryChannel
from bot.channels.registry import describe
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.i18n import set_language
from bot.dashboard import Dashboard
from bot.web import WebhookServer, create_app
from handlers.context import BotInfo
from handlers.router import Router
from storage import migrate
from storage.db import Database
from storage.plan_loader import default_plan_path, read_plan
from storage.uow import UnitOfWork

NOW = datetime(2024, 11, 20, 2, 0, tzinfo=UTC)
PAGES = {
    "overview": "?year=2024",
    "agencies": "agencies?year=2024",
    "search": "reports?year=2024&q=t%E1%BA%ADp+hu%E1%BA%A5n&status=in_progress",
    "search_words_only": "reports?year=2024&q=t%E1%BA%ADp+hu%E1%BA%A5n",
}


async def bench(url: str, size: int, folder: Path, repeat: int) -> dict[str, Any]:
    """Measure one database."""
    db = Database(url)
    clock = FrozenClock(NOW)
    figures: dict[str, Any] = {"submissions": size, "database": make_url(url).get_backend_name()}
    server = None
    try:
        await migrate.upgrade(db.engine)
        async with UnitOfWork(db) as uow:
            await uow.plans.import_plan(read_plan(default_plan_path()), today=NOW.date(), now=NOW)
            await uow.synthetic.generate(year=2024, submissions=size)
            invitation = await uow.invitations.create(
                agency_code="stnmt",
                role=Role.COORDINATOR,
                max_uses=1,
                valid_for=timedelta(days=1),
                created_by="bench",
                now=NOW,
            )
            await uow.commit()
        router = Router(db, clock, BotInfo(describe(), folder / "data"))
        coordinator = MemoryChannel(router.handle, user_id="1", display_name="Điều phối")
        await coordinator.send(f"/start {invitation.code}")
        async with UnitOfWork(db) as uow:
            member = await uow.members.by_identity("memory", "1")
            assert member is not None
            token = uow.web_logins.create_link(member.id, NOW, timedelta(minutes=10))
            await uow.commit()
        server = WebhookServer(
            create_app((), dashboard=Dashboard(db, clock, folder / "data")), "127.0.0.1", 0
        )
        await server.start()
        base = f"http://127.0.0.1:{server.port}/web/"
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as client:
            async with client.post(f"{base}login/{token}") as answer:
                assert answer.status == 200, answer.status
            for name, path in PAGES.items():
                times, cpu = [], []
                for _ in range(repeat + 1):
                    started, used = time.perf_counter(), time.process_time()
                    async with client.get(base + path) as answer:
                        body = await answer.read()
                        assert answer.status == 200, (name, answer.status)
                    times.append(time.perf_counter() - started)
                    cpu.append(time.process_time() - used)
                figures[name] = {
                    "first_ms": round(times[0] * 1000),
                    "median_ms": round(statistics.median(times[1:]) * 1000),
                    "median_cpu_ms": round(statistics.median(cpu[1:]) * 1000),
                    "bytes": len(body),
                    "load_average": round(os.getloadavg()[0], 1),
                }
    finally:
        if server is not None:
            await server.cleanup()
        await db.dispose()
    return figures


async def main_async(size: int, postgres: str | None, repeat: int) -> list[dict[str, Any]]:
    """Run on SQLite and, when given, PostgreSQL."""
    set_language("vi")
    results = []
    for kind in ("sqlite", "postgres") if postgres else ("sqlite",):
        with tempfile.TemporaryDirectory() as folder:
            async with database(kind, Path(folder), postgres or "") as url:
                results.append(await bench(url, size, Path(folder), repeat))
            print(json.dumps(results[-1], ensure_ascii=False), file=sys.stderr)
    return results


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print the figures as JSON."""
    parser = argparse.ArgumentParser(description="Benchmark the web dashboard's pages.")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default=None, help="an admin URL; omit to skip PostgreSQL")
    args = parser.parse_args(argv)
    results = asyncio.run(main_async(args.size, args.postgres, args.repeat))
    json.dump({"machine": machine(), "results": results}, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
