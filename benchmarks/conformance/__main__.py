"""Run the cache-tests suite against CacheMiddleware and print it beside the published caches.

    python -m benchmarks.conformance --suite PATH     # or CACHE_TESTS=PATH
    python -m benchmarks.conformance --suite PATH --config standard --id freshness-max-age

PATH is a checkout of https://github.com/http-tests/cache-tests; it is
copied to a temporary folder and its dependencies installed there (npm).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks.conformance import causes, proxy, report, suite


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.conformance")
    parser.add_argument(
        "--suite",
        type=Path,
        default=os.environ.get("CACHE_TESTS"),
        help="a cache-tests checkout (default: $CACHE_TESTS)",
    )
    parser.add_argument(
        "--config",
        choices=[*proxy.CONFIGS, "all"],
        default="all",
        help="the middleware configuration to test (default: all)",
    )
    parser.add_argument("--id", default="", help="run one test and print its exchange")
    parser.add_argument(
        "--save", type=Path, help="a folder to write each configuration's raw results to"
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="FOLDER",
        help="print the report of results saved earlier with --save, without running",
    )
    args = parser.parse_args()
    if args.suite is None:
        parser.error("name the cache-tests checkout: --suite PATH or CACHE_TESTS=PATH")
    args.suite = suite.check_suite(args.suite)
    return args


async def _run(copy: Path, config: proxy.ProxyConfig, test_id: str) -> str:
    """Run the client through the proxy in ``config``; return the client's stdout."""
    async with (
        suite.origin_server(copy) as origin,
        proxy.serve(config, origin, suite.free_port()) as base,
    ):
        out, err = await suite.run_client(copy, base, test_id)
    if err.strip():
        print(err.strip(), file=sys.stderr)
    return out


def _rows(
    data: dict[str, Any], key: str, configs: list[proxy.ProxyConfig], others: list[Any]
) -> list[report.Row]:
    """Return the table rows: this project's configurations, then the published caches."""
    tests, classified = data["tests"], list(data[key].values())
    rows = [
        report.tally(f"**cache ({config.name})**", tests, result)
        for config, result in zip(configs, classified[: len(configs)], strict=True)
    ]
    rows += [
        report.tally(f"{item['name']} {item.get('version', '')}".strip(), tests, result)
        for item, result in zip(others, classified[len(configs) :], strict=True)
    ]
    return rows


def _print_report(
    args: argparse.Namespace, configs: list[proxy.ProxyConfig], files: list[Path]
) -> None:
    index = suite.classify(args.suite, [])["published"]
    others = [item for item in index if item.get("type") != "browser"]
    published = [args.suite / "results" / item["file"] for item in others]
    data = suite.classify(args.suite, [*files, *published])
    print("\nBy the suite's rules (a test whose prerequisites failed is a dependency failure):\n")
    print(report.format_table(_rows(data, "results", configs, others)))
    print("\nEach test judged on its own (depends_on ignored):\n")
    print(report.format_table(_rows(data, "alone", configs, others)))
    for config, path in zip(configs, files, strict=True):
        raw = json.loads(path.read_text())
        failed = report.failures(
            data["tests"], data["results"][str(path)], data["alone"][str(path)], raw
        )
        counted = {f.test_id: f.counted_as for f in failed}
        print(
            f"\nRequired tests failing on their own, {config.name} ({config.description}): "
            f"{len(failed)}; counted by the suite's rules as fail / setup fail / dependency "
            "fail (f / s / d)"
        )
        grouped = causes.group((f.test_id, f.message) for f in failed)
        for cause, ids in grouped.items():
            print(f"\n  {cause.name} ({len(ids)}): {cause.why}")
            for test_id in ids:
                print(f"    {test_id} ({counted[test_id][0]})")
        for failure in failed:
            if failure.test_id in grouped.get(causes.UNCLASSIFIED, []):
                print(f"  unclassified: {failure.test_id}: {failure.message}")
        _print_blockers(data, data["results"][str(path)], raw)


def _print_blockers(data: dict[str, Any], results: dict[str, str], raw: dict[str, Any]) -> None:
    """Print the prerequisites that did not pass, with the number of tests each one hides."""
    kinds = {test["id"]: test["kind"] for test in data["tests"]}
    print("\n  prerequisites that did not pass (tests they turn into dependency failures):")
    for test_id, hidden in report.blockers(data["tests"], results).most_common():
        detail = raw.get(test_id)
        message = detail[1] if isinstance(detail, list) and len(detail) > 1 else results[test_id]
        print(f"    {test_id} ({kinds[test_id]}, {results[test_id]}): {hidden}; {message}")


def main() -> None:
    args = _arguments()
    configs = list(proxy.CONFIGS.values())
    if args.config != "all":
        configs = [proxy.CONFIGS[args.config]]
    if args.report:
        files = [args.report / f"cache-{config.name}.json" for config in configs]
        _print_report(args, configs, [path for path in files if path.is_file()])
        return
    with suite.working_copy(args.suite) as copy:
        if args.id:
            for config in configs:
                print(f"== {config.name}: {config.description}")
                print(asyncio.run(_run(copy, config, args.id)))
            return
        save = args.save or copy / "project-results"
        save.mkdir(parents=True, exist_ok=True)
        files = []
        for config in configs:
            print(f"running cache-tests through CacheMiddleware ({config.name}) ...", flush=True)
            path = save / f"cache-{config.name}.json"
            path.write_text(asyncio.run(_run(copy, config, "")))
            files.append(path)
        _print_report(args, configs, files)


if __name__ == "__main__":
    main()
