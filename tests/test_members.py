"""Members, names and invitations on a real database: look-ups as people type them, the
global limit on guessed codes, expiry, and what registration says."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from bot.channels.memory import MemoryChannel
from bot.cli import App, build_parser
from bot.cli.run import _console_member
from bot.config import Settings
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.domain.reorganisation import Refusal
from handlers.refusals import agency_refusal
from handlers.registration import GUESS_LIMIT
from handlers.router import Router
from storage import migrate
from storage.agencies import AgencyError, current_agency, find_agency
from storage.db import Database, create_engine
from storage.models import AuditEntry, InvitationFailure, Member, OutboxMessage
from storage.uow import UnitOfWork
from tests.helpers import invite


def said(replies: list[object]) -> str:
    return "\n".join(r.text for r in replies)  # type: ignore[attr-defined]


async def _register(
    router: Router,
    database: Database,
    clock: FrozenClock,
    name: str | None,
    agency: str = "sct",
    role: Role = Role.OFFICER,
    user: str | None = None,
) -> MemoryChannel:
    channel = MemoryChannel(router.handle, user_id=user or f"u-{name}", display_name=name)
    await channel.send(f"/start {await invite(database, clock, agency, role)}")
    return channel


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["Đặng Văn Đức", "ĐẶNG VĂN ĐỨC", "  đặng  văn đức ", "Ơn Thị Ăn"]
)
async def test_a_vietnamese_name_is_found_whatever_its_case(
    router: Router, database: Database, clock: FrozenClock, typed: str
) -> None:
    await _register(router, database, clock, "Đặng Văn Đức")
    await _register(router, database, clock, "ơn thị ăn")
    async with UnitOfWork(database) as uow:
        found = await uow.members.find(typed)
    assert len(found) == 1, typed
    async with UnitOfWork(database) as uow:
        assert await uow.members.find("Dang Van Duc") == []  # another name, not a spelling


async def test_members_inserted_in_bulk_get_their_name_key_too(
    database: Database, clock: FrozenClock
) -> None:
    async with database.session() as session:
        agency = await find_agency(session, "sct")
        rows = [
            {
                "full_name": name,
                "agency_id": agency.id,
                "role": "officer",
                "created_at": clock.now(),
            }
            for name in ("Đặng Văn Đức", "Ơn Thị Ăn")
        ]
        await session.execute(insert(Member), rows)
        await session.commit()
    async with UnitOfWork(database) as uow:
        assert [m.full_name for m in await uow.members.find("ƠN THỊ ĂN")] == ["Ơn Thị Ăn"]


async def test_console_as_a_vietnamese_name_acts_as_that_member(
    database_url: str,
    router: Router,
    database: Database,
    clock: FrozenClock,
) -> None:
    await _register(router, database, clock, "Đặng Văn Đức")
    app = App(Settings(database_url=database_url), clock)
    try:
        member = await _console_member(app, "ĐẶNG VĂN ĐỨC")
    finally:
        await app.close()
    assert member is not None and member.full_name == "Đặng Văn Đức"


async def test_console_as_a_code_already_used_continues_as_its_member(
    database_url: str,
    router: Router,
    database: Database,
    clock: FrozenClock,
) -> None:
    code = await invite(database, clock, "sct")
    await MemoryChannel(router.handle, user_id="c1", display_name="Lò Thị Mai").send(
        f"/start {code}"
    )
    app = App(Settings(database_url=database_url), clock)
    try:
        member = await _console_member(app, code.lower())
        assert await _console_member(app, "ABCDEFGH23") is None  # unknown: the bot will say so
    finally:
        await app.close()
    assert member is not None and member.full_name == "Lò Thị Mai"


async def test_the_migration_gives_existing_members_their_name_key(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}")
    try:
        await migrate.upgrade(engine, "0004_report_versions")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO agency (id, code, name, short_name, kind, status, created_at) "
                    "VALUES (1, 'sct', 'Sở Công Thương', 'Sở Công Thương', 'department', "
                    "'active', '2024-11-20 02:00:00')"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO member (id, full_name, agency_id, role, active, language, "
                    "created_at) VALUES (1, 'ĐẶNG  Văn Đức', 1, 'officer', 1, 'vi', "
                    "'2024-11-20 02:00:00')"
                )
            )
            await connection.execute(  # a row that refers to the member (foreign keys are on)
                text(
                    "INSERT INTO member_identity (member_id, channel, user_id, chat_id, "
                    "reachable, created_at) VALUES (1, 'telegram', '7', '7', 1, "
                    "'2024-11-20 02:00:00')"
                )
            )
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            key = (await connection.execute(text("SELECT name_key FROM member"))).scalar()
        assert key == "đặng văn đức"
        await migrate.downgrade(engine, "0004_report_versions")  # and back, with the rows kept
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT name_key FROM member"))).all()
        assert rows == [("đặng văn đức",)]
    finally:
        await engine.dispose()


# --- agencies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "on", "code"),
    [
        ("so xay dung", date(2024, 11, 20), "sxd"),
        ("SỞ XÂY DỰNG", date(2024, 11, 20), "sxd"),
        ("Tràng Định", date(2024, 11, 20), "h-trang-dinh"),
        ("trang dinh", date(2025, 6, 30), "h-trang-dinh"),
        ("trang dinh", date(2025, 7, 1), "x-trang-dinh"),  # the commune from 01/07/2025
        ("so giao thong van tai", date(2024, 11, 20), "sgtvt"),
        ("so giao thong van tai", date(2025, 3, 1), "sxd"),  # merged into it then
    ],
)
async def test_an_agency_is_found_as_people_type_it(
    database: Database, typed: str, on: date, code: str
) -> None:
    async with database.session() as session:
        agency = await current_agency(session, await find_agency(session, typed, on), on)
    assert agency.code == code


async def test_an_unclear_or_unknown_agency_gets_a_polite_answer_with_suggestions(
    database: Database,
) -> None:
    async with database.session() as session:
        with pytest.raises(AgencyError) as several:
            await find_agency(session, "UBND huyện")
        assert several.value.refusal is Refusal.AMBIGUOUS
        said = agency_refusal(several.value)
        assert "trùng với nhiều cơ quan" in said
        assert "UBND huyện Tràng Định" in said
        assert said.count("(h-") == 8  # eight named, then how many more
        assert re.search(r"; và \d+ cơ quan, đơn vị khác\. Đề nghị", said)
        with pytest.raises(AgencyError) as close:
            await find_agency(session, "So Xay Dungg")
        assert close.value.refusal is Refusal.UNKNOWN_NAME
        said = agency_refusal(close.value)
        assert "Có phải đồng chí muốn tìm" in said and "Sở Xây dựng (sxd)" in said


async def test_moi_and_invite_create_accept_an_agency_without_diacritics(
    database_url: str,
    router: Router,
    database: Database,
    clock: FrozenClock,
) -> None:
    coordinator = await _register(
        router, database, clock, "Hoàng Thu Hà", "stnmt", Role.COORDINATOR
    )
    for typed in ("/moi trang dinh lanhdao", "/moi Tràng Định lãnh đạo"):
        answer = said(await coordinator.send(typed))
        assert "lãnh đạo đơn vị của UBND huyện Tràng Định" in answer, answer
        assert "có hiệu lực đến" in answer and "27/11/2024" in answer  # 7 days, with the date
    answer = said(await coordinator.send("/moi Trang Dinhh"))
    assert "Có phải đồng chí muốn tìm: UBND huyện Tràng Định" in answer, answer
    answer = said(await coordinator.send("/moi lanhdao"))
    assert "Đề nghị đồng chí ghi rõ cơ quan" in answer, answer
    answer = said(await coordinator.send("/moi Sơ Xây dưng"))  # diacritics wrong: still found
    assert "cán bộ đầu mối của Sở Xây dựng" in answer, answer

    app = App(Settings(database_url=database_url), clock)
    try:
        args = build_parser().parse_args(
            ["invite", "create", "--agency", "so cong thuong", "--role", "canbo"]
        )
        assert await args.action(app, args) == 0
    finally:
        await app.close()
    async with database.session() as session:
        created = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "invitation.create", AuditEntry.channel == "cli")
        )
    assert created == 1


# --- invitations -------------------------------------------------------------------------------


async def test_codes_are_longer_and_expire_after_seven_days_by_default(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = await _register(
        router, database, clock, "Hoàng Thu Hà", "stnmt", Role.COORDINATOR
    )
    answer = said(await coordinator.send("/moi sct"))
    match = re.search(r"Mã mời ([A-Z0-9]+)", answer)
    assert match is not None and len(match[1]) == 10
    clock.advance(timedelta(days=7, minutes=1))
    late = MemoryChannel(router.handle, user_id="late", display_name="Vi Văn Tùng")
    assert "đã hết hạn" in said(await late.send(f"/start {match[1]}"))


async def test_guessing_codes_from_many_accounts_is_stopped_for_everyone_and_reported(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = await _register(
        router, database, clock, "Hoàng Thu Hà", "stnmt", Role.COORDINATOR
    )
    good = await invite(database, clock, "sct")
    for n in range(GUESS_LIMIT.failures):
        guesser = MemoryChannel(router.handle, user_id=f"g{n}")
        assert "không hợp lệ" in said(await guesser.send(f"/start ZZZZZZZZ{n:02d}"))
    newcomer = MemoryChannel(router.handle, user_id="honest", display_name="Vi Văn Tùng")
    refused = said(await newcomer.send(f"/start {good}"))
    assert "tạm ngừng nhận mã mời" in refused and "15 phút" in refused
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Member)) == 1  # unchanged
        alerts = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "alert"))
        )
        failures = await session.scalar(select(func.count()).select_from(InvitationFailure))
    assert [a.chat_id for a in alerts] == [coordinator.chat_id]  # once, to the coordinator
    assert "Cảnh báo an toàn" in alerts[0].payload["text"]
    assert failures == GUESS_LIMIT.failures  # refusals while paused are not counted
    clock.advance(GUESS_LIMIT.window + timedelta(seconds=1))
    assert "Đăng ký thành công" in said(await newcomer.send(f"/start {good}"))


# --- what registration says --------------------------------------------------------------------


async def test_registration_without_a_name_greets_without_a_made_up_name(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    channel = MemoryChannel(router.handle, user_id="anon")
    answer = said(await channel.send(f"/start {await invite(database, clock, 'sxd')}"))
    assert answer.startswith("Đăng ký thành công. Chào mừng đồng chí!")
    assert "Cán bộ Sở Xây dựng!" not in answer


async def test_start_again_says_who_the_member_is_instead_of_the_code(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    code = await invite(database, clock, "sxd")
    channel = MemoryChannel(router.handle, user_id="again", display_name="Nông Văn Dũng")
    await channel.send(f"/start {code}")
    for command in (f"/start {code}", "/start"):
        answer = said(await channel.send(command))
        assert "đã đăng ký rồi: Nông Văn Dũng, cán bộ đầu mối của Sở Xây dựng" in answer
        assert "đã được sử dụng" not in answer


async def test_help_names_every_role_with_its_command_word_and_commands(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    officer = await _register(router, database, clock, "Nông Văn Dũng")
    answer = said(await officer.send("/trogiup"))
    roles = [line for line in answer.splitlines() if line.startswith("• ")]
    assert [line.split(" —")[0] for line in roles] == [
        "• canbo",
        "• lanhdao",
        "• dieuphoi",
        "• quantri",
    ]
    assert "/tonghop" in roles[1] and "/tonghop" not in roles[0]
    assert "/moi" in roles[2] and "/moi" in roles[3]


# --- the console, as the administrator runs it ---------------------------------------------------


def test_console_asks_a_newcomer_for_the_name_and_knows_them_by_their_code_later(
    tmp_path: Path,
) -> None:
    from tests.test_cli import Pgibot

    pgibot = Pgibot(tmp_path)
    assert pgibot("init").returncode == 0
    created = pgibot("invite", "create", "--agency", "trang dinh", "--role", "lanhdao")
    code = re.search(r"Mã mời: ([A-Z0-9]+)", created.stdout)
    assert code is not None and len(code[1]) == 10, created.stdout + created.stderr
    assert "UBND xã Tràng Định" in created.stdout
    first = pgibot("console", "--as", code[1], stdin="Đặng Văn Đức\n/thoat\n")
    assert "Họ và tên của đồng chí" in first.stdout
    assert "Chào mừng đồng chí Đặng Văn Đức!" in first.stdout, first.stdout + first.stderr
    again = pgibot("console", "--as", code[1], stdin="/start\n/thoat\n")  # the quick start's way
    assert "đã đăng ký rồi: Đặng Văn Đức, lãnh đạo đơn vị của UBND xã Tràng Định" in again.stdout
    assert "đã sử dụng" not in again.stdout
    by_name = pgibot("console", "--as", "ĐẶNG VĂN ĐỨC", stdin="/nhiemvu\n/thoat\n")
    assert "Nhiệm vụ của UBND xã Tràng Định" in by_name.stdout, by_name.stdout
    plain = pgibot("console", "--as", "dang van duc", stdin="/nhiemvu\n/thoat\n")
    assert "Nhiệm vụ của UBND xã Tràng Định" in plain.stdout, plain.stdout + plain.stderr
    nobody = pgibot("console", "--as", "Nguyễn Văn Không Có", stdin="/thoat\n")
    assert nobody.returncode != 0
    assert "không phải là mã mời" in nobody.stderr, nobody.stdout + nobody.stderr
    assert "/start" not in nobody.stdout  # never sent to the bot as a code guess
    members = pgibot("member", "list")
    assert members.stdout.count("Đặng Văn Đức") == 1
    other = pgibot("invite", "create", "--agency", "trang dinh")
    second = re.search(r"Mã mời: ([A-Z0-9]+)", other.stdout)
    assert second is not None
    blank = pgibot("console", "--as", second[1], stdin="\n  \nHoàng Thị Én\n/thoat\n")
    assert blank.stdout.count("Họ và tên của đồng chí") == 3, blank.stdout
    assert "Chào mừng đồng chí Hoàng Thị Én!" in blank.stdout, blank.stdout + blank.stderr
    third = re.search(
        r"Mã mời: ([A-Z0-9]+)", pgibot("invite", "create", "--agency", "trang dinh").stdout
    )
    assert third is not None
    silent = pgibot("console", "--as", third[1], stdin="")
    assert silent.returncode != 0 and "Cần có họ và tên" in silent.stderr, silent.stderr
    assert pgibot("member", "list").stdout.count("UBND xã Tràng Định") == 2  # no one else
