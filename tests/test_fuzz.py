"""Property-based fuzzing: random input at every step of the report conversation.

Whatever arrives — text, commands, numbers, button payloads (forged or stale), files, text
from a group — the bot answers in Vietnamese without a technical fault, and nothing but a
real confirmation ever writes a report.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.channels.registry import describe
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.messages import FileRef, Incoming
from bot.core.validation import xml_forbidden
from handlers.context import BotInfo
from handlers.router import Router
from storage.db import Database
from storage.models import Submission
from tests.helpers import dump, invite

VIETNAMESE = re.compile(
    r"[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]", re.I
)
FAULT = "sự cố kỹ thuật"

# How to reach each step of /baocao from scratch, as typed text.
STEPS = {
    "idle": [],
    "task": ["/baocao"],
    "status": ["/baocao 2.dd"],
    "progress": ["/baocao 2.dd", "dang trien khai"],
    "results": ["/baocao 2.dd", "dang trien khai", "40"],
    "evidence": ["/baocao 2.dd", "dang trien khai", "40", "Đã triển khai."],
    "confirm": ["/baocao 2.dd", "dang trien khai", "40", "Đã triển khai.", "bo qua"],
}

texts = st.one_of(
    st.text(max_size=200),
    st.text(alphabet="0123456789%-. ", max_size=6),
    st.sampled_from(
        [
            "/baocao",
            "/huy",
            "/nhiemvu 9.9",
            "/tonghop",
            "/giaitrinh",
            "/giaitrinh sct 2.dd",
            "/lenhla",
            "/start X",
            "hoan thanh",
            "Xác nhận",
            "sua",
            "1",
            "0",
            "99",
            "-1",
            "",
            " ",
            "\u200b",
        ]
    ),
    st.text(min_size=3001, max_size=4500),
)
payloads = st.one_of(
    st.text(max_size=64).filter(lambda p: len(p.encode()) <= 64),
    st.builds(
        lambda n, a, v: f"bc:{n}:{a}:{v}",
        st.text("0123456789abcdef", min_size=4, max_size=4),
        st.sampled_from(["tk", "st", "pr", "ok", "ed", "ef", "cx", "xx"]),
        st.text("0123456789abdeilnprstvx", max_size=4),
    ),
    st.builds(lambda t: f"task:{t}", st.integers(-5, 500)),
    st.builds(lambda c, t: f"rp:{c}:{t}", st.integers(-1, 9), st.integers(-1, 500)),
    st.builds(lambda y, a: f"th:{y}:{a}", st.integers(2020, 2030), st.text(max_size=8)),
    st.builds(lambda m, a: f"mb:{m}:{a}", st.integers(0, 9), st.sampled_from(["on", "off", "x"])),
    st.builds(
        lambda y, a, t, x: f"gx:{y}:{a}:{t}:{x}",
        st.integers(2020, 2030),
        st.integers(-1, 50),
        st.text("0123456789", max_size=3),
        st.sampled_from(["", "ok", "x", "zz"]),
    ),
    st.builds(lambda r: f"ga:{r}", st.integers(-1, 9)),
    st.builds(lambda y: f"gm:{y}", st.text(max_size=6)),
)
files = st.builds(
    FileRef,
    st.text(min_size=1, max_size=20),
    st.one_of(st.none(), st.text(max_size=30)),
    st.one_of(st.none(), st.sampled_from(["image/jpeg", "application/pdf", "text/plain", "x/y"])),
    st.one_of(st.none(), st.integers(-1, 30 * 1024 * 1024)),
)


@dataclass
class Fuzzed:
    kind: str
    value: object


inputs = st.builds(
    Fuzzed,
    st.sampled_from(["text", "payload", "file"]),
    st.one_of(texts, payloads, files),
)


class Files:
    async def fetch(self, file: FileRef) -> bytes:
        return b"%PDF-1.4 fuzz"


@pytest.fixture
def fuzz_router(fuzz_database: Database, clock: FrozenClock, tmp_path: Path) -> Router:
    return Router(
        fuzz_database,
        clock,
        BotInfo(describe(accounts={"telegram": "pgi_test_bot"}), tmp_path / "data"),
    )


async def _submissions(database: Database) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Submission)) or 0)


@pytest.fixture
async def fuzzer(fuzz_router: Router, fuzz_database: Database, clock: FrozenClock) -> Router:
    code = await invite(fuzz_database, clock, "sct")
    await fuzz_router.handle(Incoming("memory", USER, USER, text=f"/start {code}"))
    return fuzz_router


USER = "fuzzer"


async def _send(router: Router, **fields: object) -> list[str]:
    incoming = Incoming("memory", USER, USER, display_name="Fuzz", **fields)  # type: ignore[arg-type]
    return [r.text for r in await router.handle(incoming, files=Files())]


@pytest.mark.parametrize("step", list(STEPS))
@settings(
    max_examples=35,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(fuzzed=inputs)
async def test_any_input_at_any_step(
    step: str, fuzzed: Fuzzed, fuzzer: Router, fuzz_database: Database
) -> None:
    database = fuzz_database
    await _send(fuzzer, text="/huy")
    for text in STEPS[step]:
        await _send(fuzzer, text=text)
    before = await _submissions(database)
    value = fuzzed.value
    if fuzzed.kind == "text" and isinstance(value, str):
        answer = await _send(fuzzer, text=value)
    elif fuzzed.kind == "payload" and isinstance(value, str):
        answer = await _send(fuzzer, payload=value)
    elif isinstance(value, FileRef):
        answer = await _send(fuzzer, file=value)
    else:
        answer = await _send(fuzzer, text=str(value)[:100])
    for text in answer:
        assert FAULT not in text, (step, fuzzed, text)
        assert VIETNAMESE.search(text), (step, fuzzed, text)
    confirmed = any(t.startswith("Đã ghi nhận báo cáo") for t in answer)
    assert await _submissions(database) == before + (1 if confirmed else 0), (step, fuzzed)
    assert not confirmed or step == "confirm"


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(value=st.one_of(texts, payloads))
async def test_groups_get_one_notice_whatever_they_send(value: str, fuzz_router: Router) -> None:
    message = Incoming("memory", "-42", "7", text=value, is_private=False)
    answer = await fuzz_router.handle(message)
    assert all(FAULT not in r.text for r in answer)


XML_FORBIDDEN = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"] + [
    "\ufffe",
    "\uffff",
    "\ud800",
    "\udbff",
    "\udc00",
    "\udfff",
]
dirty = st.lists(
    st.one_of(st.sampled_from(XML_FORBIDDEN), st.text(max_size=8)), min_size=1, max_size=10
).map("".join)


_users = itertools.count(1)


def _forbidden_in(value: object) -> bool:
    """Tell whether a stored value (text, JSON, a row) holds a character XML 1.0 forbids."""
    if isinstance(value, str):
        return any(xml_forbidden(ch) for ch in value)
    if isinstance(value, dict):
        return any(_forbidden_in(k) or _forbidden_in(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_forbidden_in(v) for v in value)
    return False


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=dirty, answers=st.lists(dirty, min_size=4, max_size=4), file_name=dirty)
async def test_no_character_xml_forbids_reaches_storage(
    fuzz_router: Router,
    fuzz_database: Database,
    clock: FrozenClock,
    name: str,
    answers: list[str],
    file_name: str,
) -> None:
    """Names, answers, file names, notices: whatever is typed, storage stays XML-safe."""
    database, router = fuzz_database, fuzz_router
    user = f"x{next(_users)}"

    async def say(sender: str, **fields: object) -> list[str]:
        incoming = Incoming("memory", sender, sender, display_name=name, **fields)  # type: ignore[arg-type]
        return [r.text for r in await router.handle(incoming, files=Files())]

    before = await _submissions(database)
    await say(user, text=f"/start {await invite(database, clock, 'sct')}")
    await say(user, text="/baocao 2.dd")
    await say(user, text="gap kho khan, vuong mac")
    await say(user, text="40" + answers[3])
    await say(user, text="40")
    await say(user, text=f"Đã triển khai {answers[0]} các nội dung của Kế hoạch")
    await say(user, text=f"Thiếu {answers[1]} kinh phí thực hiện")
    await say(user, text=f"Đề nghị {answers[2]} bổ sung kinh phí")
    await say(user, file=FileRef(answers[3] or "f", file_name, "application/pdf", 100))
    await say(user, payload=f"bc:{answers[3]}:ok:")
    await say(user, text="xong")
    answer = await say(user, text="xac nhan")
    assert any(t.startswith("Đã ghi nhận báo cáo") for t in answer), answer
    assert await _submissions(database) == before + 1
    coordinator = f"c-{user}"
    await say(
        coordinator, text=f"/start {await invite(database, clock, 'stnmt', Role.COORDINATOR)}"
    )
    await say(coordinator, text=f"/thongbao Đề nghị các đơn vị {answers[1]} báo cáo đúng hạn")
    await say(coordinator, text=f"/moi sct {answers[2]}")
    for table, rows in (await dump(database)).items():
        for row in rows:
            assert not _forbidden_in(row), (table, row)
