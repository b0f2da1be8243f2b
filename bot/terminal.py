"""The administrator's terminal in Vietnamese: argparse's own messages, log lines, file modes.

argparse writes "usage:", "options", "invalid choice: ..." through ``gettext`` functions it
imported into its module (``argparse._`` and ``argparse.ngettext``), which read gettext's
process-wide domain and the ``LANGUAGE`` variables. Rather than take over that global domain
or the environment, :func:`vietnamese_argparse` points those two names at a catalog of
argparse's messages (``locales/vi/LC_MESSAGES/argparse.po``, extracted from the running
Python's ``argparse.py`` by ``make catalog-update``) for as long as the parser is built and
used, and puts them back afterwards. Every message argparse has is translated, not only the
few a subclass could reach (``tests/test_cli.py`` checks the catalog against this Python's
argparse).
"""

from __future__ import annotations

import argparse
import gettext
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from bot.core.i18n import LOCALE_DIR, N_, CatalogError, _

logger = logging.getLogger(__name__)

ARGPARSE_DOMAIN = "argparse"
PRIVATE_UMASK = 0o077
"""Files the bot creates are readable by its own user only (0600), folders likewise (0700)."""

LEVEL_NAMES = {
    "DEBUG": N_("DEBUG"),
    "INFO": N_("INFO"),
    "WARNING": N_("WARNING"),
    "ERROR": N_("ERROR"),
    "CRITICAL": N_("CRITICAL"),
}


@cache
def _argparse_catalog(language: str) -> gettext.NullTranslations:
    po = LOCALE_DIR / language / "LC_MESSAGES" / f"{ARGPARSE_DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if not po.exists():
        return gettext.NullTranslations()
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        raise CatalogError(
            f"the catalog {po} is not compiled or older than its source; run `make catalog`"
        )
    with mo.open("rb") as handle:
        return gettext.GNUTranslations(handle)


def check_argparse_catalog(language: str = "vi") -> None:
    """Load argparse's catalog now, raising CatalogError when it is unusable."""
    _argparse_catalog(language)


@contextmanager
def vietnamese_argparse(language: str = "vi") -> Iterator[None]:
    """Let argparse speak the language while the block builds and runs a parser."""
    catalog = _argparse_catalog(language)
    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._ = catalog.gettext  # type: ignore[attr-defined]
    argparse.ngettext = catalog.ngettext  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


METAVARS = {
    "agency": N_("AGENCY"),
    "code": N_("CODE"),
    "cycle": N_("YEAR"),
    "days": N_("DAYS"),
    "file": N_("FILE"),
    "into": N_("CODE"),
    "name": N_("NAME"),
    "on": N_("DD/MM/YYYY"),
    "out": N_("FILE"),
    "plan": N_("FILE"),
    "revision": N_("REVISION"),
    "role": N_("ROLE"),
    "short_name": N_("SHORT-NAME"),
    "submissions": N_("COUNT"),
    "uses": N_("COUNT"),
}
"""Placeholders shown in the help for an argument without its own metavar, by its dest."""


class VietnameseHelpFormatter(argparse.HelpFormatter):
    """Help whose placeholders for values (``--name NAME``) are Vietnamese words."""

    def _get_default_metavar_for_optional(self, action: argparse.Action) -> str:
        known = METAVARS.get(action.dest)
        return _(known) if known else super()._get_default_metavar_for_optional(action)

    def _get_default_metavar_for_positional(self, action: argparse.Action) -> str:
        known = METAVARS.get(action.dest)
        return _(known) if known else super()._get_default_metavar_for_positional(action)


class VietnameseFormatter(logging.Formatter):
    """Log lines with the level named in Vietnamese and the time as dd/mm/yyyy HH:MM:SS."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%d/%m/%Y %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        """Format a record in Vietnamese: its level, and its message when the catalog has it.

        The messages of the project's ``logger.info/warning/error/exception/critical`` calls
        are extracted into the catalog (``make catalog-extract``); a library's, or one whose
        secrets were cut out (see ``bot.channels.redaction``), is shown as it came.
        """
        original, message = record.levelname, record.msg
        record.levelname = _(LEVEL_NAMES.get(original, original))
        if isinstance(message, str) and message:
            record.msg = _(message)
        try:
            return super().format(record)
        finally:
            record.levelname, record.msg = original, message


def make_private(data_dir: Path) -> None:
    """Create every file and folder from now on for the service's user only.

    The process umask becomes 077: the SQLite file with its ``-wal``/``-shm``, evidence files
    and exports are 0600, folders 0700. A data folder that exists already is closed to
    others as well, which covers the files an earlier version left readable inside it.
    """
    os.umask(PRIVATE_UMASK)
    try:
        if data_dir.is_dir() and data_dir.stat().st_mode & 0o077:
            data_dir.chmod(0o700)
    except OSError as error:  # not the service's own folder: say so, and go on
        logger.warning(
            _("Could not close the data folder %(path)s to other users: %(error)s"),
            {"path": data_dir, "error": error.strerror or error},
        )
