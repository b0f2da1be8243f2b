"""The pgibot command, run as a real process: init, plan, agencies, invitations, console, run."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from docx import Document

from handlers.exports.registry import EXPORTS
from storage import migrate
from tests.fakes.telegram_api import FakeTelegram
from tests.test_summary import media_type_of

ROOT = Path(__file__).resolve().parents[1]


class Pgibot:
    """Run `pgibot` in a clean folder with its own SQLite database."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TELEGRAM_", "ZALO_", "PGIBOT_", "DATABASE_URL"))
        }
        self.env["PGIBOT_DATA_DIR"] = str(folder / "data")

    def __call__(
        self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=self.folder,
            env={**self.env, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture(scope="module")
def pgibot(tmp_path_factory: pytest.TempPathFactory) -> Pgibot:
    tool = Pgibot(tmp_path_factory.mktemp("cli"))
    result = tool("init")
    assert result.returncode == 0, result.stderr
    assert "Đã nhập Kế hoạch pgi-lang-son" in result.stdout
    return tool


def test_init_twice_changes_nothing(pgibot: Pgibot) -> None:
    result = pgibot("init")
    assert result.returncode == 0
    assert "không có thay đổi" in result.stdout
    assert (pgibot.folder / "data" / "pgibot.sqlite3").exists()


def test_plan_show_text_and_json(pgibot: Pgibot) -> None:
    """Today's plan: Lạng Sơn after the 2025 reorganisation (the command runs in real time)."""
    text = pgibot("plan", "show")
    assert text.returncode == 0
    assert "Chỉ số 1. Giảm thiểu ô nhiễm và thiên tai — năm 2023: 4,84" in text.stdout
    assert "(23 nhiệm vụ)" in text.stdout
    data = json.loads(pgibot("plan", "show", "--json").stdout)
    assert [len(index["tasks"]) for index in data["indices"]] == [23, 10, 14, 7]
    first = data["indices"][0]["tasks"][0]
    assert first["code"] == "1.a.1" and first["leads"] == ["snnmt"]
    assert data["coordinator"] == "snnmt"
    agencies = {a["code"]: a for a in data["agencies"]}
    assert agencies["snnmt"]["name"] == "Sở Nông nghiệp và Môi trường"
    assert agencies["snnmt"]["valid_from"] == "2025-03-01"
    assert (agencies["stnmt"]["valid_to"], agencies["stnmt"]["successor_code"]) == (
        "2025-03-01",
        "snnmt",
    )
    districts = [a for a in data["agencies"] if a["kind"] == "district"]
    assert len(districts) == 11 and {a["valid_to"] for a in districts} == {"2025-07-01"}
    communes = [a for a in data["agencies"] if a["kind"] == "commune"]
    assert len(communes) == 65 and {a["valid_from"] for a in communes} == {"2025-07-01"}
    assert agencies["x-that-khe"]["name"] == "UBND xã Thất Khê"
    assert agencies["p-tam-thanh"]["name"] == "UBND phường Tam Thanh"
    k1 = next(t for t in data["indices"][0]["tasks"] if t["code"] == "1.k.1")
    assert len(k1["leads"]) == 65 and "x-that-khe" in k1["leads"]
    assert [m["due_date"] for m in data["milestones"]][:3] == [
        "2024-07-20",
        "2024-12-10",
        "2024-12-20",
    ]


def test_the_report_of_each_year_names_its_own_agencies(pgibot: Pgibot) -> None:
    for year in ("2024", "2026"):
        out = pgibot.folder / f"nam-{year}.txt"
        result = pgibot("report", "--format", "txt", "--cycle", year, "--out", str(out))
        assert result.returncode == 0, result.stderr
    y2024 = (pgibot.folder / "nam-2024.txt").read_text(encoding="utf-8")
    y2026 = (pgibot.folder / "nam-2026.txt").read_text(encoding="utf-8")
    districts = ["UBND thành phố Lạng Sơn"] + [
        f"UBND huyện {name}"
        for name in (
            "Tràng Định",
            "Văn Lãng",
            "Văn Quan",
            "Bình Gia",
            "Bắc Sơn",
            "Hữu Lũng",
            "Chi Lăng",
            "Cao Lộc",
            "Lộc Bình",
            "Đình Lập",
        )
    ]
    for district in districts:  # the 11 district committees of 2024, none in 2026
        assert district in y2024 and district not in y2026
    assert "Sở Tài nguyên và Môi trường" in y2024 and "UBND xã" not in y2024
    assert "UBND xã Thất Khê" in y2026 and "UBND phường Tam Thanh" in y2026
    assert "Sở Nông nghiệp và Môi trường" in y2026 and "Sở Tài nguyên" not in y2026
    docx = pgibot.folder / "bao-cao-2026.docx"
    result = pgibot("report", "--format", "docx", "--cycle", "2026", "--out", str(docx))
    assert result.returncode == 0, result.stderr
    document = Document(str(docx))
    body = "\n".join(p.text for p in document.paragraphs)
    header = "\n".join(cell.text for row in document.tables[0].rows for cell in row.cells)
    assert "SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG" in header and "/BC-SNNMT" in header + body


def test_agency_list_and_reorganisation(pgibot: Pgibot) -> None:
    listing = pgibot("agency", "list")
    assert re.search(r"stnmt\s+Sở Tài nguyên và Môi trường", listing.stdout)
    entries = {block.split()[0]: block for block in re.split(r"\n(?=\S)", listing.stdout.strip())}
    assert "đã sáp nhập vào snnmt (Sở Nông nghiệp và Môi trường)" in entries["stnmt"]
    assert "hoạt động đến hết 28/02/2025" in entries["stnmt"]
    assert "hoạt động từ 01/03/2025" in entries["snnmt"]
    assert "hoạt động đến hết 30/06/2025" in entries["h-van-lang"]
    assert "nhiệm vụ do UBND các xã, phường thực hiện" in entries["h-van-lang"]
    assert "hoạt động từ 01/07/2025" in entries["x-that-khe"]
    assert "hoạt động từ khi ban hành Kế hoạch" in entries["sxd"]
    added = pgibot("agency", "add", "snnmt", "--name", "Sở Nông nghiệp và Môi trường")
    assert added.returncode == 0, added.stderr
    merged = pgibot("agency", "merge", "sgtvt", "--into", "sxd", "--on", "01/03/2025")
    assert merged.returncode == 0 and "đã sáp nhập" in merged.stdout
    listing = pgibot("agency", "list").stdout
    assert "đã sáp nhập vào sxd" in listing
    wrong = pgibot("agency", "merge", "khong-co", "--into", "sxd")
    assert wrong.returncode == 1
    assert "Không có cơ quan, đơn vị nào có mã khong-co" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    bad_date = pgibot("agency", "retire", "sxd", "--on", "2025-03-01")
    assert bad_date.returncode == 2 and "dd/mm/yyyy" in bad_date.stderr


def test_invite_create_prints_code_and_deep_link(pgibot: Pgibot) -> None:
    result = pgibot(
        "invite",
        "create",
        "--agency",
        "Sở Xây dựng",
        "--role",
        "leader",
        env={"TELEGRAM_BOT_USERNAME": "pgi_langson_bot"},
    )
    assert result.returncode == 0, result.stderr
    code = re.search(r"Mã mời: ([A-Z0-9]+)", result.stdout)
    assert code is not None
    assert f"https://t.me/pgi_langson_bot?start={code.group(1)}" in result.stdout
    assert "lãnh đạo đơn vị" in result.stdout
    assert re.search(r"hiệu lực đến \d\d:\d\d, (thứ \w+|Chủ nhật), \d\d/\d\d/\d{4}", result.stdout)
    elsewhere = pgibot("invite", "create", "--agency", "sxd", "--role", "dieuphoi")
    assert elsewhere.returncode != 0  # as /moi: coordinators belong to the coordinating agency
    assert "Chỉ những cán bộ của Sở Nông nghiệp và Môi trường" in elsewhere.stderr, (
        elsewhere.stderr
    )
    assert "Mã mời" not in elsewhere.stdout
    assert pgibot("invite", "create", "--agency", "snnmt", "--role", "dieuphoi").returncode == 0
    ended = pgibot("invite", "create", "--agency", "Sở Tài nguyên và Môi trường")
    assert ended.returncode == 1 and "Mã mời" not in ended.stdout
    assert "không còn hoạt động" in ended.stderr
    assert "do Sở Nông nghiệp và Môi trường thực hiện" in ended.stderr, ended.stderr


def test_console_session_in_a_subprocess(pgibot: Pgibot) -> None:
    created = pgibot("invite", "create", "--agency", "x-cao-loc")
    code = re.search(r"Mã mời: ([A-Z0-9]+)", created.stdout)
    assert code is not None
    session = pgibot(
        "console",
        "--as",
        code.group(1),
        "--name",
        "Lý Văn Bình",
        stdin="/nhiemvu\n1\n/trogiup\n/lenhla\n/thoat\n",
    )
    assert session.returncode == 0, session.stderr
    out = session.stdout
    assert "Đăng ký thành công. Chào mừng đồng chí Lý Văn Bình!" in out
    assert "Nhiệm vụ của UBND xã Cao Lộc" in out
    assert re.search(r"^\s+1\. Xem 1\.h\.2$", out, re.MULTILINE)  # choices as numbered lines
    assert "Nhiệm vụ 1.h.2:" in out  # answered by number
    assert "Các lệnh đồng chí có thể sử dụng:" in out
    assert "Bot không có lệnh /lenhla" in out
    assert "Traceback" not in session.stderr

    again = pgibot("console", "--as", "Lý Văn Bình", stdin="/nhiemvu\n")
    assert "Nhiệm vụ của UBND xã Cao Lộc" in again.stdout  # same member, by name

    wrong = pgibot("console", "--as", "SAIMA123", stdin="")
    assert "Mã mời SAIMA123 không hợp lệ" in wrong.stdout


def test_run_without_a_token_says_what_to_set(pgibot: Pgibot) -> None:
    result = pgibot("run")
    assert result.returncode == 0  # an expected state of a new installation, not a failure
    assert "TELEGRAM_BOT_TOKEN" in result.stdout
    assert "pgibot console" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://localhost/x"),
        ("PGIBOT_TIMEZONE", "Asia/Hanoii"),
        ("PGIBOT_WEBHOOK_PORT", "không"),
        ("TELEGRAM_API_BASE_URL", "api.telegram.org"),
    ],
)
def test_a_malformed_setting_stops_with_one_clear_line(
    pgibot: Pgibot, variable: str, value: str
) -> None:
    result = pgibot("agency", "list", env={variable: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0]
    assert "Traceback" not in result.stderr


def test_a_bad_plan_file_is_refused_with_its_line(pgibot: Pgibot) -> None:
    bad = pgibot.folder / "bad.yaml"
    bad.write_text("schema_version: 1\nplan:\n  code: x\n", encoding="utf-8")
    result = pgibot("plan", "import", str(bad))
    assert result.returncode == 1
    assert f"{bad}:3" in result.stderr and "Traceback" not in result.stderr


def test_help_on_each_command(pgibot: Pgibot) -> None:
    for args in (
        ["--help"],
        ["plan", "--help"],
        ["invite", "create", "--help"],
        ["console", "--help"],
        ["agency", "merge", "--help"],
        ["api-key", "create", "--help"],
    ):
        result = pgibot(*args)
        assert result.returncode == 0 and "cách dùng:" in result.stdout


async def _api_status(database_file: Path, key: str) -> int:
    """Call the API on the command's database with a key; return the HTTP status."""
    from aiohttp.test_utils import TestClient, TestServer

    from bot.api import ApiServices
    from bot.core.clock import SystemClock
    from bot.web import create_app
    from storage.db import Database

    database = Database(f"sqlite+aiosqlite:///{database_file}")
    try:
        app = create_app([], api=ApiServices(database, SystemClock()))
        async with TestClient(TestServer(app)) as client:
            answer = await client.get(
                "/api/v1/agencies", headers={"Authorization": f"Bearer {key}"}
            )
            return answer.status
    finally:
        await database.dispose()


def test_api_keys_are_created_listed_and_revoked(pgibot: Pgibot) -> None:
    created = pgibot("api-key", "create", "--name", "Hệ thống báo cáo của tỉnh")
    assert created.returncode == 0, created.stderr
    [key] = created.stdout.splitlines()  # the key alone on its line, for scripts
    assert re.fullmatch(r"pgi_[A-Za-z0-9_-]{43}", key)
    database_file = pgibot.folder / "data" / "pgibot.sqlite3"
    with sqlite3.connect(database_file) as db:
        stored = [row[0] for row in db.execute("SELECT key_hash FROM api_key")]
        actions = [row[0] for row in db.execute("SELECT action FROM audit_log")]
    assert key not in stored and len(stored[-1]) == 64  # only its SHA-256 is kept
    assert "api_key.create" in actions
    assert asyncio.run(_api_status(database_file, key)) == 200
    listed = pgibot("api-key", "list")
    assert "Hệ thống báo cáo của tỉnh" in listed.stdout and "đang hoạt động" in listed.stdout
    assert key not in listed.stdout
    number = re.search(r"^(\d+)\. Hệ thống báo cáo của tỉnh", listed.stdout, re.M)
    assert number is not None
    revoked = pgibot("api-key", "revoke", number[1])
    assert revoked.returncode == 0 and "Đã thu hồi khóa API" in revoked.stdout
    assert "đã thu hồi lúc" in pgibot("api-key", "list").stdout
    assert asyncio.run(_api_status(database_file, key)) == 401
    missing = pgibot("api-key", "revoke", "999")
    assert missing.returncode == 1 and "Không có khóa API số 999" in missing.stderr
    empty = pgibot("api-key", "create", "--name", "   ")
    assert empty.returncode == 1 and "tên hệ thống" in empty.stderr


def test_commands_before_init_ask_for_init(tmp_path: Path) -> None:
    result = Pgibot(tmp_path)("agency", "list")
    assert result.returncode == 1 and "pgibot init" in result.stderr


def test_demo_data_and_report_files(pgibot: Pgibot) -> None:
    generated = pgibot("demo", "generate", "--cycle", "2024", "--submissions", "400")
    assert generated.returncode == 0, generated.stderr
    demo = pgibot.folder / "data" / "demo.sqlite3"
    assert f"Đã thêm 400 báo cáo mẫu vào năm 2024 trong cơ sở dữ liệu minh họa {demo}" in (
        generated.stdout
    )
    assert f"pgibot --database-url {demo} report --cycle 2024" in generated.stdout
    assert "Cán bộ mẫu" not in pgibot("member", "list").stdout  # the live database: untouched
    again = pgibot("demo", "generate", "--cycle", "2024", "--submissions", "100")
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(demo) as connection:
        duplicated = connection.execute(
            "SELECT cycle_id, task_id, agency_id, version FROM submission"
            " GROUP BY cycle_id, task_id, agency_id, version HAVING count(*) > 1"
        ).fetchall()
        members, agencies = connection.execute(
            "SELECT count(*), count(DISTINCT agency_id) FROM member"
        ).fetchone()
    assert duplicated == []  # the second run numbered its versions after the first's
    assert members == agencies  # one synthetic officer per agency, reused by the second run
    for kind, entry in EXPORTS.items():  # every format of the registry
        out = pgibot.folder / f"tong-hop.{kind}"
        result = pgibot(
            "--database-url",
            str(demo),
            "report",
            "--format",
            kind,
            "--cycle",
            "2024",
            "--out",
            str(out),
        )
        assert result.returncode == 0, result.stderr
        assert out.stat().st_size > 0
        assert media_type_of(out.read_bytes()) == entry.media_type
        assert "Traceback" not in result.stderr
    assert "1.a.1" in (pgibot.folder / "tong-hop.txt").read_text(encoding="utf-8")
    missing = pgibot("report", "--cycle", "1999")
    assert missing.returncode == 1 and "Không có kỳ báo cáo năm 1999" in missing.stderr


# --- the administrator's terminal speaks Vietnamese ----------------------------------------


def test_commands_log_only_warnings_and_argparse_speaks_vietnamese(pgibot: Pgibot) -> None:
    out = pgibot.folder / "tong-hop-im-lang.xlsx"
    written = pgibot("report", "--cycle", "2024", "--out", str(out))
    assert written.returncode == 0, written.stderr
    assert "INFO" not in written.stderr and "spreadsheet" not in written.stderr
    wrong = pgibot("agency", "frob")
    assert wrong.returncode == 2
    assert "cách dùng: pgibot agency" in wrong.stderr
    assert "pgibot agency: lỗi: " in wrong.stderr and "không hợp lệ: 'frob'" in wrong.stderr
    for english in ("usage:", "error:", "invalid choice", "choose from"):
        assert english not in wrong.stderr
    missing = pgibot("agency", "merge", "sgtvt")
    assert "thiếu các tham số bắt buộc: --into" in missing.stderr
    shown = pgibot("invite", "create", "--help").stdout
    assert shown.startswith("cách dùng: pgibot invite create")
    assert "các tùy chọn:" in shown and "hiện trợ giúp này rồi thoát" in shown
    for english in ("usage:", "options:", "show this help"):
        assert english not in shown
    agency_help = pgibot("agency", "merge", "--help").stdout
    assert "cách dùng: pgibot agency merge [-h] --into MÃ [--on DD/MM/YYYY] MÃ" in agency_help


def _argparse_messages() -> set[str]:
    import argparse

    from babel.messages.extract import extract_from_file

    found = extract_from_file("python", argparse.__file__)
    return {message if isinstance(message, str) else message[0] for _, message, *_ in found}


def test_every_message_of_this_pythons_argparse_is_in_the_catalog() -> None:
    from babel.messages.pofile import read_po

    with (ROOT / "locales" / "vi" / "LC_MESSAGES" / "argparse.po").open("rb") as handle:
        catalog = read_po(handle)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and all(m.string if isinstance(m.string, tuple) else (m.string,))
    }
    assert _argparse_messages() - translated == set(), "run `make catalog-update`"


# --- where the configuration comes from -----------------------------------------------------


def _invite_link(pgibot: Pgibot, *options: str) -> subprocess.CompletedProcess[str]:
    return pgibot(*options, "invite", "create", "--agency", "snnmt")


def test_a_dotenv_in_the_current_folder_is_not_read(pgibot: Pgibot) -> None:
    planted = pgibot.folder / ".env"
    planted.write_text(
        "TELEGRAM_BOT_USERNAME=planted_bot\nTELEGRAM_API_BASE_URL=http://evil.example/bot\n",
        encoding="utf-8",
    )
    try:
        result = _invite_link(pgibot)
    finally:
        planted.unlink()
    assert result.returncode == 0, result.stderr
    assert "planted_bot" not in result.stdout
    assert f"Tệp {planted} không được đọc" in result.stderr
    assert "evil.example" not in result.stderr


def test_the_configuration_file_beside_the_data_and_env_file_option(pgibot: Pgibot) -> None:
    beside = pgibot.folder / "data" / "pgibot.env"
    beside.write_text("TELEGRAM_BOT_USERNAME=beside_the_data_bot\n", encoding="utf-8")
    try:
        assert "https://t.me/beside_the_data_bot?start=" in _invite_link(pgibot).stdout
        chosen = pgibot.folder / "chosen.env"
        chosen.write_text("TELEGRAM_BOT_USERNAME=chosen_bot\n", encoding="utf-8")
        assert (
            "https://t.me/chosen_bot?start="
            in _invite_link(pgibot, "--env-file", str(chosen)).stdout
        )
    finally:
        beside.unlink()
    missing = _invite_link(pgibot, "--env-file", str(pgibot.folder / "khong-co.env"))
    assert missing.returncode == 2
    assert (
        missing.stderr.strip()
        == f"pgibot: không có tệp cấu hình {pgibot.folder / 'khong-co.env'}."
    )


def test_an_unofficial_bot_api_address_is_warned_about_in_vietnamese(pgibot: Pgibot) -> None:
    result = pgibot("agency", "list", env={"TELEGRAM_API_BASE_URL": "http://10.0.0.9:8081/bot"})
    assert result.returncode == 0
    (line,) = result.stderr.strip().splitlines()
    assert "CẢNH BÁO" in line
    assert (
        "TELEGRAM_API_BASE_URL đang là http://10.0.0.9:8081/bot, không phải máy chủ chính thức"
        in line
    )


# --- make run -------------------------------------------------------------------------------


def test_the_package_metadata_builds_without_a_deprecation_warning() -> None:
    import tomllib
    import warnings

    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the SetuptoolsDeprecationWarning pip printed twice
        distribution = apply_configuration(Distribution(), ROOT / "pyproject.toml")
    assert distribution.metadata.license_expression == "MIT"
    with (ROOT / "pyproject.toml").open("rb") as handle:
        requires = tomllib.load(handle)["build-system"]["requires"]
    assert "setuptools>=77" in requires  # the first setuptools that reads an SPDX license


def test_make_run_without_a_token_ends_cleanly(tmp_path: Path) -> None:
    venv = Path(sys.prefix)
    if not (venv / ".installed").exists():
        pytest.skip("the tests do not run in a venv made by `make setup`")
    env = Pgibot(tmp_path).env | {"MAKEFLAGS": ""}
    result = subprocess.run(
        ["make", "--no-print-directory", "run", f"VENV={venv}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Đề nghị đặt TELEGRAM_BOT_TOKEN" in output and "pgibot console" in output
    for noise in ("Error", "Traceback", "Deprecat"):
        assert noise not in output


# --- files and destructive commands ---------------------------------------------------------


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_database_and_data_folder_are_private(tmp_path: Path) -> None:
    tool = Pgibot(tmp_path)
    (tmp_path / "data").mkdir(mode=0o755)  # left open by an earlier version
    (tmp_path / "data").chmod(0o755)
    assert tool("init").returncode == 0
    assert _mode(tmp_path / "data") == 0o700
    assert _mode(tmp_path / "data" / "pgibot.sqlite3") == 0o600
    out = tmp_path / "tong-hop.txt"
    assert tool("report", "--format", "txt", "--cycle", "2024", "--out", str(out)).returncode == 0
    assert _mode(out) == 0o600
    # The write-ahead log and shared memory exist while the bot runs: same mode, same umask.
    script = (
        "import asyncio, os, sys\n"
        "from pathlib import Path\n"
        "from sqlalchemy import text\n"
        "from bot.terminal import make_private\n"
        "from storage.db import create_engine\n"
        "async def main(folder):\n"
        "    make_private(folder)\n"
        "    database = folder / 'evidence' / 'x.sqlite3'\n"
        "    engine = create_engine(f'sqlite+aiosqlite:///{database}')\n"
        "    async with engine.begin() as connection:\n"
        "        await connection.execute(text('CREATE TABLE t (x INTEGER)'))\n"
        "    async with engine.connect() as connection:\n"
        "        await connection.execute(text('SELECT * FROM t'))\n"
        "        for name in ('evidence', 'evidence/x.sqlite3', 'evidence/x.sqlite3-wal',\n"
        "                     'evidence/x.sqlite3-shm'):\n"
        "            print(name, oct((folder / name).stat().st_mode & 0o777))\n"
        "    await engine.dispose()\n"
        "asyncio.run(main(Path(sys.argv[1])))\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "data")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert dict(zip(shown[::2], shown[1::2], strict=True)) == {
        "evidence": "0o700",
        "evidence/x.sqlite3": "0o600",
        "evidence/x.sqlite3-wal": "0o600",
        "evidence/x.sqlite3-shm": "0o600",
    }


def test_db_downgrade_says_what_it_drops_and_asks_first(tmp_path: Path) -> None:
    tool = Pgibot(tmp_path)
    assert tool("init").returncode == 0
    refused = tool("db", "downgrade", "0001", stdin="")
    assert refused.returncode == 1, refused.stderr
    assert "bảng link_code (0 dòng)" in refused.stdout
    assert "cột member.preferred_channel (0 dòng có giá trị)" in refused.stdout
    assert "--yes" in refused.stderr and "Traceback" not in refused.stderr
    head = migrate.head_revision()
    assert f"dữ liệu: {head}" in tool("db", "current").stdout  # nothing changed
    declined = tool("db", "downgrade", "0001", stdin="không\n")
    assert declined.returncode == 1
    assert f"dữ liệu: {head}" in tool("db", "current").stdout
    assert tool("db", "downgrade", "0004_report_versions", "--yes").returncode == 0
    typed = tool("db", "downgrade", "0002", stdin="có\n")
    assert typed.returncode == 0, typed.stderr
    assert "không xóa bảng hay cột nào" in typed.stdout
    assert "dữ liệu: 0002" in typed.stdout
    forced = tool("db", "downgrade", "0001", "--yes", stdin="")
    assert forced.returncode == 0 and "dữ liệu: 0001" in forced.stdout
    unknown = tool("db", "downgrade", "9999", "--yes")
    assert unknown.returncode == 1 and "9999" in unknown.stderr


async def test_a_downgrade_preview_counts_rows_and_changes_nothing(database_url: str) -> None:
    from sqlalchemy import text

    from storage.db import create_engine

    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE member SET preferred_channel = 'zalo'"))
            await connection.execute(
                text(
                    "INSERT INTO member (full_name, agency_id, role, active, language,"
                    " preferred_channel, created_at) VALUES ('Hà Thị Mai', 1, 'officer', true,"
                    " 'vi', 'zalo', CURRENT_TIMESTAMP)"
                )
            )
        losses = await migrate.downgrade_losses(engine, "0001")
        assert losses == [
            migrate.Loss("absence", None, 0),
            migrate.Loss("agency", "valid_from", 66),  # Sở NN&MT, the 65 communes and wards
            migrate.Loss("agency", "valid_to", 17),  # six merged departments, 11 districts
            migrate.Loss("api_key", None, 0),
            migrate.Loss("assignment", "valid_from", 1073),
            migrate.Loss("assignment", "valid_to", 235),
            migrate.Loss("calendar_day", None, 0),
            migrate.Loss("choice_offer", None, 0),
            migrate.Loss("download_link", None, 0),
            migrate.Loss("explanation_reminder", None, 0),
            migrate.Loss("explanation_request", None, 0),
            migrate.Loss("extension_request", None, 0),
            migrate.Loss("inbox", "chat_id", 0),
            migrate.Loss("instance", None, 0),
            migrate.Loss("invitation_failure", None, 0),
            migrate.Loss("job_run", None, 0),
            migrate.Loss("link_code", None, 0),
            migrate.Loss("member", "name_key", 1),
            migrate.Loss("member", "preferred_channel", 1),
            migrate.Loss("milestone_rule", "cutoff", 0),
            migrate.Loss("milestone_rule", "period", 0),
            migrate.Loss("outbox", "claimed_by", 0),
            migrate.Loss("outbox", "lease_until", 0),
            migrate.Loss("pgi_result", None, 5),  # the plan file's 2023 results
            migrate.Loss("plan", "structure", 1),
            migrate.Loss("reopening", None, 0),
            migrate.Loss("snooze", None, 0),
            migrate.Loss("submission", "leader_reviewed_at", 0),
            migrate.Loss("submission", "leader_reviewed_by_id", 0),
            migrate.Loss("submission", "period_end", 0),
            migrate.Loss("submission", "period_start", 0),
            migrate.Loss("submission", "review_reason", 0),
            migrate.Loss("submission", "review_state", 0),
            migrate.Loss("submission", "reviewed_at", 0),
            migrate.Loss("submission", "reviewed_by_id", 0),
            migrate.Loss("web_login", None, 0),
            migrate.Loss("web_session", None, 0),
        ]
        assert await migrate.current_revision(engine) == migrate.head_revision()
        async with engine.connect() as connection:
            kept = await connection.scalar(text("SELECT preferred_channel FROM member"))
        assert kept == "zalo"
    finally:
        await engine.dispose()


# --- pgibot run when Telegram cannot be reached ---------------------------------------------

BOT_TOKEN = "123456:TEST-TOKEN"


class RecordingProxy:
    """A forward proxy on 127.0.0.1 (absolute-form requests and CONNECT) that keeps what it saw."""

    def __init__(self) -> None:
        self.sent = bytearray()  # every byte from the client towards the servers
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> RecordingProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.sent += head
        method, target, rest = head.split(b" ", 2)
        if method == b"CONNECT":
            host, port = target.decode().rsplit(":", 1)
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            url = urlsplit(target.decode())
            up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port or 80)
            up_writer.write(b" ".join([method, target, rest]))
        for source, sink, record in ((reader, up_writer, True), (up_reader, writer, False)):
            task = asyncio.create_task(self._pipe(source, sink, record))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, record: bool
    ) -> None:
        try:
            while chunk := await source.read(65536):
                if record:
                    self.sent += chunk
                sink.write(chunk)
                await sink.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            sink.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _start_bot(folder: Path, base_url: str, **env: str) -> asyncio.subprocess.Process:
    tool = Pgibot(folder)
    if not (folder / "data" / "pgibot.sqlite3").exists():
        assert tool("init").returncode == 0
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=folder,
        env=tool.env | {"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_BASE_URL": base_url} | env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _stop(process: asyncio.subprocess.Process) -> tuple[str, str]:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return out.decode(), err.decode()


def _clean(stderr: str) -> None:
    for noise in ("Traceback", "Unclosed", "Error", "Exception"):
        assert noise not in stderr


async def test_run_with_a_refused_token_says_so_in_one_line(tmp_path: Path) -> None:
    async with FakeTelegram(token="999:OTHER-TOKEN") as fake:
        process = await _start_bot(tmp_path, fake.base_url)
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    stderr = err.decode()
    assert process.returncode == 2
    lines = [line for line in stderr.splitlines() if "CẢNH BÁO" not in line]  # the fake's URL
    assert lines == [
        "pgibot: Telegram từ chối token của bot: đề nghị kiểm tra TELEGRAM_BOT_TOKEN (có thể "
        "nhập sai hoặc đã bị thu hồi). Bot chưa khởi động."
    ]
    _clean(stderr)
    assert BOT_TOKEN not in stderr + out.decode()


async def test_run_without_a_route_retries_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{_free_port()}/bot"
    process = await _start_bot(tmp_path, closed)
    assert process.stderr is not None
    failures: list[str] = []
    try:
        while len(failures) < 2:
            line = (await asyncio.wait_for(process.stderr.readline(), timeout=60)).decode()
            assert line, "the bot ended instead of retrying"
            if "Không kết nối được tới Telegram" in line:
                failures.append(line)
    finally:
        out, err = await _stop(process)
    assert process.returncode == 0, err
    assert all("máy chủ từ chối kết nối. Thử lại sau" in line for line in failures)
    assert "Thử lại sau 2 giây" in failures[0] and "Thử lại sau 4 giây" in failures[1]
    assert "Bot đã dừng" in out
    _clean(err)


async def test_run_goes_through_the_proxy_of_the_environment(tmp_path: Path) -> None:
    async with FakeTelegram(token=BOT_TOKEN) as fake, RecordingProxy() as proxy:
        process = await _start_bot(
            tmp_path, fake.base_url, HTTP_PROXY=proxy.url, HTTPS_PROXY=proxy.url, NO_PROXY=""
        )
        try:
            await fake.wait_for("getUpdates", timeout=60)
        finally:
            out, err = await _stop(process)
    assert process.returncode == 0, err
    assert "Bot @pgi_test_bot đang chạy" in out
    assert f"/bot{BOT_TOKEN}/getMe".encode() in proxy.sent
    assert f"/bot{BOT_TOKEN}/getUpdates".encode() in proxy.sent
    _clean(err)


async def test_zalo_requests_go_through_the_proxy_and_no_proxy_is_honoured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.channels.zalo import ZaloClient, ZaloConfig
    from tests.fakes.zalo_api import FakeZalo

    token = "98765:zalo-test-secret"
    async with FakeZalo(token=token) as fake, RecordingProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        client = ZaloClient(ZaloConfig(token, base_url=fake.base_url))
        try:
            assert (await client.call("getMe"))["id"]
        finally:
            await client.close()
        assert f"/bot{token}/getMe".encode() in proxy.sent
        proxy.sent.clear()
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        client = ZaloClient(ZaloConfig(token, base_url=fake.base_url))
        try:
            await client.call("getMe")
        finally:
            await client.close()
        assert proxy.sent == b""


@pytest.mark.parametrize(
    ("os_error", "fault"),
    [
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "no_route"),
        (OSError(errno.EHOSTUNREACH, "No route to host"), "no_route"),
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "refused"),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "dns"),
        (OSError(errno.EACCES, "Permission denied"), "other"),
    ],
)
def test_each_connection_fault_is_told_apart(os_error: OSError, fault: str) -> None:
    from aiohttp import ClientConnectorError
    from aiohttp.client_reqrep import ConnectionKey
    from telegram.error import NetworkError

    from bot.channels.connect import network_fault

    key = ConnectionKey("api.telegram.org", 443, True, True, None, None, None)
    error = NetworkError("aiohttp.ClientConnectorError")
    error.__cause__ = ClientConnectorError(key, os_error)
    assert network_fault(error).value == fault


def test_demo_data_never_goes_into_a_database_with_real_people(tmp_path: Path) -> None:
    tool = Pgibot(tmp_path)
    assert tool("init").returncode == 0
    live = tmp_path / "data" / "pgibot.sqlite3"
    refused = tool("demo", "generate", "--cycle", "2024", "--database-url", str(live))
    assert refused.returncode == 1
    assert "không bao giờ được ghi vào cơ sở dữ liệu đang cấu hình" in refused.stderr
    created = tool("invite", "create", "--agency", "sxd")
    code = re.search(r"Mã mời: ([A-Z0-9]+)", created.stdout)
    assert code is not None
    tool("console", "--as", code.group(1), "--name", "Nông Văn Dũng", stdin="/thoat\n")
    copy = tmp_path / "copy.sqlite3"
    shutil.copy(live, copy)
    mixed = tool("demo", "generate", "--cycle", "2024", "--database-url", str(copy))
    assert mixed.returncode == 1, mixed.stdout
    assert f"Cơ sở dữ liệu {copy} có dữ liệu thật (1 thành viên đã đăng ký, 0 báo cáo)" in (
        mixed.stderr
    )
    assert "Traceback" not in mixed.stderr
    with sqlite3.connect(copy) as connection:
        assert connection.execute("SELECT count(*) FROM submission").fetchone()[0] == 0


async def test_run_with_a_refused_zalo_token_says_so_in_one_line(tmp_path: Path) -> None:
    from tests.fakes.zalo_api import FakeZalo

    async with FakeZalo(token="98765:zalo-test-secret") as fake:
        tool = Pgibot(tmp_path)
        assert tool("init").returncode == 0
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=tool.env | {"ZALO_BOT_TOKEN": "98765:wrong", "ZALO_API_BASE_URL": fake.base_url},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    stderr = err.decode()
    assert process.returncode == 2
    assert [line for line in stderr.splitlines() if "CẢNH BÁO" not in line] == [
        "pgibot: Zalo từ chối token của bot: đề nghị kiểm tra ZALO_BOT_TOKEN (có thể nhập sai "
        "hoặc đã bị thu hồi). Bot chưa khởi động."
    ]
    _clean(stderr)
