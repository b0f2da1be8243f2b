"""The router: one entry point for every channel, from an Incoming to the Replies to send.

Every update is checked afresh: who the sender is, whether they are active, whether their
role may use the command, whether a pressed choice belongs to the conversation they are in.
Conversation state is read from and written to the database in the same short transaction.

The conversations come in through the constructor (by default ``CONVERSATIONS``, from
``handlers/conversations.py``): their commands and button prefixes, and the steps that take
typed text and files. The router itself only answers ``/trogiup``, ``/huy``, strangers and
groups.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from bot.core.clock import Clock
from bot.core.domain.conversation import ConversationState
from bot.core.i18n import N_, _, set_language
from bot.core.messages import FileSource, Incoming, Reply, reply_to_payload
from bot.core.text import normalize, strip_controls
from bot.core.validation import xml_compatible
from handlers import evidence, linking, replies
from handlers.context import EVERYONE, BotInfo, ChoiceHandler, Command, Context
from handlers.conversation import Conversation
from handlers.conversations import CONVERSATIONS
from handlers.help import help_reply
from handlers.numbered import remember_choices, typed_choice
from handlers.registration import looks_like_code, register, welcome_stranger
from handlers.reminders import Reminders
from storage.db import Database, DatabaseError, DatabaseUnavailable, database_unavailable
from storage.inbox import InboxEntry
from storage.outbox import HeldReply
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

MAX_TEXT = 4000
"""Longest text accepted from a user in any message; steps may set lower limits."""


class ProcessedBefore(Exception):
    """An inbox entry of a batch was already processed (its earlier commit did go through)."""


class EarlierWaiting(Exception):
    """Earlier updates of a chat in hand wait in the inbox: they must be handled first.

    Another instance recorded them and has not handled them yet (see
    :meth:`storage.inbox.InboxRepository.chat_turn`). Nothing of the transaction was kept;
    ``answered`` holds the replies of the updates handled before it, in order.
    """

    def __init__(self, entries: Sequence[InboxEntry]) -> None:
        super().__init__(f"{len(entries)} earlier update(s) of the chat wait")
        self.entries = list(entries)
        self.answered: list[list[Reply]] = []


@dataclass(frozen=True, slots=True)
class Inbound:
    """An update to handle, and the inbox entry it came from (if it came through the inbox)."""

    incoming: Incoming
    inbox_id: int | None = None


class Router:
    """Turn each Incoming into Replies, with the member, permissions and state checked."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        bot: BotInfo | None = None,
        reminders: Reminders | None = None,
        *,
        conversations: Sequence[Conversation] = CONVERSATIONS,
        on_outbox: Callable[[], None] = lambda: None,
        replies_claimant: str | None = None,
    ) -> None:
        """Register the conversations' commands and buttons, then ``/trogiup`` and ``/huy``.

        Raises:
            ValueError: A command or a button prefix is declared twice.
        """
        self._database = database
        self.reminders = reminders or Reminders()
        self.on_outbox = on_outbox
        """Called after a handler put messages in the outbox (the wiring wakes the worker)."""
        self.replies_claimant = replies_claimant
        """When set (this instance's id), the replies to inbox updates are written to the
        outbox in the transaction that handled them, claimed by this instance: see
        :meth:`_hold`."""
        self.held: dict[int, list[int]] = {}
        """The outbox ids of the replies held for each inbox entry handled (committed); the
        channel takes them and marks them sent once it has sent the replies."""
        self._clock = clock
        self.bot_info = bot or BotInfo()
        self.conversations = tuple(conversations)
        self.commands: dict[str, Command] = {}
        self.choices: dict[str, ChoiceHandler] = {}
        for conversation in self.conversations:
            for command in conversation.commands:
                self.add_command(command)
            for prefix, handler in conversation.buttons.items():
                if prefix in self.choices:
                    raise ValueError(f"button prefix {prefix!r} is declared twice")
                self.choices[prefix] = handler
        self.add_command(Command("trogiup", N_("this help"), EVERYONE, self._help))
        self.add_command(Command("huy", N_("cancel what you are doing"), EVERYONE, self._cancel))

    def add_command(self, command: Command) -> None:
        """Register one more command (tests add theirs); a name is registered once only."""
        if command.name in self.commands:
            raise ValueError(f"command /{command.name} is declared twice")
        self.commands[command.name] = command

    def _owner(self, state: ConversationState) -> Conversation | None:
        """Return the conversation whose step the chat is at, if any."""
        return next((c for c in self.conversations if c.owns(state)), None)

    def _awaits_file(self, state: ConversationState) -> bool:
        return any(c.awaits_file(state) for c in self.conversations)

    async def handle(
        self,
        incoming: Incoming,
        *,
        files: FileSource | None = None,
        inbox_id: int | None = None,
    ) -> list[Reply]:
        """Process one update in one transaction and return what to send back.

        When the update came through the inbox, it is marked processed in the same
        transaction as everything it changed, so a crash never half-applies it. An
        unexpected fault rolls everything back, counts a failed attempt and apologises.
        """
        set_language("vi")
        incoming = self._clean(incoming)
        if incoming.file is not None and files is not None:  # downloaded before the transaction
            files = await evidence.prefetch(
                self._database, incoming, files, self.bot_info, awaiting=self._awaits_file
            )
        try:
            async with UnitOfWork(self._database) as uow:
                if inbox_id is not None:
                    await self._take_turn(uow, [Inbound(incoming, inbox_id)])
                if inbox_id is not None and not await uow.inbox.claim(
                    [inbox_id], self._clock.now()
                ):
                    logger.info("update %s was processed before; skipped", incoming.update_id)
                    return []  # e.g. a batch whose commit went through but was reported failed
                answer, queued = await self._handle(uow, incoming, files)
                held = await self._hold(uow, incoming, inbox_id, answer)
                await uow.commit()
            if held:
                self.held[held[0]] = held[1]
            if queued:
                self.on_outbox()
            return answer
        except EarlierWaiting:
            raise
        except Exception as error:
            if inbox_id is not None and database_unavailable(error):
                # Kept in the inbox: the channel handles it again once the database is back.
                raise DatabaseUnavailable(type(error).__name__) from error
            logger.exception("update %s from %s failed", incoming.update_id, incoming.user_id)
            if inbox_id is not None:
                try:
                    async with UnitOfWork(self._database) as uow:
                        await uow.inbox.mark_failed(inbox_id, repr(error), self._clock.now())
                        await uow.commit()
                except (DatabaseError, OSError) as db_error:  # retried at the next start
                    logger.warning(
                        "update %s stays in the inbox: %s",
                        incoming.update_id,
                        type(db_error).__name__,
                    )
            return [replies.error()]

    async def handle_batch(
        self,
        updates: Sequence[Inbound],
        *,
        files: FileSource | None = None,
        done: Sequence[int] = (),
    ) -> list[list[Reply]]:
        """Process several updates of the inbox in one transaction; return each one's replies.

        This is the group commit of the inbox worker: the updates are handled one after the
        other exactly as :meth:`handle` would, but the transaction is begun and committed
        once, and ``done`` (inbox entries with nothing to handle) are marked processed with
        them. If any update fails, nothing of the batch is kept and every update is handled
        again on its own, so that only the faulty one is counted as failed.
        """
        if len(updates) == 1 and not done:
            only = updates[0]
            return [await self.handle(only.incoming, files=files, inbox_id=only.inbox_id)]
        set_language("vi")
        cleaned = [self._clean(update.incoming) for update in updates]
        processed = [*done, *(u.inbox_id for u in updates if u.inbox_id is not None)]
        try:
            async with UnitOfWork(self._database) as uow:
                uow.shared = True
                await self._take_turn(uow, updates, done)
                if await uow.inbox.claim(processed, self._clock.now()) < len(processed):
                    raise ProcessedBefore  # some were: one by one, each checks for itself
                answers: list[list[Reply]] = []
                held: list[tuple[int, list[int]]] = []
                queued = False
                for update, incoming in zip(updates, cleaned, strict=True):
                    answer, more = await self._handle(uow, incoming, files)
                    answers.append(answer)
                    queued = queued or more
                    if kept := await self._hold(uow, incoming, update.inbox_id, answer):
                        held.append(kept)
                await uow.commit()
        except EarlierWaiting:
            raise
        except Exception as error:
            logger.info("a batch of %d updates failed (%r); one by one", len(updates), error)
        else:
            self.held.update(held)
            if queued:
                self.on_outbox()
            return answers
        try:
            if done:
                async with UnitOfWork(self._database) as uow:
                    await uow.inbox.claim(done, self._clock.now())
                    await uow.commit()
        except Exception as error:
            if database_unavailable(error):
                raise DatabaseUnavailable(type(error).__name__) from error
            raise
        answers = []
        for update in updates:
            try:
                answers.append(
                    await self.handle(update.incoming, files=files, inbox_id=update.inbox_id)
                )
            except (DatabaseUnavailable, EarlierWaiting) as away:  # the ones before: answered
                away.answered = answers
                raise
        return answers

    async def _hold(
        self, uow: UnitOfWork, incoming: Incoming, inbox_id: int | None, answer: list[Reply]
    ) -> tuple[int, list[int]] | None:
        """Write an update's replies to the outbox, claimed by this instance; return their ids.

        Only with a ``replies_claimant`` and for an update from the inbox. A reply with files
        is not held (the files are made in memory): an export lost in a crash is asked for
        again. The ids go to :attr:`held` after the commit.
        """
        claimant = self.replies_claimant
        if claimant is None or inbox_id is None:
            return None
        held = [
            HeldReply(
                incoming.channel,
                incoming.chat_id,
                f"reply:{incoming.channel}:{inbox_id}:{position}",
                reply_to_payload(reply),
            )
            for position, reply in enumerate(answer)
            if not reply.files
        ]
        if not held:
            return None
        return inbox_id, await uow.outbox.hold(held, self._clock.now(), claimant)

    async def _take_turn(
        self, uow: UnitOfWork, updates: Sequence[Inbound], done: Sequence[int] = ()
    ) -> None:
        """Take the turn of the updates' chats; raise EarlierWaiting if earlier ones wait.

        One chat's updates are handled in the order they were recorded, whichever instance
        recorded them (see :meth:`storage.inbox.InboxRepository.chat_turn`).
        """
        entries = [(u.incoming.chat_id, u.inbox_id) for u in updates if u.inbox_id is not None]
        if entries:
            earlier = await uow.inbox.chat_turn(updates[0].incoming.channel, entries, done)
            if earlier:
                raise EarlierWaiting(earlier)

    async def _handle(
        self, uow: UnitOfWork, incoming: Incoming, files: FileSource | None
    ) -> tuple[list[Reply], bool]:
        channel = incoming.channel
        member, state = await uow.members.in_chat(channel, incoming.user_id, incoming.chat_id)
        if member is not None:
            await uow.members.mark_reachable(channel, incoming.user_id)
        if state is None:
            state = await uow.conversations.get(channel, incoming.chat_id)
        ctx = Context(
            incoming,
            uow,
            self._clock,
            self.bot_info,
            member,
            state,
            files,
            reminders=self.reminders,
        )
        ctx.incoming = await typed_choice(uow, incoming, state)
        before = ctx.state
        answer = await self._dispatch(ctx)
        owner = self._owner(ctx.state)
        if (
            owner is not None
            and owner.current_question is not None
            and ctx.state == before
            and member is not None
            and member.active
            and self._aside(ctx.incoming, owner)
        ):
            answer = await self._back_to_question(ctx, answer, owner.current_question)
        new_state = remember_choices(before, ctx.state, answer, self._clock.now())
        if new_state != before:
            await uow.conversations.set(
                incoming.channel, incoming.chat_id, new_state, self._clock.now()
            )
        return answer, ctx.queued

    def _aside(self, incoming: Incoming, owner: Conversation) -> bool:
        """Tell whether an update was handled outside the conversation's steps.

        A command is an aside, and so is a button that does not answer a step of the
        conversation the chat is in (another message's "Xem", a reminder's "Báo cáo ngay").
        """
        if incoming.command is not None:
            return True
        prefix = (incoming.payload or "").partition(":")[0]
        return (
            incoming.payload is not None
            and prefix in self.choices
            and prefix not in owner.step_buttons
        )

    @staticmethod
    async def _back_to_question(
        ctx: Context, answer: list[Reply], question: Callable[[Context], Awaitable[Reply]]
    ) -> list[Reply]:
        """After a side command in the middle of a conversation, ask its question again.

        The side command's own choices stay buttons, but are not numbered on channels
        without buttons: a typed number answers the conversation's question.
        """
        aside = [replace(reply, numbered=False, edit=False) for reply in answer]
        return [*aside, await question(ctx)]

    @staticmethod
    def _clean(incoming: Incoming) -> Incoming:
        """Normalise what the user typed; drop characters no database, platform or file takes.

        This is the one door of all incoming text (answers, names, notices, reasons, file
        names, button payloads): what XML 1.0 forbids (see :func:`xml_compatible`) never
        gets further, so every text can go into a .docx or .xlsx.
        """
        text = incoming.text
        if text is not None:
            text = xml_compatible(text)
            text = normalize(text) if text.strip() else ""
        file = incoming.file
        if file is not None:
            name = file.file_name
            file = replace(
                file,
                file_id=xml_compatible(file.file_id),
                file_name=strip_controls(xml_compatible(name)) if name is not None else None,
            )
        payload = incoming.payload
        display_name = incoming.display_name
        return replace(
            incoming,
            text=text,
            payload=strip_controls(xml_compatible(payload)) if payload is not None else None,
            display_name=(
                normalize(xml_compatible(display_name)) if display_name is not None else None
            ),
            file=file,
        )

    async def _dispatch(self, ctx: Context) -> list[Reply]:
        incoming = ctx.incoming
        text = incoming.text
        if not incoming.is_private:
            return self._group(ctx)
        if text is not None and len(text) > MAX_TEXT:
            return [replies.too_long(MAX_TEXT)]
        if ctx.member is None:
            return await self._stranger(ctx)
        if not ctx.member.active:
            return [replies.deactivated()]
        command = incoming.command
        if command is not None:
            return await self._command(ctx, command)
        if incoming.payload is not None:
            return await self._choice(ctx, incoming.payload)
        owner = self._owner(ctx.state)
        if incoming.file is not None:
            if owner is not None and owner.on_file is not None:
                return await owner.on_file(ctx, incoming.file)
            return [replies.unsupported_file()]
        if not text:
            return [replies.empty_text()]
        if owner is not None and owner.on_text is not None:
            return await owner.on_text(ctx, text)
        return [replies.idle_text()]

    @staticmethod
    def _group(ctx: Context) -> list[Reply]:
        """Say once in a group that the bot works in private chats; then stay silent."""
        if ctx.state.state == "group":
            return []
        ctx.state = ConversationState("group")
        platform = ctx.bot.platform(ctx.incoming.channel)
        return [replies.private_only(platform.chat_link if platform else None)]

    async def _stranger(self, ctx: Context) -> list[Reply]:
        incoming = ctx.incoming
        if incoming.command == "start" and incoming.argument:
            return await register(ctx, incoming.argument)
        if incoming.command == "lienket" and incoming.argument:
            return await linking.link(ctx)
        if incoming.command is None and incoming.text and looks_like_code(incoming.text):
            return await register(ctx, incoming.text)
        coordinator = await ctx.uow.plans.coordinator_name(ctx.today()) or _(
            "the coordinating agency"
        )
        if incoming.command == "start":
            return [welcome_stranger(coordinator)]
        return [replies.not_registered(coordinator)]

    async def _command(self, ctx: Context, name: str) -> list[Reply]:
        member = ctx.require_member()
        command = self.commands.get(name)
        if command is None:
            return [replies.unknown_command(name[:32])]
        if member.role not in command.roles:
            return replies.refused(ctx, name)
        return await command.handler(ctx)

    async def _choice(self, ctx: Context, payload: str) -> list[Reply]:
        """Hand a pressed choice to the handler of its prefix; anything else is stale."""
        prefix, _sep, argument = payload.partition(":")
        handler = self.choices.get(prefix)
        if handler is None:
            logger.info("stale choice %r from %s", payload[:64], ctx.incoming.user_id)
            return [replies.stale_choice()]
        return await handler(ctx, argument)

    async def _help(self, ctx: Context) -> list[Reply]:
        return help_reply(ctx, list(self.commands.values()))

    async def _cancel(self, ctx: Context) -> list[Reply]:
        if ctx.state.state == "idle":
            return [replies.nothing_to_cancel()]
        ctx.reset()
        return [replies.cancelled()]
