"""The shipped plan file against the document it was extracted from."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import Agency, Assignment, Task
from storage.plan_loader import LoadedPlan, default_plan_path, read_plan
from storage.structure import assignment_in_force
from storage.uow import UnitOfWork

SOURCE = Path(__file__).resolve().parents[1] / "docs" / "source" / "ke-hoach-pgi-lang-son-2024.txt"
DISTRICTS = {
    "tp-lang-son": "UBND thành phố Lạng Sơn",
    "h-trang-dinh": "UBND huyện Tràng Định",
    "h-van-lang": "UBND huyện Văn Lãng",
    "h-van-quan": "UBND huyện Văn Quan",
    "h-binh-gia": "UBND huyện Bình Gia",
    "h-bac-son": "UBND huyện Bắc Sơn",
    "h-huu-lung": "UBND huyện Hữu Lũng",
    "h-chi-lang": "UBND huyện Chi Lăng",
    "h-cao-loc": "UBND huyện Cao Lộc",
    "h-loc-binh": "UBND huyện Lộc Bình",
    "h-dinh-lap": "UBND huyện Đình Lập",
}


@pytest.fixture(scope="module")
def plan() -> LoadedPlan:
    return read_plan(default_plan_path())


def _source_text() -> str:
    text = SOURCE.read_text(encoding="utf-8")
    return re.sub(r"\s+", " ", re.sub(r"\s*\[\d+\]", "", text))


def test_indices_scores_and_task_counts(plan: LoadedPlan) -> None:
    indices = plan.document.indices
    assert [i.name for i in indices] == [
        "Giảm thiểu ô nhiễm và thiên tai",
        "Đảm bảo tuân thủ",
        "Thúc đẩy thực hành xanh",
        "Chính sách khuyến khích và dịch vụ hỗ trợ",
    ]
    assert [len(i.tasks) for i in indices] == [23, 10, 14, 7]
    assert [(i.baseline_score, i.target_score, i.increase) for i in indices] == [
        (4.84, 6.58, 1.74),
        (4.14, 6.11, 1.97),
        (3.60, 4.38, 0.78),
        (4.75, 5.30, 0.55),
    ]
    assert round(sum(i.baseline_score for i in indices), 2) == 17.33
    assert len(plan.document.organisational_tasks) == 7


def test_every_task_text_is_verbatim_from_the_document(plan: LoadedPlan) -> None:
    source = _source_text()
    for _index, task in plan.all_tasks():
        assert " ".join(task.text.split()) in source, task.code


@pytest.mark.parametrize(
    ("code", "leads", "supports"),
    [
        ("1.a.1", ["stnmt"], ["snnptnt"]),
        ("1.b.3", ["sxd"], ["stnmt"]),
        ("1.h.1", ["stttt", "baols", "dptth"], ["dkttv", "snnptnt"]),
        ("1.k.1", ["districts"], []),
        ("2.b.2", ["cat"], ["ttt"]),
        ("2.d", ["bqlkkt"], []),
        ("3.d", ["skhcn"], []),
        ("3.i.1", ["other-departments", "hhdn", "districts"], []),
        ("4.d.1", ["ttxtdt"], []),
        ("4.dd.1", ["departments", "districts"], []),
        ("III.5", ["stnmt"], []),
    ],
)
def test_sample_tasks_name_their_agencies(
    plan: LoadedPlan, code: str, leads: list[str], supports: list[str]
) -> None:
    task = next(t for _i, t in plan.all_tasks() if t.code == code)
    assert sorted(task.leads) == sorted(leads)
    assert sorted(task.supports) == sorted(supports)


def test_the_eleven_district_units(plan: LoadedPlan) -> None:
    group = next(g for g in plan.document.groups if g.code == "districts")
    assert group.name == "UBND các huyện, thành phố"
    names = {a.code: a.name for a in plan.document.agencies}
    assert {code: names[code] for code in group.members} == DISTRICTS


def test_milestones_recur_from_2024(plan: LoadedPlan) -> None:
    doc = plan.document
    assert doc.cycles.first_year == 2024
    assert [(m.code, m.kind, m.due, m.recipients) for m in doc.milestones] == [
        ("implementation-plan", "implementation_plan", "20/07", "assigned"),
        ("results-report", "final_report", "10/12", "assigned"),
        ("consolidated-report", "consolidated_report", "20/12", "coordinator"),
    ]
    assert doc.plan.coordinator == "stnmt"


RESULTS_2024, RESULTS_2025 = date(2024, 12, 10), date(2025, 12, 10)


async def _leads_of(database: Database, code: str, on: date = RESULTS_2024) -> set[str]:
    async with database.session() as session:
        rows = await session.scalars(
            select(Agency.code)
            .join(Assignment, Assignment.agency_id == Agency.id)
            .join(Task, Task.id == Assignment.task_id)
            .where(Task.code == code, Assignment.role == "lead", assignment_in_force(on))
        )
        return set(rows)


async def test_groups_expand_to_one_assignment_per_agency(
    database: Database,
) -> None:
    assert await _leads_of(database, "1.k.1") == set(DISTRICTS)
    others = await _leads_of(database, "1.i")
    named_in_index_1 = {"stnmt", "sxd", "snnptnt", "sgtvt", "stttt"}
    assert not others & named_in_index_1
    assert {"sct", "skhdt", "syt", "ttt", "bqlkkt"} <= others
    assert "cat" not in others  # the police is not a department
    assert await _leads_of(database, "4.dd.1") >= {"stnmt", "sct", "tp-lang-son", "h-dinh-lap"}
    # "Các Sở, ban, ngành khác" of index 3 leaves out Sở KH&ĐT, a partner of 3.a.1
    others_3 = await _leads_of(database, "3.i.1")
    assert "skhdt" not in others_3 and {"syt", "ttt", "hhdn", "h-van-lang"} <= others_3
    assert len(others_3) == 23  # 11 departments, Hiệp hội Doanh nghiệp, 11 district units


async def test_the_2025_reorganisation_is_read_on_its_dates(
    database: Database,
) -> None:
    """From 01/03/2025 six departments; from 01/07/2025 the 65 communes and wards."""
    communes = await _leads_of(database, "1.k.1", RESULTS_2025)
    assert len(communes) == 65 and {"x-that-khe", "p-tam-thanh"} <= communes
    assert await _leads_of(database, "1.k.1", date(2025, 6, 30)) == set(DISTRICTS)
    assert await _leads_of(database, "1.a.1", date(2025, 2, 28)) == {"stnmt"}
    assert await _leads_of(database, "1.a.1", date(2025, 3, 1)) == {"snnmt"}
    others = await _leads_of(database, "1.i", RESULTS_2025)
    # snnmt, sxd and skhcn answer for the departments index 1 names; skhdt is stc now
    assert not others & {"snnmt", "sxd", "skhcn", "stnmt", "skhdt", "sgtvt", "stttt"}
    assert {"sct", "stc", "syt", "ttt", "bqlkkt"} <= others
    led = await _leads_of(database, "4.dd.1", RESULTS_2025)
    assert {"snnmt", "stc", "snv", "x-that-khe"} <= led
    assert not led & {"stnmt", "tp-lang-son", "sldtbxh", "skhdt"}
    async with UnitOfWork(database) as uow:
        before, after = await uow.plans.view(RESULTS_2024), await uow.plans.view(RESULTS_2025)
    assert before is not None and before.coordinator == "stnmt"
    assert after is not None and after.coordinator == "snnmt"
    units = [a for a in after.agencies if a.kind == "commune"]
    assert len(units) == 65 and {a.valid_from for a in units} == {date(2025, 7, 1)}
    assert sum(a.name.startswith("UBND phường ") for a in units) == 4
    assert sum(a.name.startswith("UBND xã ") for a in units) == 61
    districts = [a for a in after.agencies if a.code in DISTRICTS]
    assert {(a.valid_to, a.successor_code) for a in districts} == {(date(2025, 7, 1), None)}


async def test_milestones_are_dated_each_year(database: Database) -> None:
    async with UnitOfWork(database) as uow:
        milestones = await uow.plans.milestones(2024)
    assert [(m.code, f"{m.due_date:%d/%m/%Y}") for m in milestones] == [
        ("implementation-plan", "20/07/2024"),
        ("results-report", "10/12/2024"),
        ("consolidated-report", "20/12/2024"),
    ]
