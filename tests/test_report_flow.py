"""The /baocao conversation through the router, on real databases (no platform)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docx
import pytest
from sqlalchemy import select

from bot.channels.memory import MemoryChannel
from bot.channels.registry import describe
from bot.core.clock import FrozenClock
from bot.core.messages import FileRef, FileUnavailable, Incoming, Reply
from handlers.context import BotInfo
from handlers.exports.document import report_document
from handlers.router import Router
from storage.db import Database
from storage.models import Attachment, AuditEntry, Submission, Task
from storage.summary import SummaryRepository
from tests.helpers import dump, invite
from tests.test_conversations import text_of


class Files:
    """A file source serving bytes by file id, as a channel would download them."""

    def __init__(self) -> None:
        self.content: dict[str, bytes] = {}

    async def fetch(self, file: FileRef) -> bytes:
        if file.file_id not in self.content:
            raise FileUnavailable(f"no file {file.file_id}")
        return self.content[file.file_id]


@pytest.fixture
def files() -> Files:
    return Files()


@pytest.fixture
def report_router(database: Database, clock: FrozenClock, tmp_path: Path) -> Router:
    return Router(
        database,
        clock,
        BotInfo(describe(accounts={"telegram": "pgi_test_bot"}), tmp_path / "data"),
    )


async def officer_of(
    router: Router,
    database: Database,
    clock: FrozenClock,
    files: Files,
    agency: str = "sxd",
    user: str = "301",
) -> MemoryChannel:
    code = await invite(database, clock, agency)
    channel = MemoryChannel(router.handle, user_id=user, display_name="Trần Văn Nam")
    channel.files = files  # type: ignore[attr-defined]
    assert "Đăng ký thành công" in text_of(await channel.send(f"/start {code}"))
    return channel


def choice(reply: Reply, label: str) -> str:
    for c in reply.flat_choices:
        if c.label == label or c.label.startswith(label):
            return c.payload
    raise AssertionError(f"no choice {label!r} in {[c.label for c in reply.flat_choices]}")


async def not_started_summary(officer: MemoryChannel, task: str, results: str) -> Reply:
    """Report a task as not started, without evidence, up to the summary."""
    [status] = await officer.send(f"/baocao {task}")
    await officer.press(choice(status, "Chưa triển khai"))
    [ask_files] = await officer.send(results)
    [summary] = await officer.press(choice(ask_files, "Bỏ qua"))
    return summary


async def test_full_report_with_a_file_and_a_correction(
    report_router: Router,
    database: Database,
    clock: FrozenClock,
    files: Files,
    tmp_path: Path,
) -> None:
    officer = await officer_of(report_router, database, clock, files)
    [tasks] = await officer.send("/baocao")
    assert "Báo cáo năm 2024 của Sở Xây dựng" in tasks.text and "trang 1/2" in tasks.text
    [page2] = await officer.press(choice(tasks, "Sau"))
    assert page2.edit and "trang 2/2" in page2.text
    [status] = await officer.press(choice(tasks, "1.b.1"))
    assert status.edit and "tình trạng thực hiện nhiệm vụ" in status.text
    [progress] = await officer.press(choice(status, "Đang triển khai"))
    assert "phần trăm" in progress.text
    [results] = await officer.send("60")
    assert "kết quả thực hiện" in results.text and "3000" in results.text
    [ask_files] = await officer.send("Đã rà soát 12 công trình cấp nước, sửa chữa 3 công trình.")
    assert "minh chứng" in ask_files.text
    files.content["doc-1"] = b"%PDF-1.4 bao cao"
    answer = await officer.upload(FileRef("doc-1", "bao-cao-quy-3.pdf", "application/pdf", 16))
    assert "Đã nhận tệp bao-cao-quy-3.pdf" in answer[0].text
    [summary] = await officer.press(choice(answer[-1], "Xong"))
    assert "Tiến độ: 60%" in summary.text and "bao-cao-quy-3.pdf" in summary.text
    [receipt] = await officer.press(choice(summary, "Xác nhận"))
    assert receipt.text.startswith("Đã ghi nhận báo cáo số 2024/")
    assert "09:00, thứ Tư, 20/11/2024" in receipt.text
    async with database.session() as session:
        row = await session.scalar(select(Submission))
        assert row is not None
        assert (row.status, row.progress, row.version) == ("in_progress", 60, 1)
        stored = await session.scalar(select(Attachment))
        assert stored is not None and stored.file_name == "bao-cao-quy-3.pdf"
        assert (tmp_path / "data" / stored.storage_path).read_bytes() == b"%PDF-1.4 bao cao"
        assert stored.sha256 in stored.storage_path

    # A correction before the deadline: a new version, the first one kept.
    clock.advance(timedelta(days=1))
    answer = await officer.send("/baocao 1.b.1")
    assert "phiên bản 1" in answer[0].text
    [results] = await officer.press(choice(answer[-1], "Hoàn thành"))
    [ask_files] = await officer.send("Hoàn thành sửa chữa toàn bộ công trình.")
    [summary] = await officer.press(choice(ask_files, "Bỏ qua"))
    assert "Tiến độ: 100%" in summary.text and "Minh chứng: không có" in summary.text
    [receipt] = await officer.press(choice(summary, "Xác nhận"))
    assert "phiên bản 2" in receipt.text
    async with database.session() as session:
        versions = list(await session.scalars(select(Submission.version).order_by(Submission.id)))
    assert versions == [1, 2]
    history = text_of(await officer.send("/lichsu"))
    assert history.count("Nhiệm vụ 1.b.1") == 2 and "Hoàn thành, 100%" in history
    assert "1 tệp" in history
    tasks = text_of(await officer.send("/nhiemvu"))
    assert "1.b.1 Quản lý cấp nước sạch đô thị" in tasks and "— Hoàn thành, 100%" in tasks


async def test_blocked_status_asks_difficulties_and_proposals_and_edit(
    report_router: Router,
    database: Database,
    clock: FrozenClock,
    files: Files,
) -> None:
    officer = await officer_of(report_router, database, clock, files, "cat")
    [status] = await officer.send("/baocao 1.dd")
    [progress] = await officer.press(choice(status, "Gặp khó khăn"))
    [results] = await officer.press(choice(progress, "25%"))
    [difficulties] = await officer.send("Đã huy động lực lượng tại 2 điểm sạt lở.")
    assert "khó khăn, vướng mắc" in difficulties.text
    [proposals] = await officer.send("Thiếu phương tiện chuyên dụng.")
    assert "Kiến nghị, đề xuất" in proposals.text
    await officer.send("Đề nghị bổ sung 01 xe cứu hộ.")
    [summary] = await officer.send("bỏ qua")  # typed instead of pressed
    assert "Khó khăn, vướng mắc: Thiếu phương tiện chuyên dụng." in summary.text
    assert "Kiến nghị, đề xuất: Đề nghị bổ sung 01 xe cứu hộ." in summary.text
    [menu] = await officer.press(choice(summary, "Sửa"))
    [results] = await officer.press(choice(menu, "Kết quả"))
    assert "Nội dung hiện tại: Đã huy động lực lượng" in results.text
    [summary] = await officer.send("Đã huy động lực lượng tại 3 điểm sạt lở.")
    assert "3 điểm sạt lở" in summary.text and "Tiến độ: 25%" in summary.text
    [menu] = await officer.press(choice(summary, "Sửa"))
    [status] = await officer.press(choice(menu, "Trạng thái"))
    [summary] = await officer.press(choice(status, "Hoàn thành"))
    assert "Tiến độ: 100%" in summary.text and "Khó khăn" not in summary.text
    [receipt] = await officer.press(choice(summary, "Xác nhận"))
    assert "Đã ghi nhận" in receipt.text
    async with database.session() as session:
        row = await session.scalar(select(Submission))
        assert row is not None and (row.status, row.difficulties) == ("done", None)


async def test_bad_input_at_every_step_changes_nothing(
    report_router: Router,
    database: Database,
    clock: FrozenClock,
    files: Files,
) -> None:
    officer = await officer_of(report_router, database, clock, files)
    [tasks] = await officer.send("/baocao")
    before = await dump(database)
    # text where a button is expected: the question is asked again, state kept
    answer = await officer.send("nhiệm vụ 1")
    assert "chọn một trong các lựa chọn" in answer[0].text and answer[1].flat_choices
    [status] = await officer.press(choice(tasks, "1.b.1"))
    # a button from the earlier step
    assert "thuộc bước trước" in text_of(await officer.press(choice(tasks, "1.b.2")))
    await officer.press(choice(status, "Đang triển khai"))
    for wrong in ("150", "-5", "nhiều", "12.5"):
        answer = await officer.send(wrong)
        assert "số nguyên từ 0 đến 100" in answer[0].text, wrong
    [results] = await officer.send("75%")
    assert "kết quả thực hiện" in results.text
    answer = await officer.send("x" * 3001)
    assert "quá dài (3001 ký tự; tối đa 3000)" in text_of(answer)
    assert "không có nội dung" in text_of(await officer.send("   "))
    file = FileRef("f1", "anh.gif", "image/gif", 100)
    assert "không nhận tệp" in text_of(await officer.upload(file))  # not at the evidence step
    [ask_files] = await officer.send("Đã triển khai.")
    assert "chỉ nhận tệp pdf" in text_of(await officer.upload(file))
    big = FileRef("f2", "ho-so.pdf", "application/pdf", 21 * 1024 * 1024)
    assert "Tệp quá lớn (21 MB)" in text_of(await officer.upload(big))
    assert "hoặc bấm Bỏ qua nếu không có minh chứng" in text_of(await officer.send("xong rồi ạ"))
    assert await dump(database) == {
        **before,
        "conversation": (await dump(database))["conversation"],
    }
    # /huy cancels at any step; the old buttons are then stale
    assert "Đã hủy" in text_of(await officer.send("/huy"))
    assert "không còn hiệu lực" in text_of(await officer.press(choice(ask_files, "Bỏ qua")))
    async with database.session() as session:
        assert await session.scalar(select(Submission)) is None


async def test_forged_task_button_is_refused_and_audited(
    report_router: Router,
    database: Database,
    clock: FrozenClock,
    files: Files,
) -> None:
    officer = await officer_of(report_router, database, clock, files)
    [tasks] = await officer.send("/baocao")
    nonce = choice(tasks, "1.b.1").split(":")[1]
    async with database.session() as session:
        other = await session.scalar(select(Task.id).where(Task.code == "2.b.1"))
    answer = text_of(await officer.press(f"bc:{nonce}:tk:{other}"))
    assert "không được giao cho đơn vị" in answer
    async with database.session() as session:
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert actions[-1] == "choice.forged"


async def test_the_same_confirmation_twice_makes_one_submission(
    report_router: Router,
    database: Database,
    clock: FrozenClock,
    files: Files,
) -> None:
    officer = await officer_of(report_router, database, clock, files)
    summary = await not_started_summary(officer, "1.b.2", "Đang chuẩn bị hồ sơ.")
    press = Incoming("memory", "301", "301", update_id="u-1", payload=choice(summary, "Xác nhận"))
    first = await report_router.handle(press)
    again = await report_router.handle(replace(press))
    assert "Đã ghi nhận" in first[0].text
    assert again[0].text == first[0].text  # the redelivered update gets the same receipt
    async with database.session() as session:
        assert len(list(await session.scalars(select(Submission)))) == 1


async def test_correction_after_the_deadline_is_refused_but_late_first_reports_are_taken(
    report_router: Router,
    database: Database,
    clock: FrozenClock,
    files: Files,
) -> None:
    officer = await officer_of(report_router, database, clock, files)
    summary = await not_started_summary(officer, "1.b.3", "Chưa triển khai do chờ quy hoạch.")
    await officer.press(choice(summary, "Xác nhận"))
    clock.set(datetime(2024, 12, 11, 2, 0, tzinfo=UTC))
    refused = text_of(await officer.send("/baocao 1.b.3"))
    assert "không thể sửa được nữa" in refused and "thứ Ba, 10/12/2024" in refused
    late = await officer.send("/baocao 1.b.2")
    assert "tình trạng thực hiện nhiệm vụ" in late[-1].text


async def test_two_open_cycles_in_january(
    report_router: Router,
    database: Database,
    clock: FrozenClock,
    files: Files,
) -> None:
    officer = await officer_of(report_router, database, clock, files)
    clock.set(datetime(2025, 1, 6, 2, 0, tzinfo=UTC))
    [years] = await officer.send("/baocao")
    assert [c.label for c in years.flat_choices] == ["Năm 2024", "Năm 2025"]
    [tasks] = await officer.send("2")  # the second choice, typed
    assert "Báo cáo năm 2025" in tasks.text


async def test_group_chats_get_one_notice(report_router: Router) -> None:
    message = Incoming("telegram", "-100", "5", text="/baocao", is_private=False)
    first = await report_router.handle(message)
    assert "chỉ làm việc trong cuộc trò chuyện riêng" in first[0].text
    assert "https://t.me/pgi_test_bot" in first[0].text
    assert await report_router.handle(message) == []


async def test_control_characters_and_a_file_the_platform_withholds_change_nothing_bad(
    report_router: Router,
    database: Database,
    clock: FrozenClock,
    files: Files,
) -> None:
    officer = await officer_of(report_router, database, clock, files)
    [status] = await officer.send("/baocao 1.b.1")
    await officer.press(choice(status, "Hoàn thành"))
    await officer.send("Đã hoàn\x00thành\x07 đề án\ud800.")  # NUL, BEL, a lone surrogate
    before = await dump(database)
    answer = await officer.upload(FileRef("gone", "bien-ban.pdf", "application/pdf", 1000))
    assert "chưa tải được tệp" in text_of(answer) and "sự cố kỹ thuật" not in text_of(answer)
    assert await dump(database) == before  # nothing stored, nothing counted as a fault
    labels = [c.label for c in answer[-1].flat_choices]
    number = labels.index(next(label for label in labels if label.startswith("Bỏ qua"))) + 1
    summary = (await officer.send(str(number)))[-1]  # the numbered choices still stand
    [receipt] = await officer.press(choice(summary, "Xác nhận"))
    assert receipt.text.startswith("Đã ghi nhận báo cáo số")  # PostgreSQL takes it too
    async with database.session() as session:
        assert await session.scalar(select(Submission.results)) == "Đã hoànthành đề án."


async def test_a_colleagues_newer_report_is_shown_before_confirming_over_it(
    report_router: Router,
    database: Database,
    clock: FrozenClock,
    files: Files,
) -> None:
    first = await officer_of(report_router, database, clock, files)
    second = await officer_of(report_router, database, clock, files, user="302")
    theirs = await not_started_summary(first, "1.b.2", "Đang chuẩn bị hồ sơ.")
    mine = await not_started_summary(second, "1.b.2", "Đã khảo sát 5 công trình.")
    [receipt] = await first.press(choice(theirs, "Xác nhận"))
    assert "Đã ghi nhận" in receipt.text
    # The second officer's summary was drawn before the colleague's report: warned, not stored.
    warning, summary = await second.press(choice(mine, "Xác nhận"))
    assert "phiên bản 1" in warning.text and "Trần Văn Nam" in warning.text
    assert "Đang chuẩn bị hồ sơ." in warning.text  # the colleague's report, shown
    assert "chưa được ghi nhận" in warning.text
    assert "Đã khảo sát 5 công trình." in summary.text
    async with database.session() as session:
        assert len(list(await session.scalars(select(Submission)))) == 1
    # Confirmed again, knowingly: the next version, linked to the colleague's.
    [receipt] = await second.press(choice(summary, "Xác nhận"))
    assert "phiên bản 2" in receipt.text
    async with database.session() as session:
        rows = list(await session.scalars(select(Submission).order_by(Submission.version)))
    assert [r.version for r in rows] == [1, 2] and rows[1].supersedes_id == rows[0].id
    assert rows[1].results == "Đã khảo sát 5 công trình."


async def test_a_side_command_leaves_the_report_where_it_was_and_shows_the_step_again(
    report_router: Router,
    database: Database,
    clock: FrozenClock,
    files: Files,
) -> None:
    officer = await officer_of(report_router, database, clock, files)
    await officer.send("/baocao 1.b.1")
    answer = await officer.send("/nhiemvu")  # the task list, then the status question again
    assert "Nhiệm vụ của Sở Xây dựng" in answer[0].text
    assert "chọn tình trạng thực hiện nhiệm vụ" in answer[-1].text
    [results] = await officer.send("3")  # 3. Hoàn thành, not the third task of /nhiemvu
    assert "kết quả thực hiện" in results.text
    await officer.send("Đã hoàn thành sửa chữa 12 công trình cấp nước.")
    answer = await officer.send("/lichsu")
    assert "Sở Xây dựng" in answer[0].text and "/baocao" in answer[0].text
    assert "minh chứng" in answer[-1].text
    [summary] = await officer.send("1")  # 1. Bỏ qua
    assert "kiểm tra lại" in summary.text
    for side in ("/lichsu", "/trogiup", "/nhiemvu 1.b.1", "/lenhla"):
        answer = await officer.send(side)
        assert len(answer) >= 2 and "kiểm tra lại" in answer[-1].text, side
        assert answer[-1].flat_choices and not answer[-1].edit
    [receipt] = await officer.send("1")  # 1. Xác nhận
    assert receipt.text.startswith("Đã ghi nhận báo cáo số 2024/")


async def test_a_task_button_pressed_during_a_report_keeps_the_numbered_choices(
    report_router: Router,
    database: Database,
    clock: FrozenClock,
    files: Files,
) -> None:
    officer = await officer_of(report_router, database, clock, files)
    [tasks] = await officer.send("/nhiemvu")
    summary = await not_started_summary(officer, "1.b.2", "Đang chuẩn bị hồ sơ thiết kế.")
    answer = await officer.press(choice(tasks, "Xem 1.b.1"))
    assert "Nhiệm vụ 1.b.1" in answer[0].text and "kiểm tra lại" in answer[-1].text
    assert answer[-1].flat_choices == summary.flat_choices
    stale = text_of(await officer.press("bc:0000:ok:"))  # a button of no conversation
    assert "không còn hiệu lực" in stale
    [receipt] = await officer.send("1")  # 1. Xác nhận: the choices still stand
    assert receipt.text.startswith("Đã ghi nhận báo cáo số 2024/")


@pytest.mark.parametrize("empty", ["😀😀😀", "2", "5", "...", "!!", "12,5 %", "ok"])
async def test_content_free_answers_are_asked_again_politely(
    report_router: Router,
    database: Database,
    clock: FrozenClock,
    files: Files,
    empty: str,
) -> None:
    officer = await officer_of(report_router, database, clock, files, "cat")
    [status] = await officer.send("/baocao 1.dd")
    [progress] = await officer.press(choice(status, "Gặp khó khăn"))
    await officer.press(choice(progress, "25%"))
    for step in ("kết quả thực hiện", "khó khăn, vướng mắc", "Kiến nghị, đề xuất"):
        before = await dump(database)
        answer = await officer.send(empty)
        assert "Đề nghị đồng chí" in answer[0].text and "cụ thể" in answer[0].text, step
        assert step in answer[-1].text  # the same question again
        assert await dump(database) == before, step
        if step == "kết quả thực hiện":
            await officer.send("Đã huy động lực lượng tại 2 điểm sạt lở.")
        elif step == "khó khăn, vướng mắc":
            assert "Không có" in answer[0].text
            await officer.send("Không có")
    [ask_files] = await officer.send("không.")
    [summary] = await officer.press(choice(ask_files, "Bỏ qua"))
    assert "Khó khăn, vướng mắc: Không có" in summary.text
    assert "Kiến nghị, đề xuất: không." in summary.text
    assert ": Đã huy động lực lượng tại 2 điểm sạt lở.\nKhó khăn" in summary.text


async def test_the_evidence_step_names_only_the_button_it_offers(
    report_router: Router,
    database: Database,
    clock: FrozenClock,
    files: Files,
) -> None:
    officer = await officer_of(report_router, database, clock, files)
    [status] = await officer.send("/baocao 1.b.1")
    assert "Đề nghị đồng chí chọn tình trạng thực hiện nhiệm vụ" in status.text
    await officer.press(choice(status, "Hoàn thành"))
    [ask_files] = await officer.send("Đã hoàn thành sửa chữa 12 công trình.")
    assert [c.label for c in ask_files.flat_choices] == ["Bỏ qua"]
    assert "Xong" not in ask_files.text
    answer = text_of(await officer.send("chưa có tệp"))
    assert "Bỏ qua" in answer and "Xong" not in answer
    files.content["doc-1"] = b"%PDF-1.4 bien ban"
    answer = await officer.upload(FileRef("doc-1", "bien-ban.pdf", "application/pdf", 17))
    assert [c.label for c in answer[-1].flat_choices] == ["Xong"]
    assert "Bỏ qua" not in answer[-1].text
    answer = await officer.send("hết rồi")
    assert "Xong" in text_of(answer) and "Bỏ qua" not in text_of(answer)


async def test_history_is_in_order_and_a_past_year_shows_no_current_deadline(
    report_router: Router,
    database: Database,
    clock: FrozenClock,
    files: Files,
) -> None:
    officer = await officer_of(report_router, database, clock, files)
    summary = await not_started_summary(officer, "1.b.2", "Đang chuẩn bị hồ sơ thiết kế.")
    await officer.press(choice(summary, "Xác nhận"))
    history = text_of(await officer.send("/lichsu"))
    assert "(theo thứ tự mới nhất)" in history and "mới nhất trước" not in history
    for day in (datetime(2025, 1, 6, 2, 0, tzinfo=UTC), datetime(2026, 12, 6, 2, 0, tzinfo=UTC)):
        clock.set(day)
        for command in ("/nhiemvu", "/lichsu", "/baocao", "/huy"):
            answer = text_of(await officer.send(command))
            assert "hiện tại" not in answer and "quá hạn" not in answer, (day, command)


async def test_a_report_typed_with_characters_xml_forbids_still_makes_the_draft_report(
    report_router: Router,
    database: Database,
    clock: FrozenClock,
    files: Files,
) -> None:
    code = await invite(database, clock, "cat")
    officer = MemoryChannel(report_router.handle, user_id="302", display_name="Lê\ufffe Văn Hùng")
    assert "Đăng ký thành công" in text_of(await officer.send(f"/start {code}"))
    [status] = await officer.send("/baocao 1.dd")
    [progress] = await officer.press(choice(status, "Gặp khó khăn"))
    await officer.press(choice(progress, "25%"))
    await officer.send("Đã huy động\ufffe lực lượng tại 2 điểm\uffff sạt lở.")
    await officer.send("Thiếu\x0b phương tiện\x1f chuyên dụng.")
    [ask_files] = await officer.send("Đề nghị bổ sung\ufffe 01 xe cứu hộ.")
    [summary] = await officer.press(choice(ask_files, "Bỏ qua"))
    [receipt] = await officer.press(choice(summary, "Xác nhận"))
    assert receipt.text.startswith("Đã ghi nhận báo cáo số 2024/")
    async with database.session() as session:
        plan = await SummaryRepository(session).summary(2024, clock.now().date())
    assert plan is not None
    document = docx.Document(io.BytesIO(report_document(plan)))
    text = "\n".join(
        [p.text for p in document.paragraphs]
        + [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    )
    assert "Đã huy động lực lượng tại 2 điểm sạt lở." in text
    assert "Thiếu phương tiện chuyên dụng." in text
    assert "Đề nghị bổ sung 01 xe cứu hộ." in text
