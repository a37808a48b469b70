"""Foundation benchmark: start-up, idle memory, and home-page throughput.

Reports, as medians of 3 runs on this machine:
- seconds from ``readpoint serve`` on an empty data dir (starter collection loaded) to the first
  ``/healthz`` answer;
- RSS of the idle server after start-up;
- home page requests/s and p99 latency at 20 concurrent connections (wrk, 10 s per run).

Run: ``.venv/bin/python bench/serve.py``
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import median, rss_mb, start_server, stop_server, wrk  # noqa: E402


def main(runs: int = 3, seconds: int = 10) -> None:
    """Run the measurements and print a small table."""
    startup, idle, rps, p99, extra = [], [], [], [], []
    for run in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            proc, url, seconds_to_health = start_server(Path(tmp) / "data")
            try:
                startup.append(seconds_to_health)
                time.sleep(2)
                idle.append(rss_mb(proc.pid))
                result = wrk(url + "/", connections=20, seconds=seconds,
                             headers={"Accept-Encoding": "gzip"})
                rps.append(result["rps"])
                p99.append(result["p99_ms"])
                extra.append(result["non_2xx"])
                print(f"run {run + 1}: start {seconds_to_health:.2f} s, idle RSS {idle[-1]:.1f} MB, "
                      f"home {result['rps']:.0f} req/s, p99 {result['p99_ms']:.1f} ms, "
                      f"non-2xx {result['non_2xx']}", flush=True)
            finally:
                stop_server(proc)
    print()
    print("| measure (median of %d) | value |" % runs)
    print("| --- | --- |")
    print(f"| seconds to first /healthz, empty data dir (starter import) | {median(startup):.2f} |")
    print(f"| idle server RSS (MB) | {median(idle):.1f} |")
    print(f"| home page req/s at 20 connections | {median(rps):.0f} |")
    print(f"| home page p99 latency (ms) | {median(p99):.1f} |")
    print(f"| non-2xx responses (all runs) | {sum(extra)} |")


if __name__ == "__main__":
    main()
