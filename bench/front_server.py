"""Does the box need a front server (nginx) for ``/files/``? waitress's file wrapper against nginx.

Both serve the same 41 MB stored file on 127.0.0.1 to 16 concurrent clients:

- ``full speed``: every client as fast as loopback allows (far beyond the
  box's Wi-Fi): aggregate MB/s and the server's CPU seconds per GB sent
  (user + system time of the server's processes);
- ``wifi``: every client reads the first 8 MB capped at 500 KB/s (8 MB/s in
  all, more than a Raspberry Pi's Wi-Fi delivers): CPU per GB, and /healthz
  p99 from readpoint meanwhile (for nginx, readpoint is idle beside it).

nginx (``apt-get install nginx-light``) is only needed for the comparison
rows; without it the waitress rows are printed alone. Medians of ``--runs``.

Run: ``.venv/bin/python bench/front_server.py [--runs 3]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import free_port, median, start_server, stop_server  # noqa: E402
from bench.crowd import BIG, add_big_book, p99  # noqa: E402

CLIENTS = 16
WIFI_BYTES = 8 * 1024 * 1024
NGINX_CONF = """
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location ~ "^/files/([0-9a-f]{{2}})([0-9a-f]{{62}})$" {{
      alias {store}/$1/$1$2;
      default_type application/octet-stream;
    }}
  }}
}}
"""


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def download_all(url: str, rate: str | None) -> tuple[float, int]:
    """(seconds, bytes each) for CLIENTS concurrent curl downloads of ``url`` (each checked for its size).

    With a ``rate``, only the first :data:`WIFI_BYTES` are asked for (a Range).
    """
    wanted = WIFI_BYTES if rate else BIG
    command = ["curl", "-s", "-o", "/dev/null", "-w", "%{size_download}", url]
    if rate:
        command[1:1] = ["--limit-rate", rate, "-r", f"0-{WIFI_BYTES - 1}"]
    started = time.monotonic()
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(CLIENTS)]
    sizes = [int(proc.communicate()[0] or 0) for proc in procs]
    elapsed = time.monotonic() - started
    if any(size != wanted for size in sizes):
        raise RuntimeError(f"incomplete downloads: {sizes}")
    return elapsed, wanted


def measure(url: str, pids: list[int], health: str, rate: str | None) -> dict:
    """MB/s, CPU seconds per GB and /healthz p99 for one round of downloads."""
    latencies: list[float] = []
    done = threading.Event()

    def probe():
        while not done.is_set():
            started = time.monotonic()
            try:
                requests.get(health + "/healthz", timeout=10).raise_for_status()
                latencies.append(time.monotonic() - started)
            except requests.RequestException:
                latencies.append(10.0)
            time.sleep(0.05)

    prober = threading.Thread(target=probe)
    prober.start()
    before = cpu_seconds(pids)
    try:
        elapsed, each = download_all(url, rate)
    finally:
        done.set()
        prober.join()
    sent_gb = CLIENTS * each / 2**30
    return {"mb_s": CLIENTS * each / 2**20 / elapsed, "cpu_s_per_gb": (cpu_seconds(pids) - before) / sent_gb,
            "healthz_p99_ms": p99(latencies)}


def nginx_start(tmp: Path, store: Path) -> tuple[subprocess.Popen, int]:
    """nginx in the foreground, serving ``store`` as /files/<sha256>; (process, port)."""
    port = free_port()
    conf = tmp / "nginx.conf"
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read the temporary data directory
    conf.write_text(NGINX_CONF.format(user=user, tmp=tmp, port=port, store=store))
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.05)
    return proc, port


def nginx_pids(master: int) -> list[int]:
    """The nginx master and its workers."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *map(int, children)]


def main() -> None:
    """Run both servers' rounds ``--runs`` times; print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    rows: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "data"
        proc, url, _ = start_server(data)
        nginx = None
        try:
            sha = add_big_book(data)
            if shutil.which("nginx"):
                nginx, nginx_port = nginx_start(tmp, data / "store")
            for _run in range(runs):
                for mode, rate in (("full speed", None), ("wifi", "500k")):
                    result = measure(f"{url}/files/{sha}", [proc.pid], url, rate)
                    rows.setdefault(("readpoint (waitress file wrapper)", mode), []).append(result)
                    print("waitress", mode, result, flush=True)
                    if nginx is not None:
                        result = measure(f"http://127.0.0.1:{nginx_port}/files/{sha}", nginx_pids(nginx.pid),
                                         url, rate)
                        rows.setdefault(("nginx (sendfile)", mode), []).append(result)
                        print("nginx", mode, result, flush=True)
        finally:
            if nginx is not None:
                nginx.terminate()
                nginx.wait()
            stop_server(proc)
    print()
    print(f"| server, {CLIENTS} clients of a 41 MB file (median of {runs}) | MB/s | CPU s per GB | /healthz p99 ms |")
    print("| --- | --- | --- | --- |")
    for (server, mode), results in rows.items():
        print(f"| {server}, {mode} | {median([r['mb_s'] for r in results]):.0f} | "
              f"{median([r['cpu_s_per_gb'] for r in results]):.2f} | "
              f"{median([r['healthz_p99_ms'] for r in results]):.0f} |")


if __name__ == "__main__":
    main()
