"""The PGI's published results per year: the plan file, /pgi and `pgibot pgi`, corrections kept."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.domain.results import TOTAL
from handlers.router import Router
from storage.db import Database
from storage.models import AuditEntry, PgiResultEntry
from storage.plan_loader import PlanFileError, default_plan_path, read_plan
from storage.uow import UnitOfWork
from tests.helpers import invite
from tests.test_cli import Pgibot
from tests.test_conversations import text_of


async def _figures(database: Database) -> dict[tuple[int, str], tuple[float, int | None]]:
    async with UnitOfWork(database) as uow:
        return {(r.year, r.index_code): (r.score, r.rank) for r in await uow.results.all()}


async def _audit(database: Database) -> list[tuple[str, dict[str, object]]]:
    async with database.session() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.action.like("pgi.%"))
            .order_by(AuditEntry.id)
        )
        return [(action, detail) for action, detail in rows.all()]


async def test_the_plan_ships_2023_only_and_a_reimport_changes_nothing(
    database: Database, clock: FrozenClock
) -> None:
    assert await _figures(database) == {
        (2023, TOTAL): (17.33, 62),
        (2023, "1"): (4.84, None),
        (2023, "2"): (4.14, None),
        (2023, "3"): (3.6, None),
        (2023, "4"): (4.75, None),
    }
    async with UnitOfWork(database) as uow:  # the plan's own 2023 scores agree with its results
        view = await uow.plans.view(clock.now().date())
        assert view is not None
        assert {i.index.code: i.index.baseline_score for i in view.indices} == {
            "1": 4.84, "2": 4.14, "3": 3.6, "4": 4.75,
        }  # fmt: skip
        again = await uow.plans.import_plan(
            read_plan(default_plan_path()), today=clock.now().date(), now=clock.now()
        )
        await uow.commit()
    assert "result" not in again.created and "result" not in again.updated
    async with database.session() as session:
        assert len(list(await session.scalars(select(PgiResultEntry)))) == 5


async def test_a_changed_figure_in_the_plan_file_is_a_correction(
    database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    document = yaml.safe_load(default_plan_path().read_text(encoding="utf-8"))
    document["results"][1]["score"] = 4.85
    document["results"].append({"year": 2024, "index": "1", "score": 5.2})
    edited = tmp_path / "plan.yaml"
    edited.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    async with UnitOfWork(database) as uow:
        report = await uow.plans.import_plan(
            read_plan(edited), today=clock.now().date(), now=clock.now()
        )
        await uow.commit()
    assert report.updated["result"] == 1 and report.created["result"] == 1
    async with UnitOfWork(database) as uow:
        current = {(r.year, r.index_code): r for r in await uow.results.all()}
    corrected = current[(2023, "1")]
    assert corrected.score == 4.85 and corrected.previous is not None
    assert corrected.previous.score == 4.84
    shipped = ["pgi.record"] * 5  # the shipped file's five figures, at the first import
    assert [a for a, _d in await _audit(database)] == [*shipped, "pgi.correct", "pgi.record"]

    document["results"].append({"year": 2024, "index": "9", "score": 1})
    edited.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PlanFileError, match="kế hoạch không có chỉ số 9"):
        read_plan(edited)


async def test_the_coordinator_records_and_corrects_in_chat(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = MemoryChannel(router.handle, user_id="900", display_name="Điều phối")
    await coordinator.send(f"/start {await invite(database, clock, 'stnmt', Role.COORDINATOR)}")
    listing = text_of(await coordinator.send("/pgi"))
    assert "KẾT QUẢ PGI ĐÃ CÔNG BỐ" in listing
    assert "PGI (điểm tổng hợp): 17,33 điểm, xếp thứ 62/63" in listing
    assert "Chỉ số 1: 4,84 điểm" in listing and "/pgi NĂM CHỈ_SỐ ĐIỂM" in listing

    # bad input: a polite reason, nothing recorded (today is 20/11/2024)
    for wrong, reason in (
        ("/pgi 2024 1 5,1", "từ 2000 đến 2023"),
        ("/pgi 2023 9 5,1", "Kế hoạch không có chỉ số 9"),
        ("/pgi 2023 1 năm", "Điểm phải là một số từ 0 đến 100"),
        ("/pgi 2023 1 101", "Điểm phải là một số từ 0 đến 100"),
        ("/pgi 2023 PGI 17,33 63/62", "Thứ hạng phải ghi bằng số"),
        ("/pgi 2023 1", "Để ghi kết quả đã công bố"),
    ):
        assert reason in text_of(await coordinator.send(wrong)), wrong
    assert len(await _audit(database)) == 5  # the shipped figures only

    same = text_of(await coordinator.send("/pgi 2023 1 4,84"))
    assert "Kết quả này đã được ghi" in same
    [question] = await coordinator.send("/pgi 2023 PGI 17,5 60/63")
    assert "PGI (điểm tổng hợp) năm 2023 đã được ghi: 17,33 điểm, xếp thứ 62/63" in question.text
    assert "17,50 điểm, xếp thứ 60/63" in question.text
    assert (await _figures(database))[(2023, TOTAL)] == (17.33, 62)
    cancel = next(c for c in question.flat_choices if c.label == "Hủy")
    assert "không ghi đính chính" in text_of(await coordinator.press(cancel.payload))
    assert (await _figures(database))[(2023, TOTAL)] == (17.33, 62)
    confirm = next(c for c in question.flat_choices if c.label == "Ghi đính chính")
    done = text_of(await coordinator.press(confirm.payload))
    assert "Đã ghi đính chính kết quả năm 2023" in done
    assert (await _figures(database))[(2023, TOTAL)] == (17.5, 60)
    listing = text_of(await coordinator.send("/pgi"))
    assert "17,50 điểm, xếp thứ 60/63 (đính chính ngày thứ Tư, 20/11/2024" in listing
    assert "số liệu trước đó: 17,33 điểm, xếp thứ 62/63" in listing
    [(action, detail)] = (await _audit(database))[5:]
    assert action == "pgi.correct"
    assert (detail["score"], detail["was_score"], detail["rank"]) == (17.5, 17.33, 60)

    officer = MemoryChannel(router.handle, user_id="901", display_name="Cán bộ")
    await officer.send(f"/start {await invite(database, clock, 'sct')}")
    assert "không dành cho vai trò" in text_of(await officer.press(confirm.payload))
    assert "không dành cho vai trò" in text_of(await officer.send("/pgi"))


async def test_a_published_score_reaches_the_risk_view(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = MemoryChannel(router.handle, user_id="900", display_name="Điều phối")
    await coordinator.send(f"/start {await invite(database, clock, 'stnmt', Role.COORDINATOR)}")
    clock.set(clock.now().replace(year=2025, month=9))  # 2024's results are published in 2025
    recorded = text_of(await coordinator.send("/pgi 2024 1 6,10"))
    assert "Đã ghi kết quả năm 2024" in recorded
    [overview] = await coordinator.send("/tonghop 2024")
    risk_button = next(c for c in overview.flat_choices if c.label == "Rủi ro theo chỉ số PGI")
    risk = text_of(await coordinator.press(risk_button.payload))
    assert risk.startswith("MỨC ĐỘ RỦI RO THEO CHỈ SỐ PGI, NĂM 2024")
    one = risk[risk.index("Chỉ số 1.") :]
    assert "công bố gần nhất: 6,10 (năm 2024) · còn phải tăng: 0,48" in one
    two = risk[risk.index("Chỉ số 2.") :]
    assert "công bố gần nhất: — · còn phải tăng: 1,97" in two
    # furthest from the target first: 2 (1,97), 3 (0,78), 4 (0,55), then 1 (0,48)
    order = [risk.index(f"Chỉ số {code}.") for code in "2341"]
    assert order == sorted(order)


def test_pgibot_pgi_set_and_show(pgibot: Pgibot) -> None:
    shown = pgibot("pgi", "show")
    assert (
        shown.returncode == 0 and "PGI (điểm tổng hợp): 17,33 điểm, xếp thứ 62/63" in shown.stdout
    )
    refused = pgibot("pgi", "set", "--year", "2023", "--index", "2", "--score", "4,2")
    assert refused.returncode != 0
    assert "đã được ghi: 4,14 điểm" in refused.stderr and "--correct" in refused.stderr
    wrong = pgibot("pgi", "set", "--year", "2023", "--index", "7", "--score", "4")
    assert wrong.returncode != 0 and "Kế hoạch không có chỉ số 7" in wrong.stderr
    corrected = pgibot(
        "pgi", "set", "--year", "2023", "--index", "2", "--score", "4,2", "--correct"
    )
    assert corrected.returncode == 0, corrected.stderr
    assert "Đã ghi đính chính kết quả năm 2023" in corrected.stdout
    assert "số liệu trước đó: 4,14 điểm" in corrected.stdout
    assert "dòng lệnh quản trị" in corrected.stdout
    again = pgibot("pgi", "set", "--year", "2023", "--index", "2", "--score", "4.20")
    assert again.returncode == 0 and "Kết quả này đã được ghi" in again.stdout
    audit = pgibot("audit", "--action", "pgi")
    assert audit.returncode == 0 and "Đã đính chính kết quả PGI (pgi.correct)" in audit.stdout


# the CLI fixture, shared with tests/test_cli.py
from tests.test_cli import pgibot as pgibot  # noqa: E402
