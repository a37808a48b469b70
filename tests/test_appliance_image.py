"""Tier 2 of the appliance: install.sh into a Debian 12 tree, then boot it and use it as a phone would.

A debootstrap tree of Debian 12 (what Raspberry Pi OS Lite is built on, amd64
here) is made once and cached outside the repository (``$READPOINT_TEST_CACHE``,
default ``/var/cache/readpoint-test``), with the Python wheels readpoint needs
and the Debian packages install.sh downloads. Each run installs into an overlay
over the cached tree (nothing of it changes), checks the units inside it, then
boots it with ``systemd-nspawn --boot`` inside the "box" network namespace: the
"phone" namespace gets DHCP, DNS and the library from the booted system, and a
USB stick (an image file on a loop device) is imported by the unit udev starts.
The timings (install, boot to the phone's first page) are printed at the end.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote_plus

import pytest

from tests.appliance import BOX, Network, need_root_and_namespaces, run_install, tools_present, write_box_env
from tests.conftest import REPO
from tests.media import make_epub
from tests.test_wheel import _clean_copy

pytestmark = pytest.mark.slow

CACHE = Path(os.environ.get("READPOINT_TEST_CACHE", "/var/cache/readpoint-test"))
SUITE = "bookworm"
# What Raspberry Pi OS Lite has before install.sh runs (its own packages come from packages.txt).
BASE_PACKAGES = "systemd,systemd-sysv,dbus,udev,iproute2,python3,ca-certificates,openssh-server"
OUR_UNITS = ["readpoint-web.service", "readpoint-firstboot.service", "readpoint-wlan.service",
             "readpoint-sync.service", "readpoint-sync.timer", "readpoint-clock-save.service",
             "readpoint-clock-save.timer", "readpoint-usb@sda1.service", "hostapd.service", "dnsmasq.service",
             "nftables.service", "fake-hwclock.service"]
USB_TITLES = ["Sách trên USB một", "Sách trên USB hai", "Sách trên USB ba"]
TIMINGS: dict[str, float] = {}


# The cached Debian tree, wheels and packages -------------------------------------------------

def _debian_mirror() -> str:
    """The Debian mirror this machine's apt uses for bookworm (debootstrap takes the same)."""
    texts = []
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if path.suffix in (".list", ".sources", "") and path.is_file():
            texts.append(path.read_text(errors="replace"))
    for text in texts:
        for match in re.finditer(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+/debian/?)\s+bookworm\s", text, re.M):
            return match.group(1)
        for stanza in text.split("\n\n"):
            uri = re.search(r"^URIs:\s*(\S+/debian/?)\s*$", stanza, re.M)
            if uri and re.search(r"^Suites:.*\bbookworm\b", stanza, re.M):
                return uri.group(1)
    return "http://deb.debian.org/debian"


class _Lock:
    """An exclusive lock on a file in the cache (two test runs on one machine build it once)."""

    def __init__(self, name: str):
        CACHE.mkdir(parents=True, exist_ok=True)
        self.handle = open(CACHE / f".{name}.lock", "w")

    def __enter__(self):
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def _base_tree() -> Path:
    """The debootstrap tree (made once per machine, then reused; never modified by a test)."""
    mirror = _debian_mirror()
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    key = hashlib.sha256(f"{SUITE} {arch} {BASE_PACKAGES} {mirror}".encode()).hexdigest()[:12]
    target = CACHE / f"{SUITE}-{arch}-{key}"
    if (target / "ready").exists():
        return target / "rootfs"
    with _Lock("debootstrap"):
        if (target / "ready").exists():
            return target / "rootfs"
        building = CACHE / f".building-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir()
        started = time.monotonic()
        result = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", SUITE, str(building / "rootfs"), mirror],
            capture_output=True, text=True, timeout=1200,
        )
        assert result.returncode == 0, f"debootstrap from {mirror} failed: {result.stdout[-2000:]}{result.stderr}"
        subprocess.run(["chroot", str(building / "rootfs"), "apt-get", "update", "-q"], capture_output=True, check=True)
        TIMINGS["debootstrap (once per machine)"] = time.monotonic() - started
        shutil.rmtree(target, ignore_errors=True)
        building.rename(target)
        (target / "ready").touch()
    return target / "rootfs"


def _wheel(folder: Path) -> Path:
    """readpoint's wheel, built from a clean copy of this checkout."""
    checkout = folder / "checkout"
    _clean_copy(checkout)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(folder / "dist"), str(checkout)], check=True, capture_output=True)
    return next((folder / "dist").glob("readpoint-*.whl"))


def _wheelhouse(wheel: Path) -> Path:
    """readpoint's dependencies and build requirements as wheels (cached per setup.cfg and
    pyproject.toml), so the install runs offline."""
    requirements = (REPO / "setup.cfg").read_text().split("[options.extras_require]")[0]
    build = re.search(r"requires\s*=\s*\[(.*?)\]", (REPO / "pyproject.toml").read_text(), re.S).group(1)
    build_requirements = re.findall(r'"([^"]+)"', build)
    key = hashlib.sha256(f"{requirements} {build} {sys.version_info[:2]}".encode()).hexdigest()[:12]
    target = CACHE / f"wheelhouse-{key}"
    if (target / "ready").exists():
        return target
    with _Lock("wheelhouse"):
        if not (target / "ready").exists():
            building = CACHE / f".wheels-{os.getpid()}"
            shutil.rmtree(building, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "-d", str(building), str(wheel)],
                           check=True, capture_output=True, timeout=900)
            # and what building readpoint from a checkout needs (install.sh without --wheel)
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "-d", str(building), *build_requirements],
                           check=True, capture_output=True, timeout=900)
            for own in building.glob("readpoint-*.whl"):
                own.unlink()
            shutil.rmtree(target, ignore_errors=True)
            building.rename(target)
            (target / "ready").touch()
            for old in sorted(CACHE.glob("wheelhouse-*"), key=lambda path: path.stat().st_mtime)[:-3]:
                shutil.rmtree(old, ignore_errors=True)  # the three newest stay (other branches' runs)
    return target


def _mount_overlay(lower: Path, folder: Path) -> Path:
    """A writable view of ``lower`` (an overlay; a copy where overlays are refused)."""
    merged = folder / "merged"
    for name in ("upper", "work", "merged"):
        (folder / name).mkdir()
    mounted = subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                              f"lowerdir={lower},upperdir={folder / 'upper'},workdir={folder / 'work'}", str(merged)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        subprocess.run(["cp", "-a", f"{lower}/.", str(merged)], check=True)
    return merged


def _mounts_under(path: Path) -> list[str]:
    """The mount points at or under ``path``."""
    mounts = subprocess.run(["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True).stdout.split("\n")
    return [m for m in mounts if m == str(path) or m.startswith(f"{path}/")]


def _unmount_all(path: Path) -> None:
    """Unmount ``path`` and everything under it."""
    for target in sorted(_mounts_under(path), reverse=True):
        if subprocess.run(["umount", target], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", target], capture_output=True)


def _run_folder() -> Path:
    """A folder for this run's overlay, kept outside pytest's temporary folders.

    The tree gets /proc and /dev mounted into it while install.sh runs: a run killed hard could
    leave them mounted, and pytest's clean-up of old temporary folders would then delete through
    them. Folders left by earlier runs are unmounted first, and removed only once nothing is
    mounted in them.
    """
    runs = CACHE / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    for stale in runs.iterdir():
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and Path(f"/proc/{pid}").exists():
            continue
        _unmount_all(stale)
        if not _mounts_under(stale):
            shutil.rmtree(stale, ignore_errors=True)
    folder = runs / f"run-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    return folder


def _remove_run_folder(folder: Path) -> None:
    """Unmount and remove this run's folder (left in place if something stays mounted)."""
    _unmount_all(folder)
    if not _mounts_under(folder):
        shutil.rmtree(folder, ignore_errors=True)


def _report(request, lines: list[str]) -> None:
    """Print figures at the end of the run (and keep them in the cache folder)."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            for line in lines:
                reporter.write_line(f"appliance tier 2: {line}")
    (CACHE / "last-timings.txt").write_text("\n".join(lines) + "\n")


# Fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def image(request):
    """install.sh --root into an overlay over the cached Debian tree; yields its folder."""
    need_root_and_namespaces()
    tools_present("debootstrap", "systemd-nspawn", "udhcpc", "dig", "curl", "losetup", "nsenter")
    folder = _run_folder()
    base = _base_tree()
    wheel = _wheel(folder)
    wheels = _wheelhouse(wheel)
    merged = _mount_overlay(base, folder)
    archives = CACHE / "apt-archives"
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["mount", "--bind", str(archives), str(merged / "var/cache/apt/archives")], check=True)
        box_env = write_box_env(folder)
        started = time.monotonic()
        installed = run_install("--config", str(box_env), "--root", str(merged), "--wheel", str(wheel),
                                "--wheelhouse", str(wheels), check=False)
        TIMINGS["install.sh --root"] = time.monotonic() - started
        subprocess.run(["umount", str(merged / "var/cache/apt/archives")], check=True)
        assert installed.returncode == 0, installed.stdout + installed.stderr
        yield {"root": merged, "folder": folder, "box_env": box_env, "wheel": wheel, "wheels": wheels,
               "output": installed.stdout}
    finally:
        _remove_run_folder(folder)
        lines = [f"{name}: {seconds:.1f} s" for name, seconds in TIMINGS.items()]
        _report(request, lines + ["(shared 2-core machine; timings vary with its load)"])


@pytest.fixture(scope="module")
def stick(image):
    """A USB stick: an image file with EPUBs in its READPOINT folder (and one outside it), on a loop device."""
    folder = image["folder"] / "stick"
    books = folder / "READPOINT"
    books.mkdir(parents=True)
    for number, title in enumerate(USB_TITLES):
        make_epub(books / f"sach-{number}.epub", title=title, identifier=f"urn:uuid:usb-{number}")
    make_epub(folder / "outside.epub", title="Sách ngoài thư mục", identifier="urn:uuid:usb-outside")
    picture = image["folder"] / "stick.img"
    kernel = Path("/proc/filesystems").read_text().split()
    if "vfat" in kernel:
        subprocess.run(["truncate", "-s", "32M", str(picture)], check=True)
        subprocess.run(["mkfs.vfat", "-n", "SACH", str(picture)], check=True, capture_output=True)
        subprocess.run(["mcopy", "-s", "-i", str(picture), str(books), str(folder / "outside.epub"), "::/"],
                       check=True, capture_output=True)
        kind = "vfat"
    else:  # this kernel has no FAT driver: an ext4 stick takes the same path through the unit
        subprocess.run(["mkfs.ext4", "-q", "-L", "SACH", "-d", str(folder), str(picture), "32M"], check=True)
        kind = "ext4"
    device = subprocess.run(["losetup", "-f", "--show", "-r", str(picture)], capture_output=True, text=True,
                            check=True).stdout.strip()
    try:
        yield {"device": Path(device), "name": Path(device).name, "kind": kind}
    finally:
        subprocess.run(["losetup", "-d", device], capture_output=True)


class Booted:
    """The installed tree booted by systemd-nspawn in the box namespace."""

    def __init__(self, root: Path, folder: Path):
        self.root = root
        self.folder = folder
        self.network = Network("tier2").create(box_address=False)  # the booted box sets its own address
        self.process: subprocess.Popen | None = None
        self.init_pid = 0

    def boot(self) -> None:
        """Start the container and find its init (systemd, PID 1 inside)."""
        with open(self.folder / "nspawn.log", "w") as log:
            self.process = subprocess.Popen(
                ["systemd-nspawn", "--boot", "--quiet", "-D", str(self.root), "--register=no", "--keep-unit",
                 f"--machine=readpoint{os.getpid()}", "--console=read-only",
                 f"--network-namespace-path=/run/netns/{self.network.box}",
                 "--capability=CAP_NET_ADMIN,CAP_NET_RAW"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not self.init_pid:
            assert self.process.poll() is None, self.log()
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            pids = children.read_text().split() if children.exists() else []
            self.init_pid = int(pids[0]) if pids else 0
            time.sleep(0.1)
        assert self.init_pid, "the container's init did not start"

    def log(self) -> str:
        """What the container printed."""
        return (self.folder / "nspawn.log").read_text(errors="replace")

    def inside(self, *args: str, timeout: float = 60, check: bool = False) -> subprocess.CompletedProcess:
        """Run ARGS inside the booted box."""
        return subprocess.run(["nsenter", "-t", str(self.init_pid), "-a", *args], capture_output=True, text=True,
                              timeout=timeout, check=check)

    def journal(self, unit: str) -> str:
        """The journal of one unit inside the box."""
        return self.inside("journalctl", "--no-pager", "-o", "cat", "-u", unit).stdout

    def stop(self) -> None:
        """Power the box off (killing it if it will not go), and delete the network."""
        if self.process is not None and self.process.poll() is None:
            if self.init_pid:
                self.inside("systemctl", "poweroff", "--no-block", timeout=20)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.network.delete()


@pytest.fixture(scope="module")
def booted(image):
    """The installed system, booted, with the phone on its network and the first page loaded."""
    box = Booted(image["root"], image["folder"])
    try:
        started = time.monotonic()
        box.boot()
        lease = box.network.dhcp(image["folder"], attempts=90)
        page = (1, {}, "", 0.0)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            page = box.network.curl("http://thuvien.lan/", address=box.network.resolve(lease["dns"], "thuvien.lan")[0])
            if page[1].get("status") == "200":
                break
            time.sleep(0.3)
        TIMINGS["boot to the phone's first page (nspawn)"] = time.monotonic() - started
        assert page[1].get("status") == "200", f"no library page: {page}\n{box.log()[-3000:]}"
        state = ""
        for _attempt in range(30):  # systemctl answers once the box's manager has settled
            answer = box.inside("systemctl", "is-system-running", "--wait", timeout=90)
            state = answer.stdout.strip() or answer.stderr.strip()
            if answer.stdout.strip() and state != "starting":
                break
            time.sleep(1)
        yield {"box": box, "lease": lease, "page": page[2], "state": state}
    finally:
        box.stop()


# Before boot: the installed tree -------------------------------------------------------------

def test_install_into_a_debian_tree_and_again(image):
    root = image["root"]
    assert "installed readpoint-" in image["output"]
    assert (root / "opt/readpoint/venv/bin/readpoint").exists()
    assert "readpoint:" in (root / "etc/passwd").read_text()
    enabled = root / "etc/systemd/system/multi-user.target.wants"
    for unit in ("readpoint-web.service", "readpoint-firstboot.service", "readpoint-wlan.service",
                 "dnsmasq.service", "hostapd.service"):
        assert (enabled / unit).is_symlink(), unit
    assert (root / "etc/systemd/system/timers.target.wants/readpoint-sync.timer").is_symlink()
    assert not (root / "usr/sbin/policy-rc.d").exists()
    again = run_install("--config", str(image["box_env"]), "--root", str(root), "--wheel", str(image["wheel"]),
                        "--wheelhouse", str(image["wheels"]))
    assert "Debian packages: all there" in again.stdout
    assert "0 files changed" in again.stdout


def test_the_image_carries_nothing_that_must_be_the_box_own(image):
    root = image["root"]
    assert (root / "etc/machine-id").read_text() == ""
    assert list((root / "etc/ssh").glob("ssh_host_*")) == []
    assert not (root / "data/readpoint").exists()


def test_units_pass_systemd_analyze_verify_inside_the_tree(image):
    root = image["root"]
    subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    try:
        template = root / "etc/systemd/system/readpoint-usb@.service"
        instance = root / "etc/systemd/system/readpoint-usb@sda1.service"
        shutil.copy(template, instance)  # verify takes files; this one stands for an instance
        try:
            result = subprocess.run(["chroot", str(root), "systemd-analyze", "verify", "--man=no", *OUR_UNITS],
                                    capture_output=True, text=True, timeout=120)
        finally:
            instance.unlink()
    finally:
        subprocess.run(["umount", str(root / "proc")], check=True)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stdout + result.stderr


def test_udev_rule_is_read_and_leaves_a_non_usb_disk_alone(image, stick):
    root = image["root"]
    subprocess.run(["mount", "--bind", "/sys", str(root / "sys")], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(root / "sys")], check=True)
        result = subprocess.run(["chroot", str(root), "udevadm", "test", "--action=add",
                                 f"/sys/class/block/{stick['name']}"], capture_output=True, text=True, timeout=60)
    finally:
        subprocess.run(["umount", str(root / "sys")], check=True)
    output = result.stdout + result.stderr
    assert "Reading rules file: /etc/udev/rules.d/90-readpoint-usb.rules" in output
    assert "90-readpoint-usb.rules:" not in output, output  # udev names the file and line of an error
    assert "readpoint-usb@" not in output  # a loop device is not a USB stick


# After boot: the box as phones and librarians meet it ----------------------------------------

def test_every_unit_starts(booted):
    box = booted["box"]
    failed = box.inside("systemctl", "--failed", "--no-legend", "--plain").stdout
    assert booted["state"] == "running", f"{booted['state']}: {failed}"
    active = box.inside("systemctl", "is-active", "readpoint-web.service", "readpoint-firstboot.service",
                        "readpoint-wlan.service", "dnsmasq.service", "nftables.service", "ssh.service",
                        "fake-hwclock.service", "readpoint-sync.timer", "readpoint-clock-save.timer").stdout.split()
    assert active == ["active"] * 9, active
    # no Wi-Fi radio in a container: hostapd is skipped by its condition, not failed
    hostapd = box.inside("systemctl", "show", "-p", "ConditionResult", "-p", "ActiveState", "hostapd.service").stdout
    assert "ConditionResult=no" in hostapd and "ActiveState=inactive" in hostapd
    web = box.journal("readpoint-web.service")
    assert "serving /data/readpoint on http://0.0.0.0:80/" in web
    assert "ERROR" not in web and "Traceback" not in web, web


def test_the_phone_finds_the_library(booted):
    box, lease = booted["box"], booted["lease"]
    assert lease["router"] == BOX and lease["dns"] == BOX
    assert bytes.fromhex(lease["opt114"]).decode() == f"http://{BOX}/captive-portal/api"
    assert box.network.resolve(lease["dns"], "connectivitycheck.gstatic.com") == [BOX]
    assert "Thư viện thử" in booted["page"]  # SITE_NAME from box.env, through first boot's settings
    code, answer, _text, _seconds = box.network.curl("http://captive.apple.com/hotspot-detect.html", address=BOX)
    assert answer["status"] == "200"  # this phone opened the library already: "online"
    code, _answer, _text, seconds = box.network.curl("https://thuvien.lan/", address=BOX)
    assert code == 7 and seconds < 2


def test_first_boot_did_its_work_once(booted):
    box = booted["box"]
    log = box.journal("readpoint-firstboot.service")
    assert "readpoint-firstboot: ready: /data/readpoint" in log
    has_setup_code = box.inside("/opt/readpoint/venv/bin/readpoint", "admin", "setup-code", "--help").returncode == 0
    if has_setup_code:
        assert "the librarian's setup code: " in log
    else:
        assert "skipped the librarian's setup code: this readpoint has no 'readpoint admin setup-code' yet" in log
    toml = box.inside("cat", "/data/readpoint/readpoint.toml").stdout
    assert 'portal_hosts = "thuvien.lan,10.42.0.1"' in toml
    assert 'box_address = "http://thuvien.lan/"' in toml
    # the librarian's poster, made by the server, reads the Wi-Fi name from hostapd's file
    hostapd = box.inside("runuser", "-u", "readpoint", "--", "cat", "/etc/hostapd/hostapd.conf")
    assert "ssid=Thư viện Xã" in hostapd.stdout
    key = box.inside("ssh-keygen", "-l", "-f", "/data/system/ssh/ssh_host_ed25519_key.pub")
    assert key.returncode == 0 and "ED25519" in key.stdout
    assert "/data/system/ssh/ssh_host_ed25519_key" in box.inside("sshd", "-T").stdout
    owner = box.inside("stat", "-c", "%U %a", "/data/readpoint").stdout.split()
    assert owner == ["readpoint", "750"]


def test_logs_in_memory_and_the_clock_on_data(booted):
    box = booted["box"]
    assert box.inside("findmnt", "-n", "-o", "FSTYPE", "/var/log").stdout.strip() == "tmpfs"
    assert box.inside("sh", "-c", "ls /var/log/journal | wc -l").stdout.strip() == "0"
    assert box.inside("test", "-d", "/run/log/journal").returncode == 0
    saved = box.inside("systemctl", "start", "readpoint-clock-save.service")
    assert saved.returncode == 0, saved.stderr
    assert box.inside("test", "-s", "/data/system/fake-hwclock.data").returncode == 0


def test_sync_timer_skips_a_box_without_hub(booted):
    box = booted["box"]
    started = box.inside("systemctl", "start", "readpoint-sync.service")
    assert started.returncode == 0, started.stderr
    assert "no provincial hub set" in box.journal("readpoint-sync.service")
    result = box.inside("systemctl", "show", "-p", "Result", "-p", "ActiveState", "readpoint-sync.service").stdout
    assert "Result=exec-condition" in result and "ActiveState=inactive" in result  # skipped, not failed


def test_a_usb_stick_is_imported_and_unmounted(booted, stick):
    box, lease = booted["box"], booted["lease"]

    def books() -> int:
        return json.loads(box.network.curl(f"http://{BOX}/healthz")[2])["books"]

    before = books()
    device = stick["device"]
    rdev = device.stat().st_rdev
    box.inside("mknod", f"/dev/{stick['name']}", "b", str(os.major(rdev)), str(os.minor(rdev)), check=True)
    # what udev's SYSTEMD_WANTS does when the stick is plugged in
    started = box.inside("systemctl", "start", f"readpoint-usb@{stick['name']}.service", timeout=300)
    log = box.journal(f"readpoint-usb@{stick['name']}.service")
    assert started.returncode == 0, log
    assert f"mounted /dev/{stick['name']} ({stick['kind']}) read-only" in log
    assert "imported 3, duplicates 0, rejected 0" in log
    assert books() == before + len(USB_TITLES)
    for title in USB_TITLES:
        found = box.network.curl(f"http://{BOX}/api/search?q={quote_plus(title)}")[2]
        assert title in found, title
    outside = box.network.curl(f"http://{BOX}/api/search?q={quote_plus('ngoài thư mục')}")[2]
    assert "Sách ngoài thư mục" not in outside  # only the stick's READPOINT folder is imported
    assert "unmounted" in log
    assert stick["name"] not in box.inside("findmnt", "-rn", "-o", "SOURCE").stdout
    assert box.inside("test", "-e", f"/run/readpoint-usb/{stick['name']}").returncode != 0
    assert lease["ip"]


def test_install_again_on_the_running_box_applies_a_change(booted, image):
    """What an IT officer does on a box: change box.env, run install.sh from the checkout there again.

    Without --wheel, install.sh builds readpoint from the checkout it is in (offline here: the build
    requirements come from the wheelhouse too).
    """
    box, lease = booted["box"], booted["lease"]
    root = image["root"]
    shutil.copytree(image["folder"] / "checkout", root / "root/readpoint")
    shutil.copytree(image["wheels"], root / "root/wheels")
    # a container has no data disk: this box keeps /data on its root
    write_box_env(root / "root", SITE_NAME='"Thư viện đổi tên"', DATA_DEVICE="", READ_ONLY_ROOT="no")
    result = box.inside("env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
                        "bash", "/root/readpoint/provisioning/install.sh", "--config", "/root/box.env",
                        "--wheelhouse", "/root/wheels", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "started: phones on the Wi-Fi 'Thư viện Xã' open http://thuvien.lan/" in result.stdout
    assert "Debian packages: all there" in result.stdout
    assert "building readpoint from /root/readpoint" in result.stdout
    page = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "Thư viện đổi tên" not in page:
        page = box.network.curl("http://thuvien.lan/", address=BOX)[2]
        time.sleep(0.3)
    assert "Thư viện đổi tên" in page
    assert box.inside("systemctl", "is-active", "dnsmasq", "nftables", "readpoint-web").stdout.split() == ["active"] * 3
    assert box.network.resolve(lease["dns"], "example.com") == [BOX]
