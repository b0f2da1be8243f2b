"""The reorganisation rules, without a database."""

from __future__ import annotations

from bot.core.domain.agencies import AgencyStatus
from bot.core.domain.reorganisation import (
    Refusal,
    Standing,
    add_conflict,
    already_merged,
    current_of,
    lineage,
    merge_refusal,
    retire_refusal,
)

ACTIVE, MERGED, RETIRED = AgencyStatus.ACTIVE, AgencyStatus.MERGED, AgencyStatus.RETIRED


def test_an_agency_is_not_merged_into_itself() -> None:
    sxd = Standing(1, ACTIVE)
    assert merge_refusal(sxd, sxd) is Refusal.SELF_MERGE
    assert merge_refusal(Standing(1, MERGED, 2), Standing(1, ACTIVE)) is Refusal.SELF_MERGE


def test_merging_twice_changes_nothing() -> None:
    merged, target = Standing(1, MERGED, 2), Standing(2, ACTIVE)
    assert merge_refusal(merged, target) is None
    assert already_merged(merged, target)
    assert not already_merged(Standing(1, ACTIVE), target)
    assert merge_refusal(Standing(1, ACTIVE), target) is None  # a merger to make


def test_only_active_agencies_merge_and_retire() -> None:
    retired, merged = Standing(1, RETIRED), Standing(3, MERGED, 4)
    assert merge_refusal(retired, Standing(2, ACTIVE)) is Refusal.NOT_ACTIVE
    assert merge_refusal(merged, Standing(2, ACTIVE)) is Refusal.NOT_ACTIVE  # merged elsewhere
    assert merge_refusal(Standing(2, ACTIVE), retired) is Refusal.TARGET_NOT_ACTIVE
    assert retire_refusal(Standing(2, ACTIVE)) is None
    assert retire_refusal(retired) is None  # retiring twice changes nothing
    assert retire_refusal(merged) is Refusal.NOT_ACTIVE


def test_a_code_is_taken_by_another_name_only() -> None:
    assert add_conflict(None, "Sở Xây dựng") is None
    assert add_conflict("Sở Xây dựng", "Sở Xây dựng") is None
    assert add_conflict("Sở Công Thương", "Sở Xây dựng") is Refusal.CODE_TAKEN


def test_the_agency_today_and_its_lineage() -> None:
    successors = {1: 2, 2: 3, 3: None, 4: 3, 5: None}
    assert current_of(successors, 1) == 3
    assert current_of(successors, 5) == 5
    assert current_of({1: 2, 2: 1}, 1) == 2  # a loop stops before it repeats
    mergers = {3: (2, 4), 2: (1,)}
    assert lineage(mergers, 3) == [3, 4, 2, 1]
    assert lineage(mergers, 5) == [5]
    assert lineage({1: (2,), 2: (1,)}, 1) == [1, 2]
