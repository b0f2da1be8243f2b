"""Platform-neutral types and text helpers."""

from __future__ import annotations

import json
import unicodedata

import pytest

from bot.core.messages import Choice, Incoming, Reply, numbered_text
from bot.core.text import fold, normalize, split_message


def test_commands_and_arguments_are_parsed() -> None:
    message = Incoming("memory", "1", "1", text="/Start@pgi_bot  AB12CD34 ")
    assert message.command == "start"
    assert message.argument == "AB12CD34"
    assert Incoming("memory", "1", "1", text="xin chào").command is None
    assert Incoming("memory", "1", "1", text="/").command is None


def test_choice_payloads_fit_telegram_callback_data() -> None:
    Choice("Hoàn thành", "s:" + "x" * 62)
    with pytest.raises(ValueError, match="64 bytes"):
        Choice("Hoàn thành", "đ" * 33)  # 66 bytes in UTF-8


def test_numbered_text_for_channels_without_buttons() -> None:
    reply = Reply("Chọn:", ((Choice("Một", "a:1"), Choice("Hai", "a:2")), (Choice("Ba", "a:3"),)))
    assert numbered_text(reply) == "Chọn:\n\n1. Một\n2. Hai\n3. Ba"


def test_choices_not_to_be_numbered_are_left_to_button_channels() -> None:
    reply = Reply("Nhập tỷ lệ phần trăm:", ((Choice("0%", "p:0"), Choice("25%", "p:25")),))
    unnumbered = Reply(reply.text, reply.choices, numbered=False)
    assert numbered_text(unnumbered) == "Nhập tỷ lệ phần trăm:"
    assert unnumbered.flat_choices == reply.flat_choices  # buttons where there are buttons


def test_normalize_and_fold() -> None:
    decomposed = unicodedata.normalize("NFD", "Hoàn thành")
    assert normalize(f"  {decomposed}\u200b  ") == "Hoàn thành"
    assert fold("Đang triển khai") == "dang trien khai"
    assert fold(decomposed) == fold("HOÀN THÀNH") == "hoan thanh"


def test_split_message_at_line_boundaries() -> None:
    lines = [f"Dòng {n}: " + "nội dung " * 10 for n in range(50)]
    parts = split_message("\n".join(lines), 500)
    assert all(len(part) <= 500 for part in parts)
    assert "\n".join(parts) == "\n".join(lines)
    long_line = "từ " * 400
    pieces = split_message(long_line.strip(), 100)
    assert all(len(p) <= 100 for p in pieces)
    assert " ".join(pieces).split() == long_line.split()


def test_the_throttle_admits_a_burst_then_the_rate_and_warns_once_per_spell() -> None:
    from bot.core.throttle import FloodLimits, Throttle, Verdict

    now = [0.0]
    throttle = Throttle(FloodLimits(burst=3, rate=1.0, warn_interval=60), lambda: now[0])
    verdicts = [throttle.admit("u") for _ in range(6)]
    assert verdicts == [Verdict.ADMIT] * 3 + [Verdict.WARN, Verdict.DROP, Verdict.DROP]
    assert throttle.admit("other") is Verdict.ADMIT  # one user's flood is one user's
    now[0] = 1.0
    assert throttle.admit("u") is Verdict.ADMIT  # a token refilled
    assert throttle.admit("u") is Verdict.DROP  # a new spell, but warned less than 60 s ago
    now[0] = 100.0
    assert [throttle.admit("u") for _ in range(4)] == [Verdict.ADMIT] * 3 + [Verdict.WARN]


def test_a_reply_stored_in_the_outbox_reads_back_the_same() -> None:
    from bot.core.messages import reply_from_payload, reply_to_payload

    reply = Reply(
        "Kính gửi đồng chí Nguyễn Văn An,\nĐề nghị đồng chí hoàn thành báo cáo.",
        ((Choice("Báo cáo ngay: 1.1", "rp:7:123"), Choice("Báo cáo ngay: 1.2", "rp:7:124")),),
    )
    payload = reply_to_payload(reply)
    assert payload == {
        "text": reply.text,
        "choices": [
            [
                {"label": "Báo cáo ngay: 1.1", "payload": "rp:7:123"},
                {"label": "Báo cáo ngay: 1.2", "payload": "rp:7:124"},
            ]
        ],
    }  # the JSON in outbox rows already written: it must not change
    assert reply_from_payload(json.loads(json.dumps(payload))) == reply
    assert reply_from_payload({"text": "Tổng hợp"}) == Reply("Tổng hợp")  # no choices stored
