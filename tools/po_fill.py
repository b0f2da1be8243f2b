"""Fill msgstr entries of the Vietnamese catalog from a JSON file of {msgid: msgstr}.

A developer's helper for translating new strings without hand-editing the .po file:

    python tools/po_fill.py translations.json            # locales/vi/LC_MESSAGES/bot.po
    python tools/po_fill.py translations.json argparse   # another domain's catalog

Keys are msgids (for plural entries, the singular msgid); values are the Vietnamese text.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

MESSAGES = Path(__file__).resolve().parents[1] / "locales" / "vi" / "LC_MESSAGES"
CATALOG = MESSAGES / "bot.po"


def main(source: str, domain: str = "bot") -> int:
    """Apply the translations and report the ones that matched no msgid."""
    catalog_path = MESSAGES / f"{domain}.po"
    translations: dict[str, str] = json.loads(Path(source).read_text(encoding="utf-8"))
    with catalog_path.open("rb") as handle:
        catalog = read_po(handle)
    used = set()
    for message in catalog:
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        if key in translations:
            text = translations[key]
            message.string = (text,) if isinstance(message.id, tuple) else text
            message.flags.discard("fuzzy")
            used.add(key)
    with catalog_path.open("wb") as handle:
        write_po(handle, catalog, omit_header=False, no_location=True)
    for key in sorted(set(translations) - used):
        sys.stderr.write(f"no such msgid: {key!r}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:3]))
