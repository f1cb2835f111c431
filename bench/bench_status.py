"""Benchmark `mtasts status` on 1,000 domains with 30 days of TLS-RPT reports.

Report part: one report per domain, day and sending organization (1,000 × 30 = 30,000 files, half gzip, a
quarter with failures), read exactly as ``mtasts status --reports FOLDER`` does (``read_reports``: the kit's
``iter_sources`` + ``Summary`` with the window and the finer counters, then the per-domain evidence), next to
what ``mtasts reports summarize FOLDER`` does before printing (``iter_sources`` + ``Summary.read``). Time is the
median of --runs runs; peak memory is traced in one extra run of each (tracing slows the code, so it is not
timed).

Live part: the same 1,000 domains on the loopback servers of tests/checker (DNS and HTTPS answers each delayed
by --latency, default 50 ms, in a separate process as bench_check.py runs them, DNS from its cached
``FastDNS``, so that the servers take as little of the two cores as they can). The CPU time of the checking
process and of the servers' process is printed per domain for both sides. ``mtasts status`` checks them
through the checker (``read_live``: ``check_domains`` with the plan as expected state), next to
``mtasts check --stack`` alone (``check_domains`` at its default parallelism) and checkdmarc.check_mta_sts given
200 threads (target: ≥ 3× its throughput). No SMTP servers (1,000 of them would be the benchmark): STARTTLS is
not part of either side here.

Whole command: ``mtasts status --config … --reports … --json`` against ``mtasts check --config … --json`` plus
``mtasts reports summarize … --json``, each a process of its own as a user runs them (target: status ahead).

Run: .venv/bin/python bench/bench_status.py [--domains 1000] [--days 30] [--latency 0.05] [--runs 3] [--live-only]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "tlsrpt"))

from reports import as_gzip, as_json, report

from bench_check import checkdmarc_on_loopback, serve  # bench_check.py's loopback world, in its own process
from mtasts.checker.checks import check_domains
from mtasts.checker.net import Network, parse_connect_to, parse_nameserver
from mtasts.config import parse_stack_settings
from mtasts.fleet.evidence import read_live, read_reports
from mtasts.fleet.page import write_page
from mtasts.fleet.rules import DEFAULTS
from mtasts.fleet.status import FleetStatus, evaluate_fleet
from mtasts.plan import StackPlan, plan_stack
from mtasts.tlsrpt.aggregate import Summary
from mtasts.tlsrpt.files import iter_sources

AS_OF = dt.date(2026, 11, 30)
RESULTS = ("certificate-expired", "starttls-not-supported", "sts-policy-fetch-error")


def write_corpus(folder: Path, names: list[str], days: int) -> int:
    """One report per domain and day (organizations rotate), half gzip, every fourth with failures."""
    count = 0
    for i, domain in enumerate(names):
        sub = folder / f"{i % 100:02d}"
        sub.mkdir(exist_ok=True)
        for back in range(days):
            day = AS_OF - dt.timedelta(days=back)
            failures = [(RESULTS[(i + back) % 3], f"mx.{domain}", 1 + back % 4)] if (i + back) % 4 == 0 else []
            doc = report(
                org=f"sender{(i + back) % 20}.example",
                report_id=f"{i:05d}-{back:03d}",
                domain=domain,
                day=f"{day}",
                successful=200 + (i + back) % 50,
                failures=failures,
            )
            name = sub / f"{domain}-{day}.json"
            if count % 2:
                name.with_suffix(".json.gz").write_bytes(as_gzip(doc))
            else:
                name.write_bytes(as_json(doc))
            count += 1
    return count


def stack_plan(names: list[str]) -> StackPlan:
    """The stack those domains are planned from: enforce, one MX each, as bench_check.py publishes them."""
    domains = {n: {"mode": "enforce", "max_age": 604800, "mx": [f"mx.{n}"]} for n in names}
    return plan_stack(parse_stack_settings({"domains": domains}))


def median_time(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """Median wall time of ``runs`` calls, and the last result."""
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def peak_mib(work: Callable[[], Any]) -> float:
    """Peak traced Python memory of one call, in MiB."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def summarize(folder: Path) -> Summary:
    """What `mtasts reports summarize FOLDER` does before it prints."""
    summary = Summary()
    for source in iter_sources([str(folder)]):
        summary.read(source.name, source.data, problem=source.problem)
    return summary


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_cpu(runs: int, work: Callable[[], Any], server: int) -> tuple[float, float, float, Any]:
    """Median wall time, median CPU of this process and median CPU of process ``server`` per run; last result."""
    walls, ours, theirs, result = [], [], [], None
    for _ in range(runs):
        server_before, cpu_before, start = cpu_seconds(server), time.process_time(), time.perf_counter()
        result = work()
        walls.append(time.perf_counter() - start)
        ours.append(time.process_time() - cpu_before)
        theirs.append(cpu_seconds(server) - server_before)
    return statistics.median(walls), statistics.median(ours), statistics.median(theirs), result


def checkdmarc_pooled(names: list[str], dns_port: int, https_port: int, ca_file: str) -> float:
    """checkdmarc.check_mta_sts over ``names`` with 200 threads, pointed at the loopback servers; seconds."""
    with checkdmarc_on_loopback(dns_port, https_port, ca_file) as check_mta_sts:
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=200) as pool:
            results = list(pool.map(check_mta_sts, names))
        elapsed = time.perf_counter() - start
    assert all(r.get("valid") for r in results), [r for r in results if not r.get("valid")][:2]
    return elapsed


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--live-only", action="store_true", help="Only the live part (no reports, page, commands).")
    args = parser.parse_args()
    names = [f"d{i}.example" for i in range(args.domains)]
    plan = stack_plan(names)
    first = AS_OF - dt.timedelta(days=args.days - 1)
    n = len(names)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "reports"
        corpus.mkdir()
        files = write_corpus(corpus, names, args.days if not args.live_only else 1)
        size = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())
        if args.live_only:
            _, parent, server, _ = live_part(args, names, plan, tmp)
            parent.send("stop")
            server.join(timeout=30)
            return

        # --- report part
        ours_s, (summary, evidence) = median_time(args.runs, lambda: read_reports([str(corpus)], first, AS_OF))
        assert summary.reports == files, (summary.reports, files, summary.rejected[:2])
        assert len(evidence) == n
        theirs_s, plain = median_time(args.runs, lambda: summarize(corpus))
        assert plain.reports == files
        ours_mib = peak_mib(lambda: read_reports([str(corpus)], first, AS_OF))
        theirs_mib = peak_mib(lambda: summarize(corpus))
        print(f"report part: {files} report files ({size / 2**20:.1f} MiB), {n} domains × {args.days} days")
        print(
            f"  mtasts status (read_reports): {ours_s:.2f} s = {files / ours_s:.0f} reports/s, peak {ours_mib:.1f} MiB"
        )
        print(
            f"  mtasts reports summarize (Summary.read): {theirs_s:.2f} s = {files / theirs_s:.0f} reports/s, "
            f"peak {theirs_mib:.1f} MiB"
        )

        # --- live part
        live, parent, server, (nameserver, ca_file, connect_to, _, _) = live_part(args, names, plan, tmp)

        # --- the page, in a real browser
        fleet = FleetStatus(evaluate_fleet(plan.domains, live, evidence, DEFAULTS), DEFAULTS, first, AS_OF, files)
        page = Path(tmp) / "fleet.html"
        render_s, _ = median_time(args.runs, lambda: write_page(fleet, page))
        chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
        if chromium:
            flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={tmp}/p"]

            def load() -> None:
                argv = [chromium, *flags, "--dump-dom", page.as_uri()]
                result = subprocess.run(argv, capture_output=True, check=False)
                assert b'data-state="rendered"' in result.stdout, result.stderr[-2000:]

            browser_s, _ = median_time(args.runs, load)
            browser = f"headless chromium loads and lays it out (--dump-dom) in {browser_s:.2f} s"
        else:
            browser = "chromium not installed: browser time not measured"
        print(
            f"page: {page.stat().st_size / 2**20:.1f} MiB for {n} domains × {args.days} days, written in "
            f"{render_s:.2f} s; {browser}"
        )

        # --- whole command, as a user runs it
        stack = Path(tmp) / "Pulumi.bench.yaml"
        stack.write_text(
            "config:\n  mta-sts:domains:\n"
            + "".join(f"    {d}: {{mode: enforce, max_age: 604800, mx: [mx.{d}]}}\n" for d in names)
        )
        mtasts = str(Path(sys.executable).parent / "mtasts")
        seams = ["--nameserver", nameserver, "--ca-file", ca_file, "--timeout", "60"]
        for rule in connect_to:
            seams += ["--connect-to", rule]

        def command(*argv: str, ok: tuple[int, ...] = (0,)) -> None:
            result = subprocess.run([mtasts, *argv], capture_output=True, check=False)
            assert result.returncode in ok, result.stderr[-2000:]

        window = ["--as-of", str(AS_OF), "--days", str(args.days)]
        whole_s, _ = median_time(
            args.runs,
            lambda: command(
                "status",
                "--config",
                str(stack),
                "--reports",
                str(corpus),
                *window,
                "--no-starttls",
                "--json",
                *seams,
                ok=(0, 1),
            ),
        )
        check_cli_s, _ = median_time(args.runs, lambda: command("check", "--config", str(stack), "--json", *seams))
        summarize_cli_s, _ = median_time(args.runs, lambda: command("reports", "summarize", str(corpus), "--json"))
        separate = check_cli_s + summarize_cli_s
        print(
            f"whole command: mtasts status {whole_s:.2f} s, against mtasts check {check_cli_s:.2f} s + mtasts reports "
            f"summarize {summarize_cli_s:.2f} s = {separate:.2f} s -> {separate / whole_s:.2f}x (target > 1x)"
        )
        parent.send("stop")
        server.join(timeout=30)


def live_part(args: argparse.Namespace, names: list[str], plan: StackPlan, tmp: str) -> Any:
    """Time ``read_live`` and ``check_domains`` against checkdmarc, with the CPU each side and the servers took.

    Returns the live states, the pipe and process of the servers (still running) and their addresses.
    """
    n = len(names)
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(names, args.latency, tmp, child), daemon=True)
    server.start()
    world = parent.recv()
    nameserver, ca_file, connect_to, dns_port, https_port = world
    net = Network(
        nameservers=[parse_nameserver(nameserver)],
        ca_file=ca_file,
        connect_to=[parse_connect_to(c) for c in connect_to],
        timeout=60,
    )
    expected = {d.domain: d for d in plan.domains}
    assert server.pid is not None
    live_s, live_cpu, live_server, live = timed_cpu(
        args.runs, lambda: read_live(plan.domains, net, starttls=False), server.pid
    )
    assert all(s.txt_id_live and s.policy_equal for s in live.values())
    check_s, check_cpu, check_server, checked = timed_cpu(
        args.runs, lambda: check_domains(names, net, expected), server.pid
    )
    assert all(r.ok for r in checked), next(r.to_dict() for r in checked if not r.ok)
    dmarc_s, dmarc_cpu, dmarc_server, _ = timed_cpu(
        args.runs, lambda: checkdmarc_pooled(names, dns_port, https_port, ca_file), server.pid
    )

    def cpu(client: float, servers: float) -> str:
        return f"CPU per domain {client / n * 1000:.2f} ms here + {servers / n * 1000:.2f} ms in the servers"

    print(
        f"live part: {n} domains on loopback, {args.latency * 1000:.0f} ms per DNS answer and HTTP response, "
        f"{os.cpu_count()} cores; medians of {args.runs} runs"
    )
    print(f"  mtasts status (read_live): {live_s:.2f} s = {n / live_s:.0f} domains/s; {cpu(live_cpu, live_server)}")
    print(
        f"  mtasts check --stack (check_domains, 200 threads): {check_s:.2f} s = {n / check_s:.0f} domains/s; "
        f"{cpu(check_cpu, check_server)}"
    )
    print(
        f"  checkdmarc.check_mta_sts, 200 threads: {dmarc_s:.2f} s = {n / dmarc_s:.0f} domains/s; "
        f"{cpu(dmarc_cpu, dmarc_server)} -> status {dmarc_s / live_s:.1f}x its throughput (target >= 3x)"
    )
    return live, parent, server, world


if __name__ == "__main__":
    main()
