"""The crash run in small: the real process killed with SIGKILL three times while it works.

``make crash`` runs the full twenty kills (see the README); this keeps the harness and what it
proves (nothing confirmed lost or duplicated, reminders delivered with bounded repeats, an
answer within 10 s of each restart, a clean SIGTERM) in every ``make test``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.crash import run


async def test_three_kills_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    args = argparse.Namespace(
        kills=3,
        members=300,
        officers=8,
        rate=20.0,
        seed=11,
        database="sqlite",
        postgres="",
        instances=1,
    )
    figures = await run(args, tmp_path)
    assert figures["checks"] == dict.fromkeys(figures["checks"], True), figures
    assert figures["reports_confirm_pressed"] > 0 and figures["outbox"].get("sent", 0) >= 300
    assert [k["scenario"] for k in figures["kills"]] == ["intake", "fan-out", "export"]
