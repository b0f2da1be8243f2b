"""Benchmark: officers reporting through the real bot process, end to end over real HTTP.

Usage::

    python -m benchmarks.intake [--databases sqlite,postgres] [--members 10000] [--officers 300]
                                [--rate 100] [--seconds 20]

For each database it builds the shipped plan with ``--members`` registered officers, starts
the real ``pgibot run`` as a child process against the fake Bot API of the test suite, and
lets ``--officers`` simulated officers go through whole ``/baocao`` conversations (six updates
each: the command, two answers typed, three buttons). A step is timed from the moment its
update is handed to the Bot API to the moment the bot's answer reaches it: received,
committed, answered. Three phases follow a warm-up:

* ``paced``: steps offered at ``--rate`` per second; the figures to hold against the goals;
* ``flood``: paced again while one more user sends 100 messages per second; the officers'
  latency should stay as in ``paced`` and the flooder be asked once to slow down;
* ``capacity``: every officer as fast as the bot answers; the most the bot can take (last, so
  that the backlog it builds does not spill into another phase).

Then the bot is restarted on the same database as if it were 03/12/2024 08:00, seven days
before the results report: its first sweep of the day decides a reminder for every officer
behind, the outbox starts delivering them, and the coordinator asks for the year's
spreadsheet. The ``busy`` phase paces the officers at ``--rate`` through all of it: their
latency while a sweep, a fan-out and an export run (``--no-busy`` skips it).

The same harness then drives a minimal echo bot on python-telegram-bot (``benchmarks.echo_bot``)
through the paced and capacity phases, twice: as python-telegram-bot comes (httpx, asyncio; the
issue's baseline, which the goal is judged against) and on pgibot's own transport and event loop
(aiohttp, uvloop), whose ratio to pgibot is what pgibot's own work alone costs.
It prints JSON: updates per second, p50/p95/p99 latency, the bot's CPU use and peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from benchmarks.harness import (
    POSTGRES,
    Account,
    BotProcess,
    Coordinator,
    Officer,
    Pacer,
    Stats,
    WatchedTelegram,
    database,
    machine,
    make_coordinator,
    pgibot_command,
    populate,
)
from bot.core.i18n import _, set_language
from bot.scheduler import REMINDER_JOB
from storage.db import Database
from storage.models import JobRun, OutboxMessage

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
AS_OF = datetime(2024, 11, 20, 9, 0, tzinfo=HANOI)
"""A working morning of the 2024 cycle, before any reminder is due: reports are open."""
BUSY_AS_OF = datetime(2024, 12, 3, 8, 0, tzinfo=HANOI)
"""Seven days before the results report: the first sweep reminds every officer behind."""
FLOOD_RATE = 100.0
JSON = dict[str, Any]


async def _phase(
    name: str,
    officers: list[Officer],
    process: BotProcess,
    pacer: Pacer,
    rate: float | None,
    seconds: float,
    fake: WatchedTelegram,
    flooder: Officer | None = None,
) -> JSON:
    pacer.set_rate(rate)
    for officer in officers:
        officer.stats = Stats()
    fake.forget_calls()
    cpu, started = process.cpu_seconds(), time.monotonic()
    harness = time.process_time()
    flood: asyncio.Task[int] | None = None
    if flooder is not None:
        flood = asyncio.create_task(_flood(flooder, seconds))
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - started
    used = process.cpu_seconds() - cpu
    harness_used = time.process_time() - harness
    merged = Stats()
    for officer in officers:
        merged.latencies += officer.stats.latencies
        merged.timeouts += officer.stats.timeouts
        merged.reports += officer.stats.reports
    figures = {"phase": name, "offered_per_second": rate or "unbounded"}
    figures |= merged.summary(elapsed)
    figures["bot_cpu_percent"] = round(100 * used / elapsed, 1)
    figures["harness_cpu_percent"] = round(100 * harness_used / elapsed, 1)
    if flood is not None and flooder is not None:
        sent = await flood
        said = [str(m.get("text", "")) for m in fake.sent_to(flooder.user.id)]
        figures["flood"] = {
            "messages_sent": sent,
            "answered": sum("Các lệnh" in t for t in said),
            "asked_to_slow_down": sum("quá nhanh" in t for t in said),
        }
    print(json.dumps(figures, ensure_ascii=False), file=sys.stderr)
    return figures


async def _flood(flooder: Officer, seconds: float) -> int:
    sent, started = 0, time.monotonic()
    while time.monotonic() - started < seconds:
        flooder.user.send_text("/trogiup")
        sent += 1
        await asyncio.sleep(max(0.0, started + sent / FLOOD_RATE - time.monotonic()))
    return sent


async def run_bot(
    kind: str, url: str | None, accounts: list[Account], args: argparse.Namespace, folder: Path
) -> JSON:
    """Run the phases against one bot (``pgibot`` or ``echo``); return the figures."""
    async with WatchedTelegram() as fake:
        data = folder / "data"
        env = BotProcess.environment(url or "sqlite+aiosqlite:///:memory:", fake, data)
        # The production flood limits (12 at once, then 1 a second per user): 300 officers at
        # 100 steps a second take one step every 3 s each, and stay under them at full load
        # (up to 300 steps a second); the flooder is held to one a second.
        if kind == "pgibot":
            command = pgibot_command(AS_OF, args.profile)
        else:
            command = [sys.executable, "-m", "benchmarks.echo_bot"]
            if kind == "echo-as-pgibot":
                command.append("--as-pgibot")
        process = BotProcess(command, env, folder / f"{kind}.log", folder)
        startup = await process.start(fake)
        pacer = Pacer(args.rate)
        echo = kind != "pgibot"
        officers = [Officer(fake, a, pacer, echo=echo) for a in accounts[: args.officers]]
        stop = asyncio.Event()
        running = [asyncio.create_task(o.run(stop)) for o in officers]
        phases = []
        try:
            await _phase("warm-up", officers, process, pacer, args.rate, 3, fake)
            phases.append(
                await _phase("paced", officers, process, pacer, args.rate, args.seconds, fake)
            )
            if not echo:
                flooder = Officer(fake, accounts[args.officers], Pacer(None))
                phases.append(
                    await _phase(
                        "flood",
                        officers,
                        process,
                        pacer,
                        args.rate,
                        args.seconds,
                        fake,
                        flooder,
                    )
                )
            phases.append(
                await _phase("capacity", officers, process, pacer, None, args.seconds, fake)
            )
            peak = process.peak_rss_mb()
        finally:
            stop.set()
            pacer.set_rate(None)
            _done, pending = await asyncio.wait(running, timeout=30)
            for task in pending:
                task.cancel()
            code, stop_seconds = await process.terminate()
        return {
            "bot": kind,
            "startup_seconds": round(startup, 1),
            "phases": phases,
            "peak_rss_mb": round(peak, 1),
            "sigterm_exit_code": code,
            "sigterm_seconds": round(stop_seconds, 1),
        }


async def run_busy(
    url: str, accounts: list[Account], boss: Account, args: argparse.Namespace, folder: Path
) -> JSON:
    """Restart the bot on a reminder morning; pace the officers through the sweep and an export."""
    prefix = _("Dear comrade %(name)s,").split("%(name)s")[0]
    async with WatchedTelegram(notification_prefix=prefix) as fake:
        env = BotProcess.environment(url, fake, folder / "data")
        profile = args.profile.with_suffix(".busy") if args.profile else None
        command = pgibot_command(BUSY_AS_OF, profile)
        process = BotProcess(command, env, folder / "busy.log", folder)
        launched = time.monotonic()
        await process.start(fake)
        pacer = Pacer(args.rate)
        officers = [Officer(fake, a, pacer) for a in accounts[: args.officers]]
        coordinator = Coordinator(fake, boss)
        stop = asyncio.Event()
        running = [asyncio.create_task(o.run(stop)) for o in officers]
        try:
            phase_started = time.monotonic()
            asked = asyncio.create_task(coordinator.export())
            figures = await _phase("busy", officers, process, pacer, args.rate, args.seconds, fake)
            await asked
            peak = process.peak_rss_mb()
        finally:
            stop.set()
            pacer.set_rate(None)
            _done, pending = await asyncio.wait(running, timeout=30)
            for task in pending:
                task.cancel()
            await process.terminate()
    sweep = await _sweep_figures(url)
    figures["reminders_decided"] = sweep["decided"]
    # The bot's clock started at BUSY_AS_OF when it was launched: the sweep's place in time.
    offset = phase_started - launched
    for key, moment in (("sweep_from_s", sweep["first"]), ("sweep_to_s", sweep["last"])):
        figures[key] = None if moment is None else round(moment - offset, 1)
    figures["reminders_delivered_in_phase"] = sum(fake.notifications.values())
    figures["export_seconds"] = (
        round(coordinator.received_at - coordinator.pressed_at, 1)
        if coordinator.received_at and coordinator.pressed_at
        else None
    )
    figures["export_pressed_at_s"] = (
        round(coordinator.pressed_at - phase_started, 1) if coordinator.pressed_at else None
    )
    figures["peak_rss_mb"] = round(peak, 1)
    return figures


async def _sweep_figures(url: str) -> JSON:
    """How many reminders the sweep decided; when it ran (seconds after the bot's start)."""
    database = Database(url)
    try:
        async with database.session() as session:
            decided = await session.scalar(
                select(func.count()).where(OutboxMessage.kind == "reminder")
            )
            run = await session.get(JobRun, REMINDER_JOB)
    finally:
        await database.dispose()

    def after_start(moment: datetime | None) -> float | None:
        if moment is None:
            return None
        local = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return (local - BUSY_AS_OF).total_seconds()

    return {
        "decided": int(decided or 0),
        "first": after_start(run.started_at if run else None),
        "last": after_start(run.finished_at if run else None),
    }


async def run(args: argparse.Namespace, folder: Path) -> JSON:
    """Run the benchmark on each database, then the echo baseline."""
    set_language("vi")
    results: JSON = {
        "machine": machine(),
        "members": args.members,
        "officers": args.officers,
        "runs": [],
    }
    for kind in filter(None, args.databases.split(",")):
        sub = folder / kind
        sub.mkdir()
        async with database(kind, sub, args.postgres) as url:
            accounts = await populate(url, args.members, args.officers + 2, AS_OF)
            boss = accounts[args.officers + 1]
            await make_coordinator(url, boss, AS_OF.date())
            figures = await run_bot("pgibot", url, accounts, args, sub)
            if args.busy:
                busy = sub / "busy"
                busy.mkdir()
                figures["phases"].append(await run_busy(url, accounts, boss, args, busy))
        results["runs"].append({"database": kind} | figures)
    fake_accounts = [Account(20_000_000 + n, 0, ("1.a.1",)) for n in range(args.officers)]
    for key, kind in (("echo", "echo"), ("echo_as_pgibot", "echo-as-pgibot")):
        echo_folder = folder / kind
        echo_folder.mkdir()
        results[key] = await run_bot(kind, None, fake_accounts, args, echo_folder)
    results["goals"] = _goals(results)
    results["harness_peak_rss_mb"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
    )
    return results


def _phase_of(run: JSON, name: str) -> JSON:
    return next(p for p in run["phases"] if p["phase"] == name)


def _goals(results: JSON) -> JSON:
    """Check the issue's goals against the figures."""
    # The baseline: an echo bot on python-telegram-bot as it comes. The echo bot on
    # pgibot's own transport and event loop is reported beside it, for what it shows.
    echo_capacity = _phase_of(results["echo"], "capacity")["updates_per_second"]
    same_transport = _phase_of(results["echo_as_pgibot"], "capacity")["updates_per_second"]
    goals: JSON = {}
    for run in results["runs"]:
        paced = _phase_of(run, "paced")
        capacity = _phase_of(run, "capacity")
        flood = _phase_of(run, "flood")
        ratio = (
            echo_capacity / capacity["updates_per_second"] if capacity["updates_per_second"] else 0
        )
        goals[run["database"]] = {
            "at_least_100_updates_per_second": capacity["updates_per_second"] >= 100
            and paced["updates_per_second"] >= 0.95 * paced["offered_per_second"],
            "p99_under_300_ms_when_paced": paced["p99_ms"] < 300,
            "echo_capacity_over_ours": round(ratio, 2),
            "within_3x_of_echo": 0 < ratio <= 3,
            "echo_as_pgibot_capacity_over_ours": round(
                same_transport / capacity["updates_per_second"], 2
            )
            if capacity["updates_per_second"]
            else 0,
            "memory_under_150_mb": run["peak_rss_mb"] < 150,
            "flood_p99_under_300_ms": flood["p99_ms"] < 300,
            "flooder_asked_once": flood["flood"]["asked_to_slow_down"] == 1,
            "no_timeouts": all(p["timeouts"] == 0 for p in run["phases"]),
            "busy_p99_under_300_ms": all(
                p["p99_ms"] < 300 for p in run["phases"] if p["phase"] == "busy"
            ),
            "stopped_cleanly": run["sigterm_exit_code"] == 0,
        }
    return goals


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print the figures; exit 1 when a goal is missed on SQLite."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--officers", type=int, default=300)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--postgres", default=POSTGRES, help="an admin URL of the server")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the bot to this file")
    parser.add_argument(
        "--no-busy",
        dest="busy",
        action="store_false",
        help="skip the phase during a reminder sweep, its fan-out and an export",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        results = asyncio.run(run(args, Path(folder)))
    json.dump(results, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    sqlite = results["goals"].get("sqlite", {})
    return 0 if all(v for k, v in sqlite.items() if isinstance(v, bool)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
