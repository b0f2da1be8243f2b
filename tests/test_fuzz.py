"""Property-based fuzzing: random input at every step of the report conversation.

Whatever arrives — text, commands, numbers, button payloads (forged or stale), files, text
from a group — the bot answers in Vietnamese without a technical fault, and nothing but a
real confirmation ever writes a report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import FrozenClock
from bot.core.messages import Channel, FileRef, Incoming
from handlers.context import BotInfo
from handlers.router import Router
from storage.models import Submission
from tests.helpers import invite

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
def fuzz_router(
    fuzz_sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, tmp_path: Path
) -> Router:
    return Router(fuzz_sessions, clock, BotInfo("pgi_test_bot", tmp_path / "data"))


async def _submissions(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Submission)) or 0)


@pytest.fixture
async def fuzzer(
    fuzz_router: Router, fuzz_sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> Router:
    code = await invite(fuzz_sessions, clock, "sct")
    await fuzz_router.handle(Incoming(Channel.MEMORY, USER, USER, text=f"/start {code}"))
    return fuzz_router


USER = "fuzzer"


async def _send(router: Router, **fields: object) -> list[str]:
    incoming = Incoming(Channel.MEMORY, USER, USER, display_name="Fuzz", **fields)  # type: ignore[arg-type]
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
    step: str, fuzzed: Fuzzed, fuzzer: Router, fuzz_sessions: async_sessionmaker[AsyncSession]
) -> None:
    sessions = fuzz_sessions
    await _send(fuzzer, text="/huy")
    for text in STEPS[step]:
        await _send(fuzzer, text=text)
    before = await _submissions(sessions)
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
    assert await _submissions(sessions) == before + (1 if confirmed else 0), (step, fuzzed)
    assert not confirmed or step == "confirm"


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(value=st.one_of(texts, payloads))
async def test_groups_get_one_notice_whatever_they_send(value: str, fuzz_router: Router) -> None:
    message = Incoming(Channel.MEMORY, "-42", "7", text=value, is_private=False)
    answer = await fuzz_router.handle(message)
    assert all(FAULT not in r.text for r in answer)
