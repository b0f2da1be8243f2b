"""Evidence files: downloaded before the transaction, capped, checked by content, sized right."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import docx
import pytest
from sqlalchemy import select

from bot.channels.registry import describe
from bot.core.clock import FrozenClock
from bot.core.i18n import format_size
from bot.core.messages import FileRef
from handlers import evidence
from handlers.router import Router
from storage.db import Database
from storage.models import Attachment, Submission
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import invite
from tests.test_conversations import text_of
from tests.test_report_flow import Files, choice, officer_of
from tests.test_telegram_e2e import Bot, ask, bot, button, fake, register

__all__ = ["bot", "fake"]  # the end-to-end fixtures, used here too

CHUNK = 64 * 1024


class EndlessFile:
    """A platform that serves a file without end (its announced size is false)."""

    def __init__(self) -> None:
        self.served = 0

    async def fetch(self, file: FileRef) -> bytes:
        raise AssertionError("the whole content was asked for")

    async def stream(self, file: FileRef) -> AsyncIterator[bytes]:
        while True:
            self.served += CHUNK
            yield b"%PDF-1.4" + b"x" * (CHUNK - 8)


def _staged(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "evidence").rglob("*") if p.is_file()]


@pytest.mark.parametrize("announced", [None, 100])
async def test_a_file_larger_than_the_cap_is_refused_without_reading_it_whole(
    tmp_path: Path, announced: int | None
) -> None:
    source = EndlessFile()
    file = FileRef("endless", "bao-cao.pdf", "application/pdf", announced)
    assert evidence.check_file(file).ok  # its announced size says nothing is wrong
    limit = 1024 * 1024
    result = await evidence.download(source, file, tmp_path, declared=".pdf", limit=limit)
    assert result.outcome is evidence.Outcome.TOO_LARGE
    assert limit < result.written <= limit + CHUNK  # the bytes written stop at the cap
    assert source.served <= limit + CHUNK
    assert _staged(tmp_path) == []  # the partial file is gone


def test_sizes_are_shown_the_vietnamese_way() -> None:
    assert [format_size(n) for n in (0, 512, 1536, 1000, 20 * 1024 * 1024)] == [
        "0 B",
        "512 B",
        "1,5 KB",
        "1.000 B",
        "20 MB",
    ]
    assert format_size(20 * 1024 * 1024 + 1, round_up=True) == "20,1 MB"


def _docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("Biên bản kiểm tra công trình cấp nước")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


async def test_files_are_checked_by_their_content(
    router: Router,
    database: Database,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    from handlers.context import BotInfo

    data_dir = tmp_path / "data"
    router.bot_info = BotInfo(describe(accounts={"telegram": "pgi_test_bot"}), data_dir)
    files = Files()
    officer = await officer_of(router, database, clock, files)
    [status] = await officer.send("/baocao 1.b.1")
    await officer.press(choice(status, "Hoàn thành"))
    [ask_files] = await officer.send("Đã hoàn thành.")
    assert "minh chứng" in ask_files.text
    cases = {
        # name, type, content → what the officer is told
        "exe": (
            "bao-cao.pdf",
            "application/pdf",
            b"MZ\x90\x00\x03" + b"\x00" * 600,
            "chương trình",
        ),
        "html": ("anh.png", "image/png", b"<!DOCTYPE html><html></html>", "không khớp"),
        "docx-as-pdf": ("ho-so.pdf", "application/pdf", _docx(), "không khớp"),
        "zip-as-xlsx": ("so-lieu.xlsx", None, b"PK\x05\x06" + b"\x00" * 18, "không khớp"),
        "empty": ("trong.pdf", "application/pdf", b"", "Tệp rỗng (0 B)"),
        "small": ("nho.pdf", "application/pdf", b"%PDF-1.4" + b"." * 504, "nho.pdf (512 B)"),
        "pdf": ("bien-ban.pdf", "application/pdf", b"%PDF-1.7" + b"." * 1528, "(1,5 KB)"),
        "docx": ("ke-hoach.docx", None, _docx(), "Đã nhận tệp ke-hoach.docx"),
        "jpeg": (None, "image/jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 60, "anh-4.jpg"),
        "png-as-jpg": (
            "so-do.jpg",
            "image/jpeg",
            b"\x89PNG\r\n\x1a\n" + b"\x00" * 56,
            "so-do.jpg",
        ),
    }
    for key, (name, mime, content, expected) in cases.items():
        files.content[key] = content
        # The platform announces 1 KB whatever the file: only the content is believed.
        answer = text_of(await officer.upload(FileRef(key, name, mime, 1024)))
        assert expected in answer, (key, answer)
    [summary] = await officer.press(choice(officer.transcript[-1], "Xong"))
    assert "nho.pdf, bien-ban.pdf, ke-hoach.docx, anh-4.jpg, so-do.jpg" in summary.text
    [receipt] = await officer.press(choice(summary, "Xác nhận"))
    assert "Đã ghi nhận" in receipt.text
    async with database.session() as session:
        rows = list(await session.scalars(select(Attachment).order_by(Attachment.id)))
        assert await session.scalar(select(Submission.id)) is not None
    assert [(r.file_name, r.size, r.mime_type) for r in rows] == [
        ("nho.pdf", 512, "application/pdf"),
        ("bien-ban.pdf", 1536, "application/pdf"),
        ("ke-hoach.docx", len(cases["docx"][2]), evidence.ALLOWED[".docx"]),
        ("anh-4.jpg", 64, "image/jpeg"),
        ("so-do.jpg", 64, "image/png"),  # a photo under the other photo suffix: its true kind
    ]
    # Only what was accepted is on disk, each under its checksum with its true extension.
    stored = sorted(p.name for p in _staged(data_dir))
    assert stored == sorted(Path(r.storage_path).name for r in rows)
    assert all((data_dir / r.storage_path).stat().st_size == r.size for r in rows)


async def test_a_slow_download_delays_no_one_else_and_locks_nothing(
    fake: FakeTelegram,
    bot: Bot,
    database: Database,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    await bot.start()
    officer = await register(fake, database, clock)
    colleague = await register(fake, database, clock, user_id=5002, agency="sct")
    await ask(fake, officer, lambda: officer.send_text("/baocao 1.b.1"), "tình trạng thực hiện")
    status = fake.sent_to(officer.id)[-1]
    await ask(
        fake,
        officer,
        lambda: officer.press(status["message_id"], button(status, "Hoàn thành")),
        "kết quả thực hiện",
    )
    await ask(fake, officer, lambda: officer.send_text("Đã hoàn thành."), "minh chứng")
    gate = fake.file_gate = asyncio.Event()
    content = b"%PDF-1.4\n" + b"0" * (200 * 1024)
    officer.upload(content, "bien-ban.pdf", "application/pdf")
    assert await fake.wait_until(lambda: bool(fake.files_begun))  # the download has begun
    # Meanwhile another user is answered, and a write transaction goes through.
    await ask(fake, colleague, lambda: colleague.send_text("/trogiup"), "Các lệnh")
    assert await invite(database, clock, "sct")
    assert not any("Đã nhận tệp" in m.get("text", "") for m in fake.sent_to(officer.id))
    # The rest of the file comes: it is received whole.
    await ask(fake, officer, gate.set, "Đã nhận tệp bien-ban.pdf (200 KB)")
    stored = list((tmp_path / "data" / "evidence").rglob("*.pdf"))
    assert [p.read_bytes() for p in stored] == [content]
