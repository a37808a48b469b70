#!/bin/sh
# Install the Debian packages `make run` (arg "run") or `make test` (arg "test") need,
# only those that are missing. Uses sudo when not root. Safe to run again.
set -eu
want="python3-venv"
if [ "${1:-run}" = "test" ]; then
    want="$want chromium fonts-dejavu-core fonts-thai-tlwg-ttf ffmpeg"
    # the hub's tests run a real PostgreSQL; the sync tests skew the clock with faketime
    want="$want postgresql"
    want="$want faketime"
    # the appliance's tests (tests/test_appliance_*.py): config checks, network namespaces, a booted image
    want="$want hostapd"
    want="$want dnsmasq-base"
    want="$want nftables"
    want="$want iproute2"
    want="$want udhcpc"
    want="$want bind9-dnsutils"
    want="$want curl"
    want="$want shellcheck"
    want="$want debootstrap"
    want="$want systemd-container"
    want="$want e2fsprogs"
    want="$want dosfstools"
    want="$want mtools"
fi
missing=""
for pkg in $want; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done
# python3-venv is moot where python3 already has a working venv module (e.g. pyenv builds).
case "$missing" in
    *python3-venv*)
        if python3 -c 'import ensurepip, venv' 2>/dev/null; then
            missing=$(echo "$missing" | sed 's/python3-venv//')
        fi ;;
esac
missing=$(echo "$missing" | xargs)
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing Debian packages: $missing" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
