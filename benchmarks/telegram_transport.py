"""Benchmark: a sendMessage through python-telegram-bot, over httpx and over aiohttp.

Usage::

    python -m benchmarks.telegram_transport [--messages 500]

Both transports talk to the test suite's fake Bot API in the same process, on uvloop, so the
figure is the client's cost plus the fake server's (the same for both). Prints milliseconds per
message for each transport.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("PTB_TIMEDELTA", "true")

import uvloop
from telegram import Bot
from telegram.request import BaseRequest, HTTPXRequest

from benchmarks.harness import machine
from bot.channels.telegram_http import AiohttpRequest
from tests.fakes.telegram_api import FakeTelegram


async def run(messages: int) -> dict[str, object]:
    """Send ``messages`` messages through each transport, twice; keep the second round."""
    figures: dict[str, object] = {"machine": machine(), "messages": messages}
    async with FakeTelegram(token="1:BENCH") as fake:
        transports: dict[str, BaseRequest] = {
            "httpx": HTTPXRequest(connection_pool_size=16),
            "aiohttp": AiohttpRequest(connection_pool_size=16),
        }
        for name, request in transports.items():
            bot = Bot("1:BENCH", base_url=fake.base_url, request=request)
            await bot.initialize()
            for _round in range(2):  # the first warms up the connection and the caches
                started = time.perf_counter()
                for n in range(messages):
                    await bot.send_message(5, f"Tin nhắn thử số {n}")
                elapsed = time.perf_counter() - started
            figures[f"{name}_ms_per_message"] = round(elapsed / messages * 1000, 3)
            await bot.shutdown()
    return figures


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=500)
    args = parser.parse_args(argv)
    figures = uvloop.run(run(args.messages))
    json.dump(figures, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
