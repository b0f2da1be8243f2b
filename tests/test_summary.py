"""/tonghop, /chuabaocao, the files and the coordinator commands, against the database."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
from datetime import date
from pathlib import Path

import filetype
import pytest
from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from bot.channels.memory import MemoryChannel
from bot.cli import build_parser
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.messages import Reply
from bot.core.text import sort_key
from handlers.exports.registry import EXPORTS, ExportScope, export
from handlers.exports.standing import counts_line, standing_of
from handlers.router import Router
from storage.db import Database
from storage.models import Agency, AgencyName, AuditEntry, OutboxMessage, Submission, Task
from storage.summary import SummaryRepository
from storage.synthetic import generate
from storage.uow import UnitOfWork
from tests.helpers import invite
from tests.test_conversations import text_of


async def member(
    router: Router,
    database: Database,
    clock: FrozenClock,
    agency: str,
    role: Role,
    user: str,
    name: str,
) -> MemoryChannel:
    channel = MemoryChannel(router.handle, user_id=user, display_name=name)
    code = await invite(database, clock, agency, role)
    assert "Đăng ký thành công" in text_of(await channel.send(f"/start {code}"))
    return channel


@pytest.fixture
async def year_data(database: Database) -> int:
    async with database.session() as session:
        added = await generate(session, year=2024, submissions=600, seed=7)
        await session.commit()
    return added


def choice(reply: Reply, label: str) -> str:
    return next(c.payload for c in reply.flat_choices if c.label.startswith(label))


async def test_tonghop_shows_the_whole_plan(
    router: Router,
    database: Database,
    clock: FrozenClock,
    year_data: int,
) -> None:
    coordinator = await member(
        router, database, clock, "stnmt", Role.COORDINATOR, "1", "Điều Phối"
    )
    [overview] = await coordinator.send("/tonghop")
    text = overview.text
    assert text.startswith("TỔNG HỢP")
    assert "2024" in text and "600 báo cáo" in text
    for name in (
        "Giảm thiểu ô nhiễm và thiên tai",
        "Đảm bảo tuân thủ",
        "Thúc đẩy thực hành xanh",
        "Chính sách khuyến khích và dịch vụ hỗ trợ",
    ):
        assert name in text
    assert "4,84" in text and "6,58" in text
    assert "thứ Ba, 10/12/2024" in text
    async with UnitOfWork(database) as uow:
        summary = await uow.summaries.summary(2024, clock.now().date())
    assert summary is not None
    first = summary.indices[0]
    standing = standing_of(summary)
    assert f"🔴 Chỉ số 1. {first.name}" in text or f"🟡 Chỉ số 1. {first.name}" in text
    assert counts_line(standing, first.tasks) in text  # the four states and the blocked
    assert f"Gặp khó khăn: {standing.blocked_count(first.tasks)}" in text
    assert "🟢 hoàn thành đúng hạn hoặc chưa đến hạn" in text  # the rule of the colours
    # the blocked reports, with their difficulties
    for task, report in summary.blocked[:3]:
        assert f"{task.code} — {report.agency_name}" in text
    labels = [c.label for c in overview.flat_choices]
    assert labels[:4] == ["Chỉ số 1", "Chỉ số 2", "Chỉ số 3", "Chỉ số 4"]
    [index] = await coordinator.press(choice(overview, "Chỉ số 2"))
    assert "Đảm bảo tuân thủ" in index.text and "2.b.2" in index.text
    [agencies] = await coordinator.press(choice(overview, "Theo cơ quan"))
    [detail] = await coordinator.press(agencies.flat_choices[0].payload)
    assert summary.agencies[0].name in detail.text


async def test_the_files_match_the_database(
    router: Router,
    database: Database,
    clock: FrozenClock,
    year_data: int,
) -> None:
    coordinator = await member(
        router, database, clock, "stnmt", Role.COORDINATOR, "1", "Điều Phối"
    )
    [overview] = await coordinator.send("/tonghop 2024")
    async with database.session() as session:
        # the names of 2024 (Ban Dân tộc tỉnh was renamed on 01/03/2025)
        former = dict(
            (
                await session.execute(
                    select(AgencyName.agency_id, AgencyName.name).where(
                        AgencyName.used_until > date(2024, 12, 10)
                    )
                )
            ).all()
        )
        agencies = {
            former.get(agency_id, name)
            for agency_id, name in await session.execute(
                select(Agency.id, Agency.name).where(Agency.id.in_(select(Submission.agency_id)))
            )
        }
        submissions = await session.scalar(select(func.count()).select_from(Submission))
        codes = set(await session.scalars(select(Task.code).where(Task.active.is_(True))))
        a_result = await session.scalar(select(Submission.results).limit(1))

    [xlsx] = await coordinator.press(choice(overview, "Bảng tính"))
    assert xlsx.files[0].file_name == "tong-hop-pgi-2024.xlsx"
    workbook = load_workbook(io.BytesIO(xlsx.files[0].content), read_only=True)
    sheets = workbook.sheetnames
    assert len(sheets) == 6  # and the PGI risk and the deadlines after the submissions
    rows = list(workbook[sheets[3]].iter_rows(values_only=True))
    assert len(rows) == submissions + 1
    assert {r[5] for r in rows[1:]} == agencies
    assert a_result in {r[9] for r in rows[1:]}
    async with database.session() as session:
        texts = list(
            await session.execute(
                select(Submission.results, Submission.difficulties).order_by(Submission.id)
            )
        )
    # every submission's text where it belongs, in order: results, then difficulties
    assert [(r[9], r[10]) for r in rows[1:]] == [(a, b) for a, b in texts]
    task_rows = list(workbook[sheets[1]].iter_rows(values_only=True))
    assert {r[1] for r in task_rows[1:]} == codes

    [docx] = await coordinator.press(choice(overview, "Dự thảo báo cáo"))
    document = Document(io.BytesIO(docx.files[0].content))
    body = "\n".join(p.text for p in document.paragraphs)
    assert "BÁO CÁO" in body and "(PGI) năm 2024" in body
    assert a_result in body
    appendix = document.tables[-1]
    assert len(appendix.rows) == len(codes) + 1

    [png] = await coordinator.press(choice(overview, "Biểu đồ"))
    content = png.files[0].content
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    assert height > width >= 1000


async def test_chuabaocao_lists_agencies_and_their_officers(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = await member(
        router, database, clock, "stnmt", Role.COORDINATOR, "1", "Điều Phối"
    )
    await member(router, database, clock, "sct", Role.OFFICER, "2", "Trần Công Thương")
    text = text_of(await coordinator.send("/chuabaocao"))
    assert "Sở Công Thương" in text and "Trần Công Thương" in text
    assert "UBND huyện Đình Lập" in text
    # Vietnamese alphabetical order: Đ after D, before V (code points put it after V)
    listed = [line[2:].split(":")[0] for line in text.splitlines() if line.startswith("• ")]
    assert listed == sorted(listed, key=sort_key)
    assert listed.index("Đài Khí tượng Thủy văn tỉnh") < listed.index("Văn phòng UBND tỉnh")
    assert listed.index("Báo Lạng Sơn") < listed.index("Bộ Chỉ huy Quân sự tỉnh")


async def test_leaders_see_their_agency_and_officers_are_refused(
    router: Router,
    database: Database,
    clock: FrozenClock,
    year_data: int,
) -> None:
    leader = await member(router, database, clock, "sxd", Role.LEADER, "3", "Lãnh Đạo Xây Dựng")
    officer = await member(router, database, clock, "sxd", Role.OFFICER, "4", "Cán Bộ Xây Dựng")
    [view] = await leader.send("/tonghop")
    assert view.text.split(" ", 1)[1].startswith("Sở Xây dựng — năm 2024")  # after its colour
    assert "1.b.1" in view.text and "2.b.1" not in view.text
    assert "Cán Bộ Xây Dựng" in view.text
    async with database.session() as session:
        other = await session.scalar(select(Agency.id).where(Agency.code == "sct"))
    nonce_free = choice(view, "Bảng tính").replace(":f:xlsx", f":ad:{other}")
    assert "không dành cho vai trò" in text_of(await leader.press(nonce_free))
    [xlsx] = await leader.press(choice(view, "Bảng tính"))
    # the agency's workbook is named for the agency: it never overwrites the whole plan's
    assert xlsx.files[0].file_name == "tong-hop-pgi-2024-sxd.xlsx"
    workbook = load_workbook(io.BytesIO(xlsx.files[0].content), read_only=True)
    rows = list(workbook[workbook.sheetnames[3]].iter_rows(values_only=True))
    assert {r[5] for r in rows[1:]} == {"Sở Xây dựng"}
    for command in ("/tonghop", "/chuabaocao", "/moi sxd", "/thongbao Xin chào", "/thanhvien"):
        assert "không dành cho vai trò" in text_of(await officer.send(command)), command
    assert "không dành cho vai trò" in text_of(await officer.press(choice(view, "Bảng tính")))
    async with database.session() as session:
        refusals = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "permission.refused")
        )
    assert refusals == 7


def media_type_of(content: bytes) -> str:
    """Tell a file's media type from its content (UTF-8 text when it has no magic number)."""
    kind = filetype.guess(content)
    if kind is not None:
        return str(kind.mime)
    content.decode("utf-8")
    return "text/plain"


async def test_every_export_is_offered_to_the_roles_that_may_have_it(
    router: Router,
    database: Database,
    clock: FrozenClock,
    year_data: int,
) -> None:
    # today's rules: the coordinators have every file, a leader the own agency's workbook
    assert list(EXPORTS) == ["xlsx", "docx", "png", "txt"]
    assert [key for key, entry in EXPORTS.items() if entry.allowed(Role.LEADER)] == ["xlsx"]
    assert all(e.allowed(Role.COORDINATOR) and e.allowed(Role.ADMIN) for e in EXPORTS.values())
    assert not any(entry.allowed(Role.OFFICER) for entry in EXPORTS.values())
    people = [
        (Role.COORDINATOR, "stnmt", ""),
        (Role.ADMIN, "stnmt", ""),
        (Role.LEADER, "sxd", "-sxd"),
        (Role.OFFICER, "sxd", ""),
    ]
    for user, (role, agency, part) in enumerate(people, start=1):
        channel = await member(router, database, clock, agency, role, str(user), f"Người {user}")
        [view] = await channel.send("/tonghop 2024")
        buttons = [c.payload for c in view.flat_choices if ":f:" in c.payload]
        assert buttons == [
            f"th:2024:f:{key}"
            for key, entry in EXPORTS.items()
            if entry.label is not None and entry.allowed(role)
        ], role
        for key, entry in EXPORTS.items():
            [answer] = await channel.press(f"th:2024:f:{key}")
            if not entry.allowed(role):
                assert "không dành cho vai trò" in answer.text and not answer.files, (role, key)
                continue
            [file] = answer.files
            assert file.file_name == f"{entry.stem}-2024{part}.{key}"
            assert file.mime_type == entry.media_type == media_type_of(file.content)
            assert file.file_name in answer.text
    # the command line offers every format
    for key in EXPORTS:
        assert build_parser().parse_args(["report", "--format", key]).format == key


async def test_the_file_names_stay_as_they_are(
    database: Database, clock: FrozenClock, year_data: int
) -> None:
    today = clock.now().date()
    async with database.session() as session:
        repository = SummaryRepository(session)
        sxd = await session.scalar(select(Agency.id).where(Agency.code == "sxd"))
        names = {}
        for scope in (ExportScope(2024), ExportScope(2024, sxd)):
            summary = await repository.summary(scope.year, today, scope.agency_id)
            assert summary is not None
            for key, entry in EXPORTS.items():
                names[key, scope.agency_id is None] = entry.file_name(summary, scope)
        assert await export(repository, "txt", ExportScope(1999), today) is None
    assert names == {
        ("xlsx", True): "tong-hop-pgi-2024.xlsx",
        ("xlsx", False): "tong-hop-pgi-2024-sxd.xlsx",
        ("docx", True): "bao-cao-pgi-2024.docx",
        ("docx", False): "bao-cao-pgi-2024-sxd.docx",
        ("png", True): "bieu-do-pgi-2024.png",
        ("png", False): "bieu-do-pgi-2024-sxd.png",
        ("txt", True): "tong-hop-pgi-2024.txt",
        ("txt", False): "tong-hop-pgi-2024-sxd.txt",
    }


async def test_moi_thanhvien_and_thongbao(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = await member(
        router, database, clock, "stnmt", Role.COORDINATOR, "1", "Điều Phối"
    )
    answer = text_of(await coordinator.send("/moi Sở Y tế lanhdao"))
    assert "dành cho lãnh đạo đơn vị của Sở Y tế" in answer
    code = answer.split("Mã mời ")[1].split()[0]
    assert f"/start {code}" in answer
    newcomer = MemoryChannel(router.handle, user_id="5", display_name="Y Tế")
    assert "lãnh đạo đơn vị của Sở Y tế" in text_of(await newcomer.send(f"/start {code}"))
    refused = text_of(await coordinator.send("/moi sxd dieuphoi"))
    assert "Chỉ những cán bộ của Sở Tài nguyên và Môi trường" in refused
    assert "Đề nghị đồng chí ghi rõ cơ quan" in text_of(await coordinator.send("/moi"))

    [listing] = await coordinator.send("/thanhvien")
    assert "Y Tế — Sở Y tế (lãnh đạo đơn vị, đang hoạt động)" in listing.text
    [removed] = await coordinator.press(choice(listing, "Vô hiệu hóa Y Tế"))
    assert "đã bị vô hiệu hóa và không thể sử dụng bot" in removed.text
    assert "vô hiệu hóa" in text_of(await newcomer.send("/nhiemvu"))
    [listing] = await coordinator.send("/thanhvien syt")
    await coordinator.press(choice(listing, "Kích hoạt lại Y Tế"))
    assert "Nhiệm vụ của Sở Y tế" in text_of(await newcomer.send("/nhiemvu"))

    sent = text_of(await coordinator.send("/thongbao #syt Họp trực tuyến lúc 14 giờ."))
    assert "gửi tới 1 cán bộ của Sở Y tế" in sent
    async with database.session() as session:
        rows = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "notice"))
        )
    assert len(rows) == 1 and rows[0].chat_id == "5"
    assert rows[0].payload["text"].startswith("Thông báo của Sở Tài nguyên và Môi trường:")
    assert "Đề nghị đồng chí viết nội dung" in text_of(await coordinator.send("/thongbao"))
    everyone = text_of(await coordinator.send("/thongbao Đề nghị các đơn vị báo cáo đúng hạn."))
    assert "gửi tới 1 cán bộ." in everyone  # the newcomer; never the sender


async def test_a_supporting_agencys_report_is_consolidated(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    """Sở Xây dựng supports 1.a.2 (Sở Tài nguyên và Môi trường leads it) and reports on it."""
    coordinator = await member(
        router, database, clock, "stnmt", Role.COORDINATOR, "1", "Điều Phối"
    )
    officer = await member(router, database, clock, "sxd", Role.OFFICER, "2", "Trần Văn Nam")
    leader = await member(router, database, clock, "sxd", Role.LEADER, "3", "Lãnh Đạo Xây Dựng")
    [status] = await officer.send("/baocao 1.a.2")
    [progress] = await officer.press(choice(status, "Gặp khó khăn"))
    await officer.press(choice(progress, "25%"))
    await officer.send("Đã rà soát quy hoạch xây dựng của 3 huyện.")
    await officer.send("Chưa có số liệu quy hoạch sử dụng đất cập nhật.")
    await officer.send("Đề nghị Sở Tài nguyên và Môi trường cung cấp số liệu.")
    [summary] = await officer.send("bỏ qua")
    [receipt] = await officer.press(choice(summary, "Xác nhận"))
    assert "Đã ghi nhận" in receipt.text

    [overview] = await coordinator.send("/tonghop")
    # the task still waits for its lead agency, and the supporting agency's difficulties show
    assert "1.a.2 — Sở Xây dựng (phối hợp): Chưa có số liệu" in overview.text
    [index] = await coordinator.press(choice(overview, "Chỉ số 1"))
    line = next(x for x in index.text.splitlines() if x[4:].startswith("1.a.2"))  # • 🟢
    assert "Chưa báo cáo" in line and "phối hợp: 1" in line
    pending = text_of(await coordinator.send("/chuabaocao"))
    assert "Sở Tài nguyên và Môi trường" in pending  # the lead still owes 1.a.2

    [docx] = await coordinator.press(choice(overview, "Dự thảo báo cáo"))
    document = Document(io.BytesIO(docx.files[0].content))
    body = "\n".join(p.text for p in document.paragraphs)
    assert "Sở Xây dựng (phối hợp" in body
    assert "Đã rà soát quy hoạch xây dựng của 3 huyện." in body
    assert "Chưa có số liệu quy hoạch sử dụng đất cập nhật." in body
    no_report = next(p for p in body.splitlines() if p.startswith("Chưa có báo cáo:"))
    assert "1.a.2" not in no_report

    [xlsx] = await coordinator.press(choice(overview, "Bảng tính"))
    workbook = load_workbook(io.BytesIO(xlsx.files[0].content))
    by_index = workbook.worksheets[1]
    header = [c.value for c in by_index[1]]
    task_row = next(r for r in by_index.iter_rows(min_row=2, values_only=True) if r[1] == "1.a.2")
    row = dict(zip(header, task_row, strict=True))
    assert row["Tình trạng"] == "Chưa báo cáo"
    assert row["Cơ quan phối hợp"] == "Sở Xây dựng"
    assert row["Số cơ quan phối hợp đã báo cáo"] == 1
    submissions = workbook.worksheets[3]
    header = [c.value for c in submissions[1]]
    [line_] = [
        dict(zip(header, r, strict=True))
        for r in submissions.iter_rows(min_row=2, values_only=True)
    ]
    assert (line_["Cơ quan, đơn vị"], line_["Vai trò"]) == ("Sở Xây dựng", "Phối hợp")

    [text_file] = await coordinator.press(
        choice(overview, "Bảng tính").replace(":f:xlsx", ":f:txt")
    )
    text = text_file.files[0].content.decode()
    assert "Sở Xây dựng (phối hợp)" in text

    # the supporting agency's leader sees the task and the report in the agency's view
    [view] = await leader.send("/tonghop")
    assert "1.a.2" in view.text and "phối hợp" in view.text
    assert "Đã rà soát quy hoạch xây dựng của 3 huyện." in view.text


# --- the draft as a coordinator opens it (rendered by LibreOffice) ---------------------------


def _soffice() -> str | None:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None and os.environ.get("CI") == "true":
        pytest.fail("LibreOffice (soffice) is missing in CI: .ci/run installs it")
    return found


async def _to_pdf(soffice: str, document: bytes, folder: Path) -> PdfReader:
    source = folder / "bao-cao.docx"
    source.write_bytes(document)
    process = await asyncio.create_subprocess_exec(
        soffice,
        f"-env:UserInstallation=file://{folder / 'profile'}",
        "--headless",
        "--norestore",
        "--convert-to",
        "pdf",
        "--outdir",
        str(folder),
        str(source),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _unused = await process.communicate()
    assert process.returncode == 0, output.decode(errors="replace")
    return PdfReader(folder / "bao-cao.pdf")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # one conversion is enough
async def test_the_draft_renders_as_decree_30_asks(
    database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    soffice = _soffice()
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    async with database.session() as session:
        await generate(session, year=2024, submissions=4, seed=3)
        await session.commit()
    async with database.session() as session:
        draft = await export(
            SummaryRepository(session), "docx", ExportScope(2024), clock.now().date()
        )
        assert draft is not None

    pdf = await _to_pdf(soffice, draft.content, tmp_path)

    first = pdf.pages[0]
    assert float(first.mediabox.width) < float(first.mediabox.height)  # A4 portrait
    lines = [" ".join(line.split()) for line in first.extract_text().splitlines()]
    # the national motto and the issuing body each on one line (no wrap inside them)
    assert any("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in line for line in lines), lines[:8]
    assert any("Độc lập - Tự do - Hạnh phúc" in line for line in lines), lines[:8]
    assert any("SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG" in line for line in lines), lines[:8]
    assert any("UBND TỈNH LẠNG SƠN" in line for line in lines), lines[:8]
    # a draft with a few reports is a few pages: the body, then a landscape appendix
    pages = [" ".join(page.extract_text().split()) for page in pdf.pages]
    assert len(pages) <= 8, len(pages)
    appendix = next(n for n, text in enumerate(pages) if "PHỤ LỤC" in text)
    body, annex = pdf.pages[:appendix], pdf.pages[appendix:]
    assert all(float(p.mediabox.width) < float(p.mediabox.height) for p in body)
    assert all(float(p.mediabox.width) > float(p.mediabox.height) for p in annex)
    assert "STT" in pages[appendix] and "UBND các huyện, thành phố (11)" in " ".join(
        pages[appendix:]
    )
    # the signature block sits with the end of the body, with room for the signature
    signed = next(n for n, text in enumerate(pages) if "Nơi nhận" in text)
    assert signed == appendix - 1
    assert "Trên đây là báo cáo" in pages[signed]
    signature = [" ".join(line.split()) for line in pdf.pages[signed].extract_text().splitlines()]
    title = next(n for n, line in enumerate(signature) if "PHÓ GIÁM ĐỐC" in line)
    name = next(n for n, line in enumerate(signature) if "(Ký, ghi rõ họ tên)" in line)
    assert name > title
