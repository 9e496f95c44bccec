#!/usr/bin/env python3
"""Drive N logged-in browser-like clients against a running Billcycle over real HTTP.

Each client logs in with its own session, then fetches the main pages in turn (home, bill runs,
one bill run, documents, accounts) as fast as the server answers, until the time is up. Prints
requests, errors (any exception, a status other than 200, or a bounce to the login page), the
error rate, throughput and latency percentiles. Standard library only, so it runs anywhere:

    python scripts/load_clients.py --url http://127.0.0.1:8000 --clients 8 --seconds 60

Results and the commands behind them: docs/benchmarks.md, "Web under 8 clients".
"""

import argparse
import http.cookiejar
import re
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter

PAGES = ["/", "/bill-runs/", "/bill-runs/{run}/", "/documents/", "/accounts/"]


class Client:
    def __init__(self, base: str, timeout: float):
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, path: str) -> tuple[int, str, str]:
        with self.opener.open(self.base + path, timeout=self.timeout) as response:
            return response.status, response.geturl(), response.read().decode("utf-8", "replace")

    def login(self, username: str, password: str) -> None:
        _, _, page = self.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if not token:
            raise RuntimeError("no CSRF token on the login page")
        data = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)}
        ).encode()
        request = urllib.request.Request(
            self.base + "/login/", data=data, headers={"Referer": self.base + "/login/"}
        )
        with self.opener.open(request, timeout=self.timeout) as response:
            if "/login/" in response.geturl():
                raise RuntimeError(f"login as {username} failed")


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def run_client(
    index: int, args, pages: list[str], deadline: float, results: list, errors: Counter, lock
) -> None:
    client = Client(args.url, args.timeout)
    try:
        client.login(args.username, args.password)
    except Exception as error:  # a failed login is one error; the client stops
        with lock:
            errors[f"login: {type(error).__name__}: {error}"[:120]] += 1
        return
    turn = index  # clients start on different pages
    while time.monotonic() < deadline:
        path = pages[turn % len(pages)]
        turn += 1
        started = time.monotonic()
        problem = None
        try:
            status, final_url, _ = client.get(path)
            if status != 200:
                problem = f"HTTP {status}"
            elif "/login/" in final_url and path != "/login/":
                problem = "sent to the login page"
        except urllib.error.HTTPError as error:
            problem = f"HTTP {error.code}"
            body = error.read().decode("utf-8", "replace")
            hint = re.search(r"too many clients|<title>([^<]*)", body)
            if hint:
                problem += " (" + " ".join((hint.group(1) or hint.group(0)).split())[:60] + ")"
        except Exception as error:
            problem = f"{type(error).__name__}: {error}"[:120]
        elapsed = time.monotonic() - started
        with lock:
            results.append((path, elapsed, problem is None))
            if problem:
                errors[problem] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--username", default="operator")
    parser.add_argument("--password", default="billcycle-demo")
    parser.add_argument("--run", type=int, help="bill run id to visit (default: the newest)")
    parser.add_argument("--timeout", type=float, default=30, help="per request, seconds")
    args = parser.parse_args()

    # One client finds a bill run to visit and checks that a stylesheet is served.
    probe = Client(args.url, args.timeout)
    probe.login(args.username, args.password)
    _, _, runs_page = probe.get("/bill-runs/")
    run = args.run
    if run is None:
        found = re.search(r'href="/bill-runs/(\d+)/"', runs_page)
        if not found:
            print("No bill run on /bill-runs/: create one first.", file=sys.stderr)
            return 2
        run = int(found.group(1))
    stylesheet = re.search(r'<link[^>]+href="([^"]+\.css)"', runs_page)
    if stylesheet:
        try:
            status, _, _ = probe.get(stylesheet.group(1))
        except urllib.error.HTTPError as error:
            status = error.code
        print(f"static check: {stylesheet.group(1)} -> HTTP {status}")
    pages = [page.format(run=run) for page in PAGES]

    results: list[tuple[str, float, bool]] = []
    errors: Counter = Counter()
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + args.seconds
    threads = [
        threading.Thread(
            target=run_client, args=(i, args, pages, deadline, results, errors, lock), daemon=True
        )
        for i in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started

    failed = sum(errors.values())
    total = len(results)
    latencies = sorted(elapsed for _, elapsed, _ in results)
    print(
        f"{args.clients} clients, {wall:.1f} s, {args.url}: {total} requests, {failed} errors "
        f"({100 * failed / max(total, 1):.1f} %), {total / wall:.1f} req/s"
    )
    print(
        "latency ms: p50 {:.0f}  p95 {:.0f}  p99 {:.0f}  max {:.0f}".format(
            *(1000 * percentile(latencies, f) for f in (0.50, 0.95, 0.99, 1.0))
        )
    )
    for page in pages:
        own = sorted(elapsed for path, elapsed, _ in results if path == page)
        if own:
            print(
                f"  {page:<22} {len(own):>6}  p50 {1000 * statistics.median(own):>6.0f} ms"
                f"  p95 {1000 * percentile(own, 0.95):>6.0f} ms"
            )
    for problem, count in errors.most_common(5):
        print(f"  error x{count}: {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
