"""The read-only API over real HTTP: keys, every endpoint's answers, pagination, the log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.api import ApiServices
from bot.core.clock import FrozenClock
from bot.web import create_app
from storage.db import Database
from storage.uow import UnitOfWork

ENDPOINTS = [
    "/api/v1/cycles",
    "/api/v1/years/2024/summary",
    "/api/v1/agencies",
    "/api/v1/tasks",
    "/api/v1/tasks?year=2024",
    "/api/v1/reports",
    "/api/v1/reports?year=2024&limit=5",
]
REPORTS = 60


class Keys:
    """A valid key and a revoked one, made through the repository as the CLI makes them."""

    valid: str
    revoked: str


@pytest.fixture
async def keys(database: Database, clock: FrozenClock) -> Keys:
    made = Keys()
    async with UnitOfWork(database) as uow:
        await uow.synthetic.generate(year=2024, submissions=REPORTS)
        _info, made.valid = await uow.api_keys.create("Hệ thống báo cáo tỉnh", clock.now())
        old, made.revoked = await uow.api_keys.create("Hệ thống cũ", clock.now())
        await uow.api_keys.revoke(old.id, clock.now())
        await uow.commit()
    return made


@pytest.fixture
async def client(database: Database, clock: FrozenClock) -> AsyncIterator[TestClient]:
    app = create_app([], api=ApiServices(database, clock))
    async with TestClient(TestServer(app)) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_every_endpoint_needs_a_valid_key(
    client: TestClient, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.api.auth")
    refusals = {
        "missing": {},
        "wrong": bearer("pgi_" + "x" * 43),
        "revoked": bearer(keys.revoked),
        "not bearer": {"Authorization": f"Basic {keys.valid}"},
    }
    for path in ENDPOINTS:
        answered = await client.get(path, headers=bearer(keys.valid))
        assert answered.status == 200, (path, await answered.text())
        bodies = set()
        for what, headers in refusals.items():
            refused = await client.get(path, headers=headers)
            assert refused.status == 401, (path, what)
            assert refused.headers["WWW-Authenticate"] == "Bearer"
            bodies.add(await refused.text())
        assert bodies == {'{"error": "unauthorized"}'}  # the same answer, whatever was wrong
    logged = caplog.text
    assert keys.valid not in logged and keys.revoked not in logged
    assert "Hệ thống báo cáo tỉnh" in logged  # the caller is named by its key's name


async def test_while_the_database_is_away_the_api_answers_503(clock: FrozenClock) -> None:
    away = Database("postgresql+asyncpg://postgres@127.0.0.1:9/none")  # nothing listens there
    try:
        app = create_app([], api=ApiServices(away, clock))
        async with TestClient(TestServer(app)) as client:
            answered = await client.get("/api/v1/cycles", headers=bearer("pgi_" + "x" * 43))
            assert answered.status == 503
            assert answered.headers["Retry-After"] == "5"
    finally:
        await away.dispose()


async def test_the_openapi_document_is_public(client: TestClient) -> None:
    answered = await client.get("/api/v1/openapi.json")
    assert answered.status == 200
    document = await answered.json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/cycles",
        "/years/{year}/summary",
        "/agencies",
        "/tasks",
        "/reports",
        "/openapi.json",
    }


async def test_an_unknown_path_under_the_api_says_nothing_without_a_key(
    client: TestClient, keys: Keys
) -> None:
    assert (await client.get("/api/v1/members")).status == 401
    assert (await client.get("/api/v1/members", headers=bearer(keys.valid))).status == 404


async def test_the_summary_has_the_indices_task_states_and_reporting(
    client: TestClient, keys: Keys
) -> None:
    answered = await client.get("/api/v1/years/2024/summary", headers=bearer(keys.valid))
    summary = await answered.json()
    assert summary["year"] == 2024 and summary["today"] == "2024-11-20"
    assert [i["code"] for i in summary["indices"]] == ["1", "2", "3", "4"]
    assert summary["indices"][0]["baseline_score"] > 0
    assert summary["submission_count"] == REPORTS
    states = summary["task_states"]
    tasks = [t for i in summary["indices"] for t in i["tasks"]] + summary["organisational_tasks"]
    assert sum(states.values()) == len(tasks)
    assert {t["state"] for t in tasks} == set(states)
    reporting = summary["reporting"]
    assert reporting["leading_agencies"] >= reporting["reported_agencies"]
    assert (
        len(reporting["not_reported"])
        == reporting["leading_agencies"] - reporting["reported_agencies"]
    )
    missing = await client.get("/api/v1/years/2031/summary", headers=bearer(keys.valid))
    assert missing.status == 404
    assert "2031" in (await missing.json())["message"]


async def test_cycles_agencies_and_tasks(client: TestClient, keys: Keys) -> None:
    cycles = (await (await client.get("/api/v1/cycles", headers=bearer(keys.valid))).json())[
        "cycles"
    ]
    assert 2024 in [c["year"] for c in cycles]
    [year] = [c for c in cycles if c["year"] == 2024]
    assert "2024-12-10" in [m["due_date"] for m in year["milestones"]]
    agencies = (await (await client.get("/api/v1/agencies", headers=bearer(keys.valid))).json())[
        "agencies"
    ]
    codes = {a["code"] for a in agencies}
    assert {"stnmt", "sxd", "h-cao-loc"} <= codes
    tasks = await (await client.get("/api/v1/tasks?year=2024", headers=bearer(keys.valid))).json()
    assert tasks["on"] == "2024-12-10"
    by_code = {t["code"]: t for t in tasks["tasks"]}
    assert "sxd" in by_code["1.b.1"]["lead_agencies"]


async def test_reports_page_by_cursor_and_from_a_moment(
    client: TestClient, keys: Keys, database: Database, clock: FrozenClock
) -> None:
    seen: list[dict[str, object]] = []
    path = "/api/v1/reports?limit=25"
    cursor = None
    while True:
        query = path + (f"&cursor={cursor}" if cursor else "")
        page = await (await client.get(query, headers=bearer(keys.valid))).json()
        seen += page["reports"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == REPORTS
    assert len({r["id"] for r in seen}) == REPORTS
    assert [r["id"] for r in seen] == sorted(r["id"] for r in seen)
    middle = seen[REPORTS // 2]
    since = str(middle["created_at"]).replace("+00:00", "Z")
    later = await (
        await client.get(
            "/api/v1/reports", params={"updated_since": since}, headers=bearer(keys.valid)
        )
    ).json()
    assert later["reports"] and all(
        str(r["created_at"]) >= str(middle["created_at"]) for r in later["reports"]
    )
    assert middle["id"] in [r["id"] for r in later["reports"]]
    future = (clock.now() + timedelta(days=400)).isoformat()
    empty = await (
        await client.get(
            "/api/v1/reports", params={"updated_since": future}, headers=bearer(keys.valid)
        )
    ).json()
    assert empty == {"reports": [], "next_cursor": None}


BAD = [
    ("/api/v1/reports?limit=0", "limit"),
    ("/api/v1/reports?limit=abc", "limit"),
    ("/api/v1/reports?year=1999", "year"),
    ("/api/v1/reports?updated_since=hôm-qua", "updated_since"),
    ("/api/v1/reports?updated_since=2024-11-20T10:00:00", "updated_since"),  # no offset
    ("/api/v1/reports?cursor=-1", "cursor"),
    ("/api/v1/tasks?year=năm-nay", "year"),
    ("/api/v1/years/20x4/summary", "year"),
]


async def test_bad_parameters_get_400_naming_them(client: TestClient, keys: Keys) -> None:
    for path, parameter in BAD:
        answered = await client.get(path, headers=bearer(keys.valid))
        assert answered.status == 400, path
        body = await answered.json()
        assert body["parameter"] == parameter, path
        assert "phải" in body["message"]  # in Vietnamese, from the catalog
