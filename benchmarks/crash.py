"""Crash run: the real bot killed with SIGKILL again and again, while it works, and restarted.

Usage::

    python -m benchmarks.crash [--kills 20] [--members 2000] [--officers 30] [--seed 7]
                               [--database sqlite|postgres] [--instances 1|2]

The database holds the shipped plan and ``--members`` officers; the bot runs as of 03/12/2024
08:00, seven days before the results report, so that its first sweep decides a reminder for
every one of them and the outbox delivers them while the officers report. Meanwhile
``--officers`` simulated officers go through whole ``/baocao`` conversations and a coordinator
asks for the spreadsheet of the year now and then. The harness kills the process at a random
moment, ``--kills`` times, taking turns to aim at the report intake, the reminder fan-out and an
export in progress, and restarts it at once. After the last restart it lets the work drain,
stops the bot with SIGTERM in the middle of the traffic and checks:

* every report whose "Xác nhận" an officer pressed is in the database exactly once (the ones
  whose receipt was lost in a crash included): nothing confirmed lost, nothing duplicated;
* every update the Bot API handed out is in the inbox once, and processed;
* every reminder decided was delivered, and no chat got the same one more often than once
  plus the messages in flight at the kills (at most ``concurrency`` per kill);
* after every restart the bot answered a probe within 10 seconds;
* SIGTERM stopped it cleanly (exit code 0) within 30 seconds.

With ``--instances 2`` (PostgreSQL) two ``pgibot run`` processes share the database; each
kill aims at the leader (the one polling, delivering and sweeping), which is restarted at once
as the standby, and the other must take over: the probe's answer then measures the takeover.
The SIGTERM goes to the leader too.

It prints the figures as JSON and exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
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
    StepTimeout,
    WatchedTelegram,
    database,
    machine,
    make_coordinator,
    pgibot_command,
    populate,
)
from bot.core.i18n import _, set_language
from bot.outbox import DeliveryLimits
from storage.db import Database
from storage.models import InboxUpdate, Instance, OutboxMessage, Submission

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
AS_OF = datetime(2024, 12, 3, 8, 0, tzinfo=HANOI)
"""Seven days before the results report: every agency is behind, a reminder for everyone."""
ANSWER_WITHIN = 10.0
STOP_WITHIN = 30.0
SCENARIOS = ("intake", "fan-out", "export")
JSON = dict[str, Any]


async def _probe(fake: WatchedTelegram, probe: Account) -> None:
    user = fake.user(probe.user_id, first_name="Thăm dò")
    answer = fake.expect(probe.user_id, None)
    user.send_text("/trogiup")
    await asyncio.wait_for(answer, 60)


async def _counts(url: str) -> JSON:
    database = Database(url)
    try:
        async with database.session() as session:
            unprocessed = await session.scalar(
                select(func.count())
                .select_from(InboxUpdate)
                .where(InboxUpdate.processed_at.is_(None))
            )
            inbox = await session.scalar(select(func.count()).select_from(InboxUpdate))
            statuses = dict(
                (
                    await session.execute(
                        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                    )
                ).all()
            )
            stored = (await session.execute(select(Submission.id, Submission.results))).all()
        return {
            "inbox": int(inbox or 0),
            "inbox_unprocessed": int(unprocessed or 0),
            "outbox": {str(k): int(v) for k, v in statuses.items()},
            "results": [results for _id, results in stored],
            "ids": {results: report_id for report_id, results in stored},
        }
    finally:
        await database.dispose()


async def _leader(url: str, processes: list[BotProcess]) -> BotProcess:
    """Return the process that leads now (by the heartbeats), waiting until one does."""
    by_pid = {process.pid: process for process in processes}
    database = Database(url)
    try:
        for _attempt in range(300):
            async with database.session() as session:
                pids = list(
                    await session.scalars(
                        select(Instance.pid)
                        .where(Instance.leader.is_(True))
                        .order_by(Instance.seen_at.desc())
                    )
                )
            leading = [by_pid[pid] for pid in pids if pid in by_pid]
            if leading:
                return leading[0]
            await asyncio.sleep(0.1)
    finally:
        await database.dispose()
    raise RuntimeError("no instance leads")


async def _until(condition: Any, within: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await condition():
            return True
        await asyncio.sleep(step)
    return False


async def run(args: argparse.Namespace, folder: Path) -> JSON:
    """Kill and restart the bot ``--kills`` times; check what survived."""
    set_language("vi")
    rng = random.Random(args.seed)
    prefix = _("Dear comrade %(name)s,").split("%(name)s")[0]
    async with database(args.database, folder, args.postgres) as url:
        accounts = await populate(url, args.members, args.officers + 2, AS_OF)
        officer_accounts, probe, boss = accounts[:-2], accounts[-2], accounts[-1]
        await make_coordinator(url, boss, AS_OF.date())
        async with WatchedTelegram(notification_prefix=prefix) as fake:
            env = BotProcess.environment(url, fake, folder / "data")
            env |= {"PGIBOT_FLOOD_BURST": "20", "PGIBOT_FLOOD_RATE": "10"}
            processes = [
                BotProcess(pgibot_command(AS_OF), env, folder / f"bot{n or ''}.log", folder)
                for n in range(args.instances)
            ]
            await processes[0].start(fake)
            for standby in processes[1:]:
                await standby.start(fake, polling=False)
            single = args.instances == 1
            pacer = Pacer(args.rate)
            officers = [Officer(fake, a, pacer, step_timeout=15) for a in officer_accounts]
            coordinator = Coordinator(fake, boss)
            stop = asyncio.Event()
            running = [asyncio.create_task(o.run(stop)) for o in officers]
            kills: list[JSON] = []
            try:
                for number in range(args.kills):
                    scenario = SCENARIOS[number % len(SCENARIOS)]
                    await asyncio.sleep(rng.uniform(1.0, 3.0))
                    if scenario == "export":
                        with contextlib.suppress(TimeoutError, LookupError, StepTimeout):
                            await coordinator.export()
                            await asyncio.sleep(rng.uniform(0.0, 0.4))
                    elif scenario == "fan-out":
                        await asyncio.sleep(rng.uniform(0.0, 0.5))
                    fanning = time.monotonic() - fake.last_notification < 1.0
                    process = processes[0] if single else await _leader(url, processes)
                    await process.kill()
                    started = time.monotonic()
                    await process.start(fake, polling=single)  # two: back as the standby
                    await _probe(fake, probe)
                    answered = time.monotonic() - started
                    kills.append(
                        {
                            "scenario": scenario,
                            "reminders_in_flight": fanning,
                            "answered_after_restart_s": round(answered, 2),
                        }
                    )
                    print(json.dumps(kills[-1], ensure_ascii=False), file=sys.stderr)
                # SIGTERM in the middle of the traffic: it must stop cleanly, keeping the rest.
                await asyncio.sleep(2.0)
                process = processes[0] if single else await _leader(url, processes)
                code, stop_seconds = await process.terminate(within=STOP_WITHIN)
                await process.start(fake, polling=single)
                stop.set()
                pacer.set_rate(None)
                await asyncio.wait(running, timeout=60)
                # A killed leader's claims are taken over when their lease runs out (never while
                # it may still be sending): the drain waits for that on top of the backlog.
                lease = 0.0 if single else DeliveryLimits().lease
                drained = await _until(
                    lambda: _drained(url), within=max(120.0, args.members / 20) + lease
                )
                peak = max(p.peak_rss_mb() for p in processes)
                final_code, final_seconds = 0, 0.0
                for process in processes:
                    exit_code, seconds = await process.terminate(within=STOP_WITHIN)
                    final_code = exit_code if final_code == 0 else final_code
                    final_seconds = max(final_seconds, seconds)
            finally:
                stop.set()
                for task in running:
                    task.cancel()
                for process in processes:
                    await process.kill()
            counts = await _counts(url)
            pressed = Counter(text for o in officers for text in o.pressed_confirm)
            confirmed = [text for o in officers for text in o.confirmed]
            stored = Counter(counts["results"])
            lost = [text for text in pressed if stored[text] == 0]
            no_receipt = [
                text
                for text in pressed
                if text in counts["ids"] and counts["ids"][text] not in fake.receipts
            ]
            duplicated = {text: n for text, n in stored.items() if n > 1}
            seen_updates = fake._next_update_id  # every update the fake ever numbered
            repeats = sum(n - 1 for n in fake.notifications.values() if n > 1)
            bound = args.kills * DeliveryLimits().concurrency
            figures: JSON = {
                "machine": machine(),
                "database": args.database,
                "instances": args.instances,
                "members": args.members,
                "officers": args.officers,
                "kills": kills,
                "reports_confirm_pressed": sum(pressed.values()),
                "reports_receipt_seen": len(confirmed),
                "reports_stored": sum(stored[t] for t in pressed),
                "reports_lost": lost,
                "reports_without_receipt": no_receipt,
                "reports_duplicated": duplicated,
                "inbox": counts["inbox"],
                "inbox_unprocessed": counts["inbox_unprocessed"],
                "updates_numbered_by_fake": seen_updates,
                "outbox": counts["outbox"],
                "reminder_chats": len({chat for chat, _text in fake.notifications}),
                "reminders_repeated": repeats,
                "reminders_repeat_bound": bound,
                "exports_received": coordinator.exports_received,
                "max_answer_after_restart_s": max(k["answered_after_restart_s"] for k in kills),
                "sigterm_exit_code": code,
                "sigterm_seconds": round(stop_seconds, 1),
                "final_sigterm_exit_code": final_code,
                "final_sigterm_seconds": round(final_seconds, 1),
                "drained": drained,
                "peak_rss_mb_last_run": round(peak, 1),
            }
            figures["checks"] = {
                "no_confirmed_report_lost": not lost,
                "no_report_duplicated": not duplicated,
                "every_stored_report_receipted": not no_receipt,
                "every_update_processed": counts["inbox_unprocessed"] == 0 and drained,
                "every_reminder_delivered": set(counts["outbox"]) <= {"sent", "blocked"},
                "reminder_repeats_within_bound": repeats <= bound,
                "answered_within_10_s": figures["max_answer_after_restart_s"] <= ANSWER_WITHIN,
                "sigterm_clean_within_30_s": code == 0 and stop_seconds <= STOP_WITHIN,
            }
            return figures


async def _drained(url: str) -> bool:
    counts = await _counts(url)
    pending = {k: v for k, v in counts["outbox"].items() if k not in ("sent", "blocked", "failed")}
    return counts["inbox_unprocessed"] == 0 and not pending


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print the figures; exit 1 if a check failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--officers", type=int, default=30)
    parser.add_argument("--rate", type=float, default=30.0, help="report steps per second")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres", default=POSTGRES, help="an admin URL of the server")
    parser.add_argument("--keep", type=Path, help="keep the bot's log and data in this folder")
    parser.add_argument(
        "--instances", type=int, choices=(1, 2), default=1, help="2: on PostgreSQL"
    )
    args = parser.parse_args(argv)
    if args.instances == 2:
        args.database = "postgres"
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        figures = asyncio.run(run(args, args.keep))
    else:
        with tempfile.TemporaryDirectory() as folder:
            figures = asyncio.run(run(args, Path(folder)))
    json.dump(figures, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0 if all(figures["checks"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
