"""Why an agency was not found or not changed, worded at the edge (no database)."""

from __future__ import annotations

import pytest

from bot.core.domain.reorganisation import Refusal
from handlers.refusals import AGENCIES_LISTED, agency_refusal
from storage.agencies import AgencyError

SXD = ("Sở Xây dựng", "sxd")


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (AgencyError(Refusal.UNKNOWN_CODE, code="xyz"), "Không có cơ quan, đơn vị nào có mã xyz."),
        (
            AgencyError(Refusal.CODE_TAKEN, code="sxd", name="Sở Xây dựng"),
            "Mã sxd đã được dùng cho Sở Xây dựng.",
        ),
        (
            AgencyError(Refusal.SELF_MERGE, code="sxd", name="Sở Xây dựng", change="merge"),
            "Không thể sáp nhập một cơ quan, đơn vị vào chính nó.",
        ),
        (
            AgencyError(Refusal.NOT_ACTIVE, code="sgtvt", name="Sở GTVT", change="merge"),
            "Sở GTVT không còn hoạt động nên không thể sáp nhập.",
        ),
        (
            AgencyError(Refusal.NOT_ACTIVE, code="sgtvt", name="Sở GTVT", change="retire"),
            "Sở GTVT không còn hoạt động.",
        ),
        (
            AgencyError(Refusal.TARGET_NOT_ACTIVE, code="sgtvt", name="Sở GTVT", change="merge"),
            "Sở GTVT hiện không hoạt động.",
        ),
        (
            AgencyError(Refusal.UNKNOWN_NAME, name="Sở Vũ trụ"),
            "Không có cơ quan, đơn vị nào tên là Sở Vũ trụ. Đề nghị ghi mã hoặc tên của cơ "
            "quan, đơn vị, ví dụ sxd hoặc Sở Xây dựng.",
        ),
        (
            AgencyError(Refusal.UNKNOWN_NAME, name="So Xay Dungg", agencies=(SXD,)),
            "Không có cơ quan, đơn vị nào tên là So Xay Dungg. Có phải đồng chí muốn tìm: "
            "Sở Xây dựng (sxd)?",
        ),
    ],
)
def test_each_refusal_is_worded_in_vietnamese(error: AgencyError, said: str) -> None:
    assert agency_refusal(error) == said


def test_a_long_list_of_agencies_is_cut_with_how_many_more() -> None:
    many = tuple((f"UBND huyện {n}", f"h-{n}") for n in range(AGENCIES_LISTED + 3))
    said = agency_refusal(AgencyError(Refusal.AMBIGUOUS, name="UBND huyện", agencies=many))
    assert said.startswith("“UBND huyện” trùng với nhiều cơ quan")
    assert said.count("(h-") == AGENCIES_LISTED
    assert "; và 3 cơ quan, đơn vị khác." in said


def test_every_refusal_has_words() -> None:
    for refusal in Refusal:
        for change in ("merge", "retire"):
            said = agency_refusal(AgencyError(refusal, code="x", name="X", change=change))
            assert said and said.isprintable(), refusal
