"""Rules about members, without a database: name keys, agency look-ups, who may change whom."""

from __future__ import annotations

import pytest

from bot.core.domain.members import (
    Change,
    NamedThing,
    Refusal,
    ascii_key,
    match_name,
    member_change_refusal,
    name_key,
    parse_role,
)

AGENCIES = [
    NamedThing(1, "sxd", "Sở Xây dựng", "Sở Xây dựng"),
    NamedThing(2, "stnmt", "Sở Tài nguyên và Môi trường", "Sở TN&MT"),
    NamedThing(3, "h-trang-dinh", "UBND huyện Tràng Định", "UBND huyện Tràng Định"),
    NamedThing(4, "h-dinh-lap", "UBND huyện Đình Lập", "UBND huyện Đình Lập"),
    NamedThing(5, "sgtvt", "Sở Giao thông vận tải", "Sở GTVT", active=False),
    NamedThing(6, "snnmt", "Sở Nông nghiệp và Môi trường", "Sở NN&MT", ("Sở Nông nghiệp",)),
]


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Đặng Văn Đức", "ĐẶNG VĂN ĐỨC"),
        ("Đặng Văn Đức", "  đặng   văn\tđức "),
        ("Ơn Thị Ăn", "ơn thị ăn"),
        ("Nguyễn Văn A", "Nguye\u0302\u0303n Văn A"),  # decomposed (NFD) input
    ],
)
def test_one_name_two_spellings_share_a_key(one: str, other: str) -> None:
    assert name_key(one) == name_key(other)


def test_the_key_keeps_diacritics_and_the_ascii_key_drops_them() -> None:
    assert name_key("Đặng Văn Đức") != name_key("Dang Van Duc")
    assert ascii_key("Đặng Văn Đức") == ascii_key("DANG VAN DUC") == "dang van duc"
    assert ascii_key("Sở Xây dựng") == "so xay dung"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("sxd", "sxd"),
        ("SXD", "sxd"),
        ("sở xây dựng", "sxd"),
        ("so xay dung", "sxd"),
        ("Sở TN&MT", "stnmt"),
        ("Tràng Định", "h-trang-dinh"),
        ("trang dinh", "h-trang-dinh"),
        ("Đình Lập", "h-dinh-lap"),
        ("Sở Giao thông vận tải", "sgtvt"),  # merged: still found, the caller follows it
        ("so nong nghiep", "snnmt"),  # a former name
    ],
)
def test_an_agency_is_found_as_people_type_it(typed: str, code: str) -> None:
    found = match_name(typed, AGENCIES).unique
    assert found is not None and found.code == code


def test_a_part_of_a_name_matches_whole_words_only() -> None:
    assert match_name("Định", AGENCIES).unique is not None  # only Tràng Định has the word
    assert match_name("inh", AGENCIES).found == ()


def test_a_name_that_fits_several_agencies_lists_the_active_ones() -> None:
    match = match_name("UBND huyện", AGENCIES)
    assert {t.code for t in match.found} == {"h-trang-dinh", "h-dinh-lap"}
    assert match.unique is None
    assert {t.code for t in match_name("Sở", AGENCIES).found} == {"sxd", "stnmt", "snnmt"}


def test_nothing_found_suggests_the_closest_names() -> None:
    match = match_name("Sở Xay dung moi", AGENCIES)
    assert match.found == ()
    assert match.suggestions and match.suggestions[0].code == "sxd"
    assert match_name("zzzz qqqq", AGENCIES).suggestions == ()
    assert match_name("   ", AGENCIES) == match_name("", AGENCIES)


@pytest.mark.parametrize(
    ("word", "role"),
    [
        ("canbo", "officer"),
        ("officer", "officer"),
        ("cán bộ", "officer"),
        ("LANHDAO", "leader"),
        ("leader", "leader"),
        ("dieuphoi", "coordinator"),
        ("điều phối", "coordinator"),
        ("coordinator", "coordinator"),
        ("quantri", "admin"),
        ("admin", "admin"),
        ("giamdoc", None),
    ],
)
def test_roles_have_one_command_word_and_aliases(word: str, role: str | None) -> None:
    assert parse_role(word) == role


def refusal(
    change: Change,
    actor: str | None,
    target: str,
    *,
    active: bool = True,
    new_role: str | None = None,
    admins: int = 2,
    self_change: bool = False,
) -> Refusal | None:
    return member_change_refusal(
        change,
        actor_role=actor,
        target_role=target,
        target_active=active,
        new_role=new_role,
        active_admins=admins,
        self_change=self_change,
    )


def test_nobody_acts_on_a_higher_role() -> None:
    assert refusal(Change.DEACTIVATE, "coordinator", "admin") is Refusal.HIGHER_ROLE
    assert refusal(Change.REINSTATE, "coordinator", "admin", active=False) is Refusal.HIGHER_ROLE
    assert refusal(Change.DEACTIVATE, "leader", "coordinator") is Refusal.HIGHER_ROLE
    assert refusal(Change.DEACTIVATE, "coordinator", "coordinator") is None
    assert refusal(Change.DEACTIVATE, "coordinator", "officer") is None
    assert refusal(Change.DEACTIVATE, "admin", "admin") is None


def test_nobody_gives_a_role_above_their_own() -> None:
    assert (
        refusal(Change.SET_ROLE, "coordinator", "officer", new_role="admin")
        is Refusal.ROLE_TOO_HIGH
    )
    assert refusal(Change.SET_ROLE, "coordinator", "officer", new_role="coordinator") is None
    assert refusal(Change.SET_ROLE, None, "officer", new_role="admin") is None  # the server


def test_the_last_active_admin_stays() -> None:
    assert refusal(Change.DEACTIVATE, None, "admin", admins=1) is Refusal.LAST_ADMIN
    assert (
        refusal(Change.SET_ROLE, None, "admin", new_role="coordinator", admins=1)
        is Refusal.LAST_ADMIN
    )
    assert refusal(Change.DEACTIVATE, None, "admin", admins=2) is None
    assert refusal(Change.SET_ROLE, None, "officer", new_role="admin", admins=1) is None


def test_nothing_to_do_and_oneself_are_refused() -> None:
    assert refusal(Change.REINSTATE, None, "officer") is Refusal.NOTHING_TO_DO
    assert refusal(Change.DEACTIVATE, None, "officer", active=False) is Refusal.NOTHING_TO_DO
    assert refusal(Change.SET_ROLE, None, "leader", new_role="leader") is Refusal.NOTHING_TO_DO
    assert (
        refusal(Change.DEACTIVATE, "coordinator", "coordinator", self_change=True) is Refusal.SELF
    )
