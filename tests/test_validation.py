"""The rules typed answers must meet (pure functions, no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.validation import has_content, means_nothing, xml_compatible, xml_forbidden


@pytest.mark.parametrize(
    "text",
    [
        "Đã rà soát 12 công trình cấp nước.",
        "Hoàn thành",
        "Đã xong",
        "Thiếu kinh phí",
        "ý kiến",
        "Đề nghị bổ sung 2,5 tỷ đồng.",
    ],
)
def test_an_answer_in_words_has_content(text: str) -> None:
    assert has_content(text)
    assert has_content(text, nothing_allowed=True)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "2",
        "5",
        "100",
        "12,5 %",
        "😀😀😀",
        "😀 😀",
        "...",
        "!!!",
        "?",
        "ok",
        "x y",
        "a a",
    ],
)
def test_digits_emoji_punctuation_or_one_short_word_have_none(text: str) -> None:
    assert not has_content(text)
    assert not has_content(text, nothing_allowed=True)


@pytest.mark.parametrize(
    "text", ["Không có", "không", "Không.", "chưa có", "KHÔNG CÓ GÌ", "khong co", "Chưa có!"]
)
def test_nothing_is_an_answer_only_where_it_is_allowed(text: str) -> None:
    assert means_nothing(text)
    assert has_content(text, nothing_allowed=True)
    assert not has_content(text)  # results cannot be "nothing"


def test_a_sentence_that_starts_with_no_is_not_nothing() -> None:
    assert not means_nothing("Không có kinh phí để sửa chữa công trình")
    assert has_content("Không có kinh phí để sửa chữa công trình")


@pytest.mark.parametrize(
    "char",
    ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\ufffe", "\uffff", chr(0xD800), chr(0xDFFF)],
)
def test_characters_xml_does_not_allow_are_removed(char: str) -> None:
    assert xml_forbidden(char)
    assert xml_compatible(f"Đã{char} xong") == "Đã xong"


@pytest.mark.parametrize("char", ["\t", "\n", "\r", " ", "ệ", "\ud7ff", "\ue000", "\ufffd", "😀"])
def test_characters_xml_allows_are_kept(char: str) -> None:
    assert not xml_forbidden(char)
    assert xml_compatible(char) == char


@given(st.text(st.characters(exclude_categories=())))
def test_what_is_left_is_always_xml_compatible(text: str) -> None:
    cleaned = xml_compatible(text)
    assert not any(xml_forbidden(ch) for ch in cleaned)
    assert all(ch in text for ch in cleaned)
