"""What the intake benchmark and the crash run share.

* :func:`populate` builds a database with the shipped plan and many officers;
* :class:`BotProcess` runs the real ``pgibot run`` (or the echo baseline) as a child process
  against the fake Bot API, and reads its CPU time and peak memory from ``/proc``;
* :class:`WatchedTelegram` is the test suite's fake Bot API that also wakes whoever waits for
  a chat's next message, so that a thousand waiting officers cost nothing while they wait;
* :class:`Officer` goes through whole ``/baocao`` conversations, one step at a time, and times
  each step from the moment its update is handed to the Bot API to the bot's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import re
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import insert, select, update
from sqlalchemy.engine import make_url

from bot.core.i18n import _
from storage import migrate
from storage.db import Database
from storage.models import Agency, Assignment, Member, MemberIdentity, Task
from storage.plan_loader import default_plan_path, read_plan
from storage.structure import assignment_in_force
from storage.uow import UnitOfWork
from tests.fakes.telegram_api import FakeTelegram, FakeUser

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "424242:BENCH"
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
"""The PostgreSQL server's admin URL the benchmarks make their databases with, by default."""
FIRST_USER_ID = 10_000_000
JSON = dict[str, Any]


# --- the database ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Account:
    """A registered officer the harness can act as."""

    user_id: int
    member_id: int
    task_codes: tuple[str, ...]


async def populate(url: str, members: int, accounts: int, as_of: datetime) -> list[Account]:
    """Migrate, import the plan and register ``members`` officers; return ``accounts`` of them.

    Officers are spread over the agencies that have tasks; each has a Telegram account whose
    user id is ``FIRST_USER_ID + n``.
    """
    database = Database(url)
    engine = database.engine
    try:
        await migrate.upgrade(engine)
        async with UnitOfWork(database) as uow:
            await uow.plans.import_plan(
                read_plan(default_plan_path()), today=as_of.date(), now=as_of
            )
            await uow.commit()
        async with database.session() as session:
            rows = await session.execute(
                select(Assignment.agency_id, Task.code)
                .join(Task, Task.id == Assignment.task_id)
                .where(Task.active.is_(True), assignment_in_force(as_of.date()))
                .order_by(Assignment.agency_id, Task.position)
            )
            tasks: dict[int, list[str]] = {}
            for agency_id, code in rows:
                tasks.setdefault(agency_id, []).append(code)
            agencies = [
                a
                for a in await session.scalars(select(Agency.id).order_by(Agency.id))
                if a in tasks
            ]
            first = int(await session.scalar(select(Member.id).order_by(Member.id.desc())) or 0)
            people = [
                {
                    "id": first + n + 1,
                    "full_name": f"Cán bộ thử nghiệm {n}",
                    "agency_id": agencies[n % len(agencies)],
                    "role": "officer",
                    "active": True,
                    "language": "vi",
                    "created_at": as_of,
                }
                for n in range(members)
            ]
            identities = [
                {
                    "member_id": person["id"],
                    "channel": "telegram",
                    "user_id": str(FIRST_USER_ID + n),
                    "chat_id": str(FIRST_USER_ID + n),
                    "reachable": True,
                    "created_at": as_of,
                }
                for n, person in enumerate(people)
            ]
            for start in range(0, members, 5000):
                await session.execute(insert(Member), people[start : start + 5000])
                await session.execute(insert(MemberIdentity), identities[start : start + 5000])
            await session.commit()
        return [
            Account(
                FIRST_USER_ID + n,
                int(people[n]["id"]),
                tuple(tasks[int(people[n]["agency_id"])]),
            )
            for n in range(min(accounts, members))
        ]
    finally:
        await database.dispose()


@contextlib.asynccontextmanager
async def database(kind: str, folder: Path, postgres_admin: str) -> AsyncIterator[str]:
    """Yield the URL of a new, empty database: a SQLite file or a PostgreSQL database."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"
        return
    import asyncpg

    admin = make_url(postgres_admin)
    name = f"pgibot_bench_{uuid.uuid4().hex[:10]}"

    async def execute(statement: str) -> None:
        connection = await asyncpg.connect(
            host=admin.host,
            port=admin.port or 5432,
            user=admin.username,
            password=admin.password,
            database=admin.database,
        )
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    await execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(False)
    finally:
        await execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def make_coordinator(url: str, account: Account, today: date) -> None:
    """Make an account a member of the coordinating agency, with the coordinator's role."""
    database = Database(url)
    try:
        async with UnitOfWork(database) as uow:
            agency = await uow.agencies.coordinator(today)
        assert agency is not None, "the plan names no coordinating agency"
        async with database.session() as session:
            await session.execute(
                update(Member)
                .where(Member.id == account.member_id)
                .values(role="coordinator", agency_id=agency.id)
            )
            await session.commit()
    finally:
        await database.dispose()


# --- the bot process -------------------------------------------------------------------------


class BotProcess:
    """The bot (or the echo baseline) as a child process talking to the fake Bot API."""

    def __init__(
        self, command: Sequence[str], env: dict[str, str], log_path: Path, cwd: Path
    ) -> None:
        self.command, self.env, self.log_path, self.cwd = list(command), env, log_path, cwd
        self.process: asyncio.subprocess.Process | None = None
        self._log: TextIO | None = None
        self.starts = 0

    @staticmethod
    def environment(url: str, fake: FakeTelegram, data_dir: Path) -> dict[str, str]:
        """The environment of a bot that talks to ``fake`` and keeps its data in ``url``."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "ZALO_", "PGIBOT_", "DATABASE_URL"))
        }
        return env | {
            "DATABASE_URL": url,
            "PGIBOT_DATA_DIR": str(data_dir),
            "PGIBOT_LOG_LEVEL": "WARNING",
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "TELEGRAM_API_FILE_URL": fake.base_file_url,
            "PYTHONPATH": str(ROOT),
        }

    async def start(self, fake: FakeTelegram, within: float = 30.0, polling: bool = True) -> float:
        """Start the process and wait until it polls the Bot API; return how long that took.

        ``polling=False``: do not wait (a standby instance does not poll while another leads).
        """
        started = time.monotonic()
        seen = len(fake.calls)
        self._log = self.log_path.open("a", encoding="utf-8")
        self._log.write(f"--- start {self.starts} ---\n")
        self._log.flush()
        self.process = await asyncio.create_subprocess_exec(
            *self.command, cwd=self.cwd, env=self.env, stdout=self._log, stderr=self._log
        )
        self.starts += 1
        if not polling:
            return 0.0

        def polls() -> bool:
            return any(c.method == "getUpdates" for c in fake.calls[seen:])

        if not await fake.wait_until(polls, within):
            raise RuntimeError(f"the bot did not start within {within} s; see {self.log_path}")
        return time.monotonic() - started

    @property
    def pid(self) -> int:
        """The process id."""
        if self.process is None:
            raise RuntimeError("not started")
        return self.process.pid

    def cpu_seconds(self) -> float:
        """User and system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def peak_rss_mb(self) -> float:
        """The process's peak resident memory (VmHWM), in MiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    async def kill(self) -> None:
        """Kill the process with SIGKILL, as a power cut or the OOM killer would."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
        self._close_log()

    async def terminate(self, within: float = 30.0) -> tuple[int | None, float]:
        """Send SIGTERM; return the exit code (None if it outlived ``within``) and the time."""
        if self.process is None or self.process.returncode is not None:
            return (self.process.returncode if self.process else None), 0.0
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code: int | None = await asyncio.wait_for(self.process.wait(), within)
        except TimeoutError:
            code = None
            await self.kill()
        self._close_log()
        return code, time.monotonic() - started

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def pgibot_command(as_of: datetime | None, profile: Path | None = None) -> list[str]:
    """The command line of the real bot (under cProfile, writing to ``profile``, if given)."""
    command = [sys.executable]
    if profile is not None:
        command += ["-m", "cProfile", "-o", str(profile)]
    command += ["-m", "bot", "run"]
    if as_of is not None:
        command += ["--as-of", as_of.strftime("%d/%m/%Y %H:%M")]
    return command


# --- the Bot API, watched ----------------------------------------------------------------------


RECEIPT = re.compile(r"Đã ghi nhận báo cáo số \d+/(\d+)")
"""A receipt's text, with the report's id (its number is the year and the id)."""


@dataclass
class _Watch:
    expect: str | tuple[str, ...] | None
    future: asyncio.Future[JSON]


class WatchedTelegram(FakeTelegram):
    """The fake Bot API, resolving a waiter as soon as the bot sends or edits in its chat."""

    def __init__(
        self, token: str = TOKEN, *, notification_prefix: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(token, **kwargs)
        self._watches: dict[int, list[_Watch]] = {}
        self.notification_prefix = notification_prefix
        """Messages starting with this are notifications (reminders), not answers."""
        self.notifications: Counter[tuple[int, str]] = Counter()
        """How many times each notification text reached each chat."""
        self.last_notification = 0.0
        self.receipts: set[int] = set()
        """The reports whose receipt reached their officer (by id, read from the receipt)."""

    def expect(self, chat_id: int, expect: str | tuple[str, ...] | None) -> asyncio.Future[JSON]:
        """A future for the bot's next message in a chat containing ``expect``.

        ``expect`` is a text, several texts (any of them will do) or None (any message).
        """
        future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._watches.setdefault(chat_id, []).append(_Watch(expect, future))
        return future

    def _seen(self, chat_id: int, message: JSON | bool) -> None:
        if not isinstance(message, dict):
            return
        text = str(message.get("text", ""))
        if receipt := RECEIPT.search(text):
            self.receipts.add(int(receipt.group(1)))
        if self.notification_prefix and text.startswith(self.notification_prefix):
            self.notifications[(chat_id, text)] += 1
            self.last_notification = time.monotonic()
            return
        watches = self._watches.get(chat_id)
        if not watches:
            return
        for watch in list(watches):
            if watch.future.done():
                watches.remove(watch)
            elif watch.expect is None or any(
                wanted in text
                for wanted in ((watch.expect,) if isinstance(watch.expect, str) else watch.expect)
            ):
                watch.future.set_result(message)
                watches.remove(watch)

    def _api_send_message(self, params: JSON) -> JSON:
        message = super()._api_send_message(params)
        self._seen(self._chat_id(params), message)
        return message

    def _api_edit_message_text(self, params: JSON) -> JSON | bool:
        message = super()._api_edit_message_text(params)
        self._seen(self._chat_id(params), message)
        return message

    def forget_calls(self) -> None:
        """Drop the call log (a long run would otherwise keep every call in memory)."""
        self.calls.clear()


# --- officers -------------------------------------------------------------------------------


def button(message: JSON, label: str) -> str:
    """The callback data of the button whose label starts with ``label``."""
    for row in message.get("reply_markup", {}).get("inline_keyboard", []):
        for key in row:
            if key["text"].startswith(label):
                return str(key["callback_data"])
    raise LookupError(f"no button {label!r} in {str(message.get('text'))[:200]!r}")


class Coordinator:
    """The coordinator asking for the year's spreadsheet."""

    def __init__(self, fake: WatchedTelegram, account: Account) -> None:
        self.fake = fake
        self.user = fake.user(account.user_id, first_name="Điều phối")
        self.exports_received = 0
        self.pressed_at: float | None = None
        self.received_at: float | None = None

    async def export(self) -> None:
        """Ask for the summary, press "Bảng tính"; return once the press is handed over."""
        overview_future = self.fake.expect(self.user.id, "TỔNG HỢP")
        self.user.send_text("/tonghop")
        overview = await asyncio.wait_for(overview_future, 20)
        attached = self.fake.expect(self.user.id, _("The file is attached: %(name)s")[:12])
        self.user.press(int(overview["message_id"]), button(overview, _("Spreadsheet")))
        self.pressed_at = time.monotonic()
        attached.add_done_callback(self._received)

    def _received(self, future: asyncio.Future[JSON]) -> None:
        if not future.cancelled():
            self.exports_received += 1
            self.received_at = time.monotonic()


class StepTimeout(Exception):
    """The bot did not answer a step in time."""


@dataclass
class Stats:
    """What a phase measured."""

    latencies: list[float] = field(default_factory=list)
    timeouts: int = 0
    reports: int = 0
    superseded: int = 0
    """Confirmations answered with a colleague's newer report instead of a receipt."""

    def summary(self, seconds: float) -> JSON:
        """Throughput and latency percentiles (milliseconds)."""
        ordered = sorted(self.latencies)

        def percentile(p: float) -> float:
            if not ordered:
                return 0.0
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)

        return {
            "updates": len(ordered),
            "seconds": round(seconds, 1),
            "updates_per_second": round(len(ordered) / seconds, 1) if seconds else 0.0,
            "p50_ms": percentile(0.50),
            "p95_ms": percentile(0.95),
            "p99_ms": percentile(0.99),
            "max_ms": round(ordered[-1] * 1000, 1) if ordered else 0.0,
            "timeouts": self.timeouts,
            "reports_confirmed": self.reports,
            "reports_superseded": self.superseded,
        }


class Pacer:
    """Hand out step slots at a steady rate (None: as fast as the officers can go)."""

    def __init__(self, rate: float | None = None) -> None:
        self.rate = rate
        self._next = time.monotonic()

    def set_rate(self, rate: float | None) -> None:
        """Change the rate from now on (slots already handed out at the same rate stand)."""
        if rate != self.rate:
            self._next = time.monotonic()
        self.rate = rate

    async def slot(self) -> None:
        """Wait for the next slot."""
        if self.rate is None:
            return
        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + 1.0 / self.rate
        if start > now:
            await asyncio.sleep(start - now)


RECORDED = "Đã ghi nhận"
"""In the receipt of a recorded report."""
NOT_RECORDED_YET = "chưa được ghi nhận"
"""In the note shown instead when a colleague's report on the task was recorded meanwhile."""


class Officer:
    """One officer going through ``/baocao`` conversations for the tasks of the agency."""

    def __init__(
        self,
        fake: WatchedTelegram,
        account: Account,
        pacer: Pacer,
        *,
        echo: bool = False,
        step_timeout: float = 20.0,
    ) -> None:
        self.fake, self.account, self.pacer, self.echo = fake, account, pacer, echo
        self.user: FakeUser = fake.user(account.user_id, first_name=f"Cán bộ {account.user_id}")
        self.step_timeout = step_timeout
        self.stats = Stats()
        self.confirmed: list[str] = []
        """The unique result texts of the reports the bot confirmed to this officer."""
        self.pressed_confirm: list[str] = []
        """The result texts of every report whose "Xác nhận" this officer pressed."""
        self._reports = 0

    async def step(self, act: Callable[[], JSON], expect: str | tuple[str, ...] | None) -> JSON:
        """Act, then wait for the bot's answer; time it into the current stats."""
        await self.pacer.slot()
        expected = self.fake.expect(self.user.id, None if self.echo else expect)
        started = time.monotonic()
        act()
        try:
            message = await asyncio.wait_for(expected, self.step_timeout)
        except TimeoutError:
            self.stats.timeouts += 1
            raise StepTimeout(expect) from None
        self.stats.latencies.append(time.monotonic() - started)
        return message

    def _press(self, message: JSON, label: str) -> JSON:
        data = f"echo:{self._reports}" if self.echo else button(message, label)
        return self.user.press(int(message["message_id"]), data)

    async def report(self) -> None:
        """Go through one whole report, from /baocao to the receipt."""
        self._reports += 1
        code = self.account.task_codes[self._reports % len(self.account.task_codes)]
        result = f"Kết quả {self.account.user_id}-{self._reports}: đã triển khai theo kế hoạch."
        status = await self.step(
            lambda: self.user.send_text(f"/baocao {code}"), "tình trạng thực hiện"
        )
        await self.step(lambda: self._press(status, "Đang triển khai"), "phần trăm")
        await self.step(lambda: self.user.send_text("60"), "kết quả thực hiện")
        files = await self.step(lambda: self.user.send_text(result), "minh chứng")
        summary = await self.step(lambda: self._press(files, "Bỏ qua"), "kiểm tra")
        self.pressed_confirm.append(result)
        answer = await self.step(
            lambda: self._press(summary, "Xác nhận"), (RECORDED, NOT_RECORDED_YET)
        )
        if RECORDED not in str(answer.get("text", "")):
            # A colleague's report on the task was recorded meanwhile: the bot shows it and
            # records nothing until this officer confirms again; this one starts anew.
            self.pressed_confirm.pop()
            self.stats.superseded += 1
            return
        self.confirmed.append(result)
        self.stats.reports += 1

    async def run(self, stop: asyncio.Event) -> None:
        """Report again and again until asked to stop; a lost answer starts a new report."""
        while not stop.is_set():
            try:
                await self.report()
            except StepTimeout:
                continue
            except LookupError:  # an answer without the expected button (after a restart)
                continue


class LoopLag:
    """How late the event loop runs a 5 ms ticker while something else works on it.

    ``async with LoopLag() as lag: ...`` then ``lag.figures()``: the longest and the 99th
    percentile delay in milliseconds. A long delay is a stretch of work that did not yield:
    every update handled on that loop waited that long.
    """

    TICK = 0.005

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.TICK)
            self.delays.append(time.perf_counter() - before - self.TICK)

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def figures(self) -> dict[str, float]:
        """The longest and the 99th percentile delay, in milliseconds."""
        ordered = sorted(self.delays) or [0.0]
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return {
            "loop_max_delay_ms": round(ordered[-1] * 1000, 1),
            "loop_p99_delay_ms": round(p99 * 1000, 1),
        }


def machine() -> str:
    """Describe the machine: processor, cores, memory, Python."""
    cpu = Path("/proc/cpuinfo").read_text().splitlines()
    model = next(
        (line.split(":", 1)[1].strip() for line in cpu if line.startswith("model name")),
        platform.processor() or platform.machine(),
    )
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    memory = next(
        (int(line.split()[1]) // 1024 // 1024 for line in meminfo if line.startswith("MemTotal")),
        0,
    )
    return f"{model}, {os.cpu_count()} cores, {memory} GiB, Python {platform.python_version()}"
