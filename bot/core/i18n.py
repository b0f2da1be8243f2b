"""Translations and Vietnamese formatting of dates, times and numbers.

Source strings are English in the code and Vietnamese in ``locales/vi/LC_MESSAGES/bot.po``.
The current language lives in a ``ContextVar``, so ``_()`` takes no language argument. Mark
module-level strings with ``N_()`` and translate them with ``_()`` where they are shown. Use
named placeholders (``_("Hello %(name)s") % {"name": name}``), never f-strings inside ``_()``.
"""

from __future__ import annotations

import gettext as _gettext
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from math import ceil
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date as _babel_format_date
from babel.numbers import format_decimal

DOMAIN = "bot"
DEFAULT_LANGUAGE = "vi"
DEFAULT_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
LOCALE_DIR = Path(__file__).resolve().parents[2] / "locales"

_language: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)
_timezone: ContextVar[ZoneInfo] = ContextVar("timezone", default=DEFAULT_TIMEZONE)


class CatalogError(RuntimeError):
    """The translation catalog is missing or was not compiled."""


@cache
def _translations(language: str, locale_dir: Path) -> _gettext.NullTranslations:
    po = locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if not po.exists():
        return _gettext.NullTranslations()
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        raise CatalogError(
            f"the catalog {po} is not compiled or older than its source; run `make catalog`"
        )
    with mo.open("rb") as handle:
        return _gettext.GNUTranslations(handle)


def check_catalog(language: str = DEFAULT_LANGUAGE) -> None:
    """Load the catalog for a language now, raising CatalogError when it is unusable."""
    _translations(language, LOCALE_DIR)


def set_language(language: str) -> None:
    """Set the language of the current context (one update, one job)."""
    _language.set(language)


def set_timezone(zone: ZoneInfo) -> None:
    """Set the time zone dates and times are shown in."""
    _timezone.set(zone)


def current_timezone() -> ZoneInfo:
    """Return the time zone dates and times are shown in."""
    return _timezone.get()


def _(message: str) -> str:
    """Translate a message into the current language."""
    return _translations(_language.get(), LOCALE_DIR).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """Translate a message whose form depends on a count."""
    return _translations(_language.get(), LOCALE_DIR).ngettext(singular, plural, count)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a message for extraction without translating it yet."""
    return message


def format_day(day: date) -> str:
    """Write a date the Vietnamese way, with its weekday: ``thứ Ba, 10/12/2024``."""
    weekday = _babel_format_date(day, "EEEE", locale=_language.get())
    if weekday.startswith("Thứ "):
        weekday = "thứ " + weekday[4:]
    elif weekday.lower().startswith("chủ nhật"):
        weekday = "Chủ nhật"
    return f"{weekday}, {day:%d/%m/%Y}"


def format_moment(moment: datetime) -> str:
    """Write an aware moment as local time and date: ``08:05, thứ Ba, 10/12/2024``."""
    local = moment.astimezone(_timezone.get())
    return f"{local:%H:%M}, {format_day(local.date())}"


def format_timestamp(moment: datetime) -> str:
    """Write an aware moment as a local date and time, for lists: ``10/12/2024 08:05``."""
    return f"{moment.astimezone(_timezone.get()):%d/%m/%Y %H:%M}"


def format_score(value: float) -> str:
    """Write a score with a decimal comma: ``4,84``."""
    return format_decimal(value, format="#,##0.00", locale=_language.get())


def format_size(size: int, *, round_up: bool = False) -> str:
    """Write a file size the Vietnamese way: ``0 B``, ``512 B``, ``1,5 KB``, ``20 MB``.

    ``round_up`` rounds up to the tenth shown, so that a size over a limit never reads as
    the limit itself (``20,1 MB``, not ``20 MB``).
    """
    language = _language.get()
    if size < 1024:
        return f"{format_decimal(size, format='#,##0', locale=language)} B"
    value = size / 1024
    unit = "KB"
    if value >= 1024:
        value, unit = value / 1024, "MB"
    if round_up:
        value = ceil(value * 10) / 10
    return f"{format_decimal(value, format='#,##0.#', locale=language)} {unit}"


def format_percent(value: int) -> str:
    """Write a whole percentage: ``75%``."""
    return f"{value}%"
