"""The baseline: a minimal echo bot on python-telegram-bot, run by the intake benchmark.

It answers every text with the same text and every button press by answering the query and
editing the message, as pgibot does, but keeps nothing: the gap between its figures and
pgibot's is what pgibot's own work (the inbox, the database, the conversation) costs.

Usage (as the benchmark runs it)::

    TELEGRAM_BOT_TOKEN=... TELEGRAM_API_BASE_URL=... python -m benchmarks.echo_bot
    ... python -m benchmarks.echo_bot --as-pgibot   # pgibot's transport (aiohttp) and uvloop

The first is python-telegram-bot as it comes (httpx, asyncio); the second gives the echo bot
the HTTP transport and event loop pgibot runs on, so that comparing pgibot with it shows the
cost of pgibot's own work alone.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("PTB_TIMEDELTA", "true")

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the text back."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(update.effective_message.text or "tệp")


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the query and edit the message with the button's data."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    await query.edit_message_text(f"{query.data} #{update.update_id}")


def main() -> None:
    """Poll the Bot API until SIGTERM."""
    builder = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_BASE_URL"])
        .base_file_url(os.environ["TELEGRAM_API_FILE_URL"])
    )
    if "--as-pgibot" in sys.argv[1:]:
        import uvloop

        from bot.channels.telegram_http import AiohttpRequest

        uvloop.install()
        builder = builder.request(
            AiohttpRequest(connection_pool_size=16, read_timeout=30, write_timeout=60)
        ).get_updates_request(AiohttpRequest(connection_pool_size=1, read_timeout=35))
    application = builder.build()
    application.add_handler(MessageHandler(filters.ALL, echo))
    application.add_handler(CallbackQueryHandler(pressed))
    application.run_polling(allowed_updates=["message", "callback_query"], timeout=25)


if __name__ == "__main__":
    main()
