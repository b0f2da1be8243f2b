"""The console channel: talk to the bot in a terminal, on the same database.

Usage::

    pgibot console --as AB12CD34        # register with an invitation code, then chat
    pgibot console --as "Nguyễn Văn A"  # chat as a registered member (name or id)

Choices are printed as numbered lines; answer with the number. ``/thoat`` or Ctrl-D quits.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from bot.core.i18n import _
from bot.core.messages import Incoming, Reply, numbered_text

QUIT_COMMANDS = {"/thoat", "/quit", "/exit"}


class ConsoleChannel:
    """One terminal user talking to the router."""

    def __init__(
        self,
        handle: Callable[[Incoming], Awaitable[list[Reply]]],
        *,
        user_id: str | None = None,
        display_name: str | None = None,
        stdin: TextIO = sys.stdin,
        stdout: TextIO = sys.stdout,
        files_dir: Path = Path("data") / "exports",
    ) -> None:
        self._handle = handle
        self.files_dir = files_dir
        self.user_id = user_id or f"guest-{secrets.token_hex(4)}"
        self.display_name = display_name
        self._stdin, self._stdout = stdin, stdout
        self._sequence = 0
        self.session = uuid.uuid4().hex[:16]
        """Makes this session's update ids its own: line 3 of a later session is a new update."""

    async def say(self, text: str) -> None:
        """Send one line as the user and print the bot's answers."""
        self._sequence += 1
        incoming = Incoming(
            channel="console",
            chat_id=self.user_id,
            user_id=self.user_id,
            update_id=f"{self.user_id}:{self.session}:{self._sequence}",
            text=text,
            display_name=self.display_name,
        )
        for reply in await self._handle(incoming):
            self._print(reply)

    def _print(self, reply: Reply) -> None:
        lines = numbered_text(reply).splitlines() or [""]
        for file in reply.files:
            target = self.files_dir / file.file_name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.content)
            lines.append(_("[file saved: %(path)s]") % {"path": target})
        self._stdout.write("bot> " + "\n     ".join(lines) + "\n")
        self._stdout.flush()

    async def run(self, first: str | None = None) -> None:
        """Read lines until end of input or a quit command."""
        self._stdout.write(_("PGI bot console. Type a message or a command; /thoat quits.") + "\n")
        if first:
            self._stdout.write(f"> {first}\n")
            await self.say(first)
        while True:
            self._stdout.write("> ")
            self._stdout.flush()
            line = await asyncio.to_thread(self._stdin.readline)
            if not line:
                self._stdout.write("\n")
                break
            text = line.rstrip("\n")
            if not self._stdin.isatty():
                self._stdout.write(text + "\n")  # keep a piped session readable
            if text.strip().lower() in QUIT_COMMANDS:
                break
            await self.say(text)
        self._stdout.write(_("Goodbye.") + "\n")
        self._stdout.flush()
