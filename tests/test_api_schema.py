"""The API against its own OpenAPI document, with schemathesis over real HTTP.

Every operation of the document is called with valid parameters generated from it (a few
examples each, to stay fast), and each answer is checked: no server error, a status the document
lists, a body matching its schema, the content type it declares. The server runs in a
thread of its own (schemathesis calls it synchronously) on a SQLite copy of the plan with
synthetic reports.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings

from bot.api import ApiServices
from bot.api.openapi import document
from bot.core.clock import FrozenClock
from bot.web import create_app
from storage.db import Database
from storage.uow import UnitOfWork
from tests.conftest import START

schema = schemathesis.openapi.from_dict(document())
# Valid requests only: a request the document forbids is tested by hand in test_api.py (each
# bad parameter gets 400 naming it; a call without a valid key 401).
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE], with_security_parameters=False
)


@dataclass(frozen=True)
class LiveApi:
    """The running API: its base URL and a valid key."""

    url: str
    key: str


async def _serve(
    url: str, ready: threading.Event, stop: asyncio.Event, live: list[LiveApi]
) -> None:
    database = Database(url)
    clock = FrozenClock(START)
    async with UnitOfWork(database) as uow:
        await uow.synthetic.generate(year=2024, submissions=40)
        _info, key = await uow.api_keys.create("schemathesis", clock.now())
        await uow.commit()
    runner = web.AppRunner(create_app([], api=ApiServices(database, clock)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    live.append(LiveApi(f"http://127.0.0.1:{port}/api/v1", key))
    ready.set()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await database.dispose()


@pytest.fixture(scope="module")
def live_api(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    path = tmp_path_factory.mktemp("api") / "api.sqlite3"
    shutil.copy(sqlite_template, path)
    loop = asyncio.new_event_loop()
    ready, stop, live = threading.Event(), asyncio.Event(), []  # type: ignore[var-annotated]
    thread = threading.Thread(
        target=loop.run_until_complete,
        args=(_serve(f"sqlite+aiosqlite:///{path}", ready, stop, live),),
        daemon=True,
    )
    thread.start()
    assert ready.wait(60), "the API did not start"
    yield live[0]
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)
    loop.close()


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_matches_its_document(case: schemathesis.Case, live_api: LiveApi) -> None:
    case.call_and_validate(
        base_url=live_api.url, headers={"Authorization": f"Bearer {live_api.key}"}
    )
