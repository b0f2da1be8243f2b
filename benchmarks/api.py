"""Benchmark: the API's year summary (and a page of reports) at 100,000 reports, over real HTTP.

Usage::

    python -m benchmarks.api [--sizes 100000] [--postgres URL] [--calls 20]

For each database and size it builds a migrated database with the shipped plan and a
synthetic year (``storage.synthetic``, as ``benchmarks.summary`` does), makes an API key
through the repository, serves the real web application (``bot.web.create_app`` with the
API) on a loopback port, and calls it with aiohttp as another system would:
``GET /api/v1/years/2024/summary`` once to warm up and then ``--calls`` times, and
``GET /api/v1/reports?limit=1000`` the same way. Each call is timed from the request to the
last byte of the answer; the figures are the median, the 95th percentile and the slowest, in
milliseconds, with the answer's size, and the median CPU time of the process (server, client
and the database driver's thread), which depends less on what else the machine is doing.
The client and the server share one process and one event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy.engine import make_url

from benchmarks.harness import database, machine
from bot.api import ApiServices
from bot.core.clock import FrozenClock
from bot.core.i18n import set_language
from bot.web import create_app
from storage import migrate
from storage.db import Database
from storage.plan_loader import default_plan_path, read_plan
from storage.uow import UnitOfWork

NOW = datetime(2024, 11, 20, 2, 0, tzinfo=UTC)
TARGET_MS = 500


async def _timed(session: aiohttp.ClientSession, url: str, calls: int) -> dict[str, Any]:
    """Call a URL once to warm up, then ``calls`` times; return the timings in ms."""
    times, cpu = [], []
    size = 0
    for attempt in range(calls + 1):
        started, cpu_started = time.perf_counter(), time.process_time()
        async with session.get(url) as response:
            body = await response.read()
            assert response.status == 200, (response.status, body[:200])
        if attempt:
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        size = len(body)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, round(0.95 * len(times)) - 1)], 1),
        "max_ms": round(times[-1], 1),
        "median_cpu_ms": round(statistics.median(cpu), 1),
        "bytes": size,
    }


async def bench(url: str, size: int, calls: int) -> dict[str, Any]:
    """Measure one database at one size."""
    db = Database(url)
    clock = FrozenClock(NOW)
    figures: dict[str, Any] = {"reports": size, "database": make_url(url).get_backend_name()}
    try:
        await migrate.upgrade(db.engine)
        async with UnitOfWork(db) as uow:
            await uow.plans.import_plan(read_plan(default_plan_path()), today=NOW.date(), now=NOW)
            started = time.perf_counter()
            await uow.synthetic.generate(year=2024, submissions=size)
            _info, key = await uow.api_keys.create("benchmark", NOW)
            await uow.commit()
            figures["generate_seconds"] = round(time.perf_counter() - started, 1)
        runner = web.AppRunner(create_app([], api=ApiServices(db, clock)))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            headers = {"Authorization": f"Bearer {key}"}
            async with aiohttp.ClientSession(headers=headers) as session:
                figures["summary"] = await _timed(session, f"{base}/years/2024/summary", calls)
                figures["reports_page_1000"] = await _timed(
                    session, f"{base}/reports?limit=1000", calls
                )
        finally:
            await runner.cleanup()
    finally:
        await db.dispose()
    figures["summary_under_target"] = figures["summary"]["p95_ms"] < TARGET_MS
    return figures


async def main_async(sizes: list[int], postgres: str | None, calls: int) -> list[dict[str, Any]]:
    """Run every size on SQLite and, when given, PostgreSQL."""
    set_language("vi")
    results = []
    for size in sizes:
        for kind in ("sqlite", "postgres") if postgres else ("sqlite",):
            with tempfile.TemporaryDirectory() as folder:
                async with database(kind, Path(folder), postgres or "") as url:
                    results.append(await bench(url, size, calls))
                print(json.dumps(results[-1], ensure_ascii=False), file=sys.stderr)
    return results


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print the figures as JSON."""
    parser = argparse.ArgumentParser(description="Benchmark the API's year summary.")
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--postgres", default=None, help="an admin URL; omit to skip PostgreSQL")
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    results = asyncio.run(main_async(sizes, args.postgres, args.calls))
    json.dump({"machine": machine(), "results": results}, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
