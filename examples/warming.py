"""Cache warming: plain and async generators, a failure, a cron schedule."""

import asyncio
import datetime
import logging

from cache.advanced import CacheWarmer
from cache.backend import InMemoryCache


def generate_homepage() -> str:
    return "<h1>Home</h1>"


async def load_popular_posts() -> list[dict[str, object]]:
    await asyncio.sleep(0.01)  # an async data source
    return [{"id": 1, "title": "Hello"}]


def load_broken_widget() -> str:
    raise ConnectionError("recommendation service unreachable")


async def main() -> None:
    # Failures are logged with their traceback; here the summary below shows them.
    logging.getLogger("cache").setLevel(logging.ERROR)
    cache = InMemoryCache()
    warmer = CacheWarmer(cache)
    warmer.register_warming_task("page:home", generate_homepage, timeout=600, schedule="0 * * * *")
    warmer.register_warming_task("posts:popular", load_popular_posts, timeout=600)
    warmer.register_warming_task("widget:recs", load_broken_widget, timeout=60)
    cache.set("widget:recs", "<yesterday's widget>")

    summary = await warmer.warm_cache()
    for key, result in summary.items():
        print(f"  {key:14} ok={result['ok']!s:5} error={result['error']}")
    print("page:home ->", cache.get("page:home"))
    print("widget:recs kept its previous value ->", cache.get("widget:recs"))
    status = warmer.get_warming_status()["page:home"]
    next_run = datetime.datetime.fromtimestamp(status["next_run"], datetime.timezone.utc)
    print(f"page:home: runs={status['runs']} next scheduled run {next_run:%Y-%m-%d %H:%M} UTC")
    async with warmer:  # the schedule runs in the background while the app serves
        await asyncio.sleep(0.05)
    print("background schedule started and stopped")


asyncio.run(main())
