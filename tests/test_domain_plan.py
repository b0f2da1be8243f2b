"""The plan's own words in a later cycle, without a database."""

from __future__ import annotations

from bot.core.domain.plan import in_cycle


def test_the_plans_year_reads_as_the_cycles() -> None:
    text = "Chỉ đạo chỉ số PGI trong năm 2024, hoàn thành trước ngày 20/7/2024 ."
    assert in_cycle(text, 2024, 2024) == text
    assert in_cycle(text, 2026, 2024) == (
        "Chỉ đạo chỉ số PGI trong năm 2026, hoàn thành trước ngày 20/7/2026 ."
    )
    kept = "Kết quả PGI năm 2023; Kế hoạch năm 2024 và những năm tiếp theo; mã 12024"
    assert in_cycle(kept, 2026, 2024) == kept
    assert in_cycle("báo cáo chậm nhất ngày 10/12/2024.", 2025, 2024) == (
        "báo cáo chậm nhất ngày 10/12/2025."
    )
