#!/bin/bash
# Turn Raspberry Pi OS Lite 64-bit (Debian 12 "bookworm") into a readpoint reading point.
#
#   sudo provisioning/install.sh --config box.env                 on the box itself
#   sudo provisioning/install.sh --config box.env --root DIR      into a chroot or a mounted image
#
# Options:
#   --config FILE     the box's settings (see box.env.example); required
#   --root DIR        install into the system tree at DIR; nothing is started, nothing is
#                     generated that must be the box's own (keys, machine id): first boot does that
#   --wheel FILE      install this readpoint wheel instead of building one from this checkout
#   --wheelhouse DIR  take readpoint's Python dependencies from DIR only (offline; pip's --find-links)
#   --only-configs    write the configuration files and units only (no packages, user, venv, services)
#
# Safe to run again: what is already right is left alone. Nothing is changed when box.env is wrong.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CHECKOUT=$(dirname "$HERE")
VENV=/opt/readpoint/venv
DATA=/data/readpoint

CONFIG=""
ROOT=/
WHEEL=""
WHEELHOUSE=""
ONLY_CONFIGS=no

say() {
    echo "install.sh: $*"
}

die() {
    echo "install.sh: error: $*" >&2
    exit 1
}

usage() {
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

while [ $# -gt 0 ]; do
    case $1 in
        --config) CONFIG=${2:?--config needs a file}; shift 2 ;;
        --root) ROOT=${2:?--root needs a folder}; shift 2 ;;
        --wheel) WHEEL=${2:?--wheel needs a file}; shift 2 ;;
        --wheelhouse) WHEELHOUSE=${2:?--wheelhouse needs a folder}; shift 2 ;;
        --only-configs) ONLY_CONFIGS=yes; shift ;;
        -h | --help) usage 0 ;;
        *) echo "install.sh: unknown option: $1" >&2; usage 2 ;;
    esac
done
[ -n "$CONFIG" ] || die "--config box.env is required (start from provisioning/box.env.example)"
[ -r "$CONFIG" ] || die "cannot read $CONFIG"
ROOT=$(cd "$ROOT" 2>/dev/null && pwd) || die "--root: no such folder"
LIVE=no
[ "$ROOT" = / ] && LIVE=yes
# Paths under the target are written as "$T/etc/..." ("" on the box itself).
T=${ROOT%/}

# ---------------------------------------------------------------------------------------------
# box.env: read, check, derive. Everything is checked before anything is changed.

KEYS="WIFI_NAME WIFI_PASSWORD WIFI_COUNTRY WIFI_CHANNEL WIFI_INTERFACE BOX_ADDRESS HOST_NAME SITE_NAME
TIMEZONE DATA_DEVICE READ_ONLY_ROOT HUB_URL HUB_PUBLIC_KEY ENROLL_CODE SYNC_WINDOWS SYNC_RUN_BUDGET_MB
SYNC_MONTH_BUDGET_MB SYNC_BANDWIDTH_KBIT PORTAL_REMEMBER_MINUTES SSH_ON_WIFI"
declare -A CFG=(
    [WIFI_NAME]=ThuVien [WIFI_PASSWORD]="" [WIFI_COUNTRY]=VN [WIFI_CHANNEL]=6 [WIFI_INTERFACE]=wlan0
    [BOX_ADDRESS]=10.42.0.1 [HOST_NAME]=thuvien [SITE_NAME]="" [TIMEZONE]=Asia/Ho_Chi_Minh
    [DATA_DEVICE]="" [READ_ONLY_ROOT]=yes [HUB_URL]="" [HUB_PUBLIC_KEY]="" [ENROLL_CODE]=""
    [SYNC_WINDOWS]="" [SYNC_RUN_BUDGET_MB]="" [SYNC_MONTH_BUDGET_MB]="" [SYNC_BANDWIDTH_KBIT]=""
    [PORTAL_REMEMBER_MINUTES]=120 [SSH_ON_WIFI]=no
)

read_config() {
    local number=0 line key value
    while IFS= read -r line || [ -n "$line" ]; do
        number=$((number + 1))
        line=${line%$'\r'}
        line=${line#"${line%%[![:space:]]*}"}
        line=${line%"${line##*[![:space:]]}"}
        [ -z "$line" ] && continue
        [[ $line == \#* ]] && continue
        [[ $line =~ ^([A-Z][A-Z0-9_]*)=(.*)$ ]] || die "$CONFIG, line $number: not KEY=value: $line"
        key=${BASH_REMATCH[1]}
        value=${BASH_REMATCH[2]}
        [[ " ${KEYS//$'\n'/ } " == *" $key "* ]] || die "$CONFIG, line $number: unknown setting $key (a typo?)"
        if [[ $value =~ ^\"(.*)\"$ ]] || [[ $value =~ ^\'(.*)\'$ ]]; then
            value=${BASH_REMATCH[1]}
        fi
        [[ $value =~ [[:cntrl:]] ]] && die "$CONFIG, line $number: $key holds a control character"
        CFG[$key]=$value
    done < "$CONFIG"
}

check() {
    # check KEY REGEX MESSAGE: die unless CFG[KEY] matches REGEX (empty allowed when REGEX allows it)
    [[ ${CFG[$1]} =~ $2 ]] || die "$1='${CFG[$1]}': $3"
}

check_config() {
    local octet='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])' time='([01][0-9]|2[0-3]):[0-5][0-9]|24:00'
    local number='^[0-9]{1,7}$|^$'
    check WIFI_INTERFACE '^[a-z][a-z0-9]{0,14}$' "not an interface name"
    local name_bytes
    name_bytes=$(printf %s "${CFG[WIFI_NAME]}" | wc -c)
    if [ "$name_bytes" -lt 1 ] || [ "$name_bytes" -gt 32 ]; then
        die "WIFI_NAME must be 1 to 32 bytes (Vietnamese letters take 2 or 3 each); it is $name_bytes"
    fi
    check WIFI_NAME '^[^[:space:]](.*[^[:space:]])?$' "no spaces at its start or end"
    if [ -n "${CFG[WIFI_PASSWORD]}" ]; then
        local length=${#CFG[WIFI_PASSWORD]}
        if [ "$length" -lt 8 ] || [ "$length" -gt 63 ] ||
            printf %s "${CFG[WIFI_PASSWORD]}" | LC_ALL=C grep -q '[^ -~]'; then
            die "WIFI_PASSWORD: 8 to 63 plain (ASCII) characters, or empty for an open network"
        fi
    fi
    check WIFI_COUNTRY '^[A-Z]{2}$' "a two-letter country code, e.g. VN"
    check WIFI_CHANNEL '^([1-9]|1[0-3])$' "a 2.4 GHz channel, 1 to 13 (1, 6 or 11 are best)"
    check BOX_ADDRESS "^$octet\.$octet\.$octet\.$octet$" "an IPv4 address such as 10.42.0.1"
    local a b last
    IFS=. read -r a b _ last <<< "${CFG[BOX_ADDRESS]}"
    if ! { [ "$a" = 10 ] || { [ "$a" = 172 ] && [ "$b" -ge 16 ] && [ "$b" -le 31 ]; } ||
        { [ "$a" = 192 ] && [ "$b" = 168 ]; }; }; then
        die "BOX_ADDRESS must be a private address (10.x.x.x, 172.16-31.x.x or 192.168.x.x)"
    fi
    if [ "$last" -lt 1 ] || [ "$last" -gt 254 ] || { [ "$last" -ge 50 ] && [ "$last" -le 250 ]; }; then
        die "BOX_ADDRESS must end in 1-49 or 251-254 (phones get .50 to .250)"
    fi
    check HOST_NAME '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' "lower-case letters, digits and '-'"
    [ "${#CFG[SITE_NAME]}" -le 100 ] || die "SITE_NAME: at most 100 characters"
    check TIMEZONE '^[A-Za-z][A-Za-z0-9_+/-]*$' "a time zone such as Asia/Ho_Chi_Minh"
    check DATA_DEVICE '^$|^(LABEL=|UUID=|/dev/)[A-Za-z0-9._/-]+$' "LABEL=name, UUID=... or /dev/..."
    check READ_ONLY_ROOT '^(yes|no)$' "yes or no"
    if [ "${CFG[READ_ONLY_ROOT]}" = yes ] && [ -z "${CFG[DATA_DEVICE]}" ]; then
        die "READ_ONLY_ROOT=yes needs a DATA_DEVICE for the books (or READ_ONLY_ROOT=no: a power cut can then damage the system)"
    fi
    check HUB_URL '^$|^https?://[^[:space:]"\\]+$' "an http:// or https:// address"
    check HUB_PUBLIC_KEY '^$|^[A-Za-z0-9+/=_-]+$' "the key as the province gave it (base64)"
    check ENROLL_CODE '^$|^[A-Za-z0-9-]+$' "letters, digits and '-'"
    check SYNC_WINDOWS "^$|^($time)-($time)(,($time)-($time))*$" "HH:MM-HH:MM, comma-separated"
    check SYNC_RUN_BUDGET_MB "$number" "a number of megabytes"
    check SYNC_MONTH_BUDGET_MB "$number" "a number of megabytes"
    check SYNC_BANDWIDTH_KBIT "$number" "a number of kbit/s"
    check PORTAL_REMEMBER_MINUTES '^([5-9]|[1-9][0-9]{1,2}|1[0-3][0-9]{2}|14[0-3][0-9]|1440)$' "5 to 1440 minutes"
    check SSH_ON_WIFI '^(yes|no)$' "yes or no"
}

# The values templates use: box.env's, and those derived from it.
declare -A VALUE

derive() {
    local key
    for key in ${KEYS}; do
        VALUE[$key]=${CFG[$key]}
    done
    local prefix=${CFG[BOX_ADDRESS]%.*}
    VALUE[DHCP_FIRST]=$prefix.50
    VALUE[DHCP_LAST]=$prefix.250
    VALUE[LEASE_MINUTES]=${CFG[PORTAL_REMEMBER_MINUTES]}
    if [ -n "${CFG[WIFI_PASSWORD]}" ]; then
        VALUE[WIFI_SECURITY]="wpa=2
wpa_key_mgmt=WPA-PSK
rsn_pairwise=CCMP
wpa_passphrase=${CFG[WIFI_PASSWORD]}"
    else
        VALUE[WIFI_SECURITY]="# an open network: no password (WIFI_PASSWORD is empty in box.env)"
    fi
    if [ "${CFG[SSH_ON_WIFI]}" = yes ]; then
        VALUE[SSH_RULE]="        tcp dport 22 accept"
    else
        VALUE[SSH_RULE]="        # no SSH from the Wi-Fi (SSH_ON_WIFI=no in box.env)"
    fi
}

# ---------------------------------------------------------------------------------------------
# Writing files: only when the content changes, atomically.

# The files changed by this run, one a line (a file, since put also runs in pipelines' subshells).
CHANGES=$(mktemp)

changed_count() {
    wc -l < "$CHANGES" | tr -d ' '
}

# put DEST MODE: write stdin to $T/DEST with MODE unless it already holds exactly that.
put() {
    local dest=$T$1 mode=$2 temporary
    mkdir -p "$(dirname "$dest")"
    temporary=$(mktemp "$dest.XXXXXX.part")
    cat > "$temporary"
    if [ -f "$dest" ] && cmp -s "$temporary" "$dest" && [ "$(stat -c %a "$dest")" = "$mode" ]; then
        rm -f "$temporary"
        return 0
    fi
    chmod "$mode" "$temporary"
    mv -f "$temporary" "$dest"
    echo "$1" >> "$CHANGES"
}

# render TEMPLATE DEST MODE: a template with @NAME@ placeholders, filled from VALUE.
render() {
    local text key
    text=$(cat "$HERE/templates/$1")
    for key in "${!VALUE[@]}"; do
        text=${text//@$key@/"${VALUE[$key]}"}
    done
    if [[ $text =~ @[A-Z_]+@ ]]; then
        die "templates/$1: no value for ${BASH_REMATCH[0]}"
    fi
    printf '%s\n' "$text" | put "$2" "$3"
}

# A shell-quoted value ('...') for files that root's scripts read with ".".
quoted() {
    printf "'%s'" "${1//\'/\'\\\'\'}"
}

# replace_block FILE MARKER: replace the lines between "# >>> MARKER" and "# <<< MARKER" in $T/FILE
# (added at the end the first time) by stdin.
replace_block() {
    local file=$T$1 begin="# >>> $2" end="# <<< $2" block
    block=$(cat)
    local current=""
    [ -f "$file" ] && current=$(cat "$file")
    {
        printf '%s\n' "$current" | awk -v b="$begin" -v e="$end" '$0 == b {skip = 1} !skip {print} $0 == e {skip = 0}' |
            sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
        printf '%s\n%s\n%s\n' "$begin" "$block" "$end"
    } | put "$1" "$(stat -c %a "$file" 2>/dev/null || echo 644)"
}

write_configs() {
    # the librarian's poster (readpoint, group readpoint) shows the Wi-Fi name and password
    local hostapd_mode=600
    [ "$ONLY_CONFIGS" = no ] && hostapd_mode=640
    render hostapd.conf /etc/hostapd/hostapd.conf "$hostapd_mode"
    [ "$ONLY_CONFIGS" = no ] && in_root chgrp readpoint /etc/hostapd/hostapd.conf
    render dnsmasq.conf /etc/dnsmasq.d/readpoint.conf 644
    render nftables.conf /etc/nftables.conf 755
    render NetworkManager-readpoint.conf /etc/NetworkManager/conf.d/90-readpoint.conf 644
    render readpoint-wlan.service /etc/systemd/system/readpoint-wlan.service 644
    render hostapd-readpoint.conf /etc/systemd/system/hostapd.service.d/readpoint.conf 644
    render dnsmasq-readpoint.conf /etc/systemd/system/dnsmasq.service.d/readpoint.conf 644

    local file mode
    while IFS= read -r -d '' file; do
        mode=644
        [ -x "$HERE/rootfs/$file" ] && mode=755
        put "/$file" "$mode" < "$HERE/rootfs/$file"
    done < <(cd "$HERE/rootfs" && find . -type f -printf '%P\0' | sort -z)
    put /usr/share/doc/readpoint/provisioning.md 644 < "$HERE/README.md"

    local key
    {
        echo "# This box's settings, as install.sh read them from $(basename "$CONFIG"). Change box.env"
        echo "# and run install.sh again rather than editing this file."
        for key in ${KEYS}; do
            echo "$key=$(quoted "${CFG[$key]}")"
        done
    } | put /etc/readpoint/box.env 600
    {
        echo "# For readpoint-sync.service (written by install.sh from box.env)."
        echo "SYNC_WINDOWS=${CFG[SYNC_WINDOWS]}"
        echo "HUB_URL=${CFG[HUB_URL]}"
    } | put /etc/readpoint/sync.env 644

    local fstab
    fstab="tmpfs /tmp tmpfs nosuid,nodev,size=64M,mode=1777 0 0
tmpfs /var/tmp tmpfs nosuid,nodev,size=16M,mode=1777 0 0
tmpfs /var/log tmpfs nosuid,nodev,noexec,size=32M,mode=0755 0 0
tmpfs /var/lib/misc tmpfs nosuid,nodev,noexec,size=1M,mode=0755 0 0"
    if [ -n "${CFG[DATA_DEVICE]}" ]; then
        fstab="${CFG[DATA_DEVICE]} /data ext4 noatime,nosuid,nodev,noexec,errors=remount-ro,nofail,x-systemd.device-timeout=30s 0 2
$fstab"
    fi
    printf '%s\n' "$fstab" | replace_block /etc/fstab "readpoint (install.sh)"
    if [ "${CFG[READ_ONLY_ROOT]}" = yes ]; then
        echo 'overlayroot="tmpfs:recurse=0"' | put /etc/overlayroot.local.conf 644
    else
        echo 'overlayroot=""' | put /etc/overlayroot.local.conf 644
    fi
    echo "${CFG[HOST_NAME]}" | put /etc/hostname 644
    echo "127.0.1.1 ${CFG[HOST_NAME]} ${CFG[HOST_NAME]}.lan" | replace_block /etc/hosts "readpoint (install.sh)"
}

# ---------------------------------------------------------------------------------------------
# Packages, user, venv, services.

MOUNTED=()
POLICY_ADDED=no

cleanup() {
    local index
    [ "$POLICY_ADDED" = yes ] && rm -f "$T/usr/sbin/policy-rc.d"
    for ((index = ${#MOUNTED[@]} - 1; index >= 0; index--)); do
        umount "${MOUNTED[$index]}" 2>/dev/null || umount -l "${MOUNTED[$index]}" || true
    done
    [ -n "${WORK:-}" ] && rm -rf "$WORK"
    rm -f "$CHANGES"
    return 0
}
trap cleanup EXIT

in_root() {
    if [ "$LIVE" = yes ]; then
        "$@"
    else
        chroot "$ROOT" "$@"
    fi
}

prepare_root() {
    [ "$LIVE" = yes ] && return 0
    [ -f "$ROOT/etc/debian_version" ] || die "$ROOT does not hold a Debian system (no etc/debian_version)"
    mountpoint -q "$ROOT/proc" || { mount -t proc proc "$ROOT/proc" && MOUNTED+=("$ROOT/proc"); }
    mountpoint -q "$ROOT/dev" || { mount --bind /dev "$ROOT/dev" && MOUNTED+=("$ROOT/dev"); }
    mountpoint -q "$ROOT/dev/pts" || { mount --bind /dev/pts "$ROOT/dev/pts" && MOUNTED+=("$ROOT/dev/pts"); }
}

install_packages() {
    local wanted=() missing=() package
    mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$HERE/packages.txt")
    for package in "${wanted[@]}"; do
        # shellcheck disable=SC2016
        in_root dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$package")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "Debian packages: all there"
        return 0
    fi
    say "Debian packages: installing ${missing[*]}"
    if [ ! -e "$T/usr/sbin/policy-rc.d" ]; then
        # no daemon starts while its package is installed: they start once configured
        printf '#!/bin/sh\nexit 101\n' > "$T/usr/sbin/policy-rc.d"
        chmod 755 "$T/usr/sbin/policy-rc.d"
        POLICY_ADDED=yes
    fi
    in_root apt-get update -q -o=Dpkg::Use-Pty=0 >/dev/null
    in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        -o=Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
}

make_user() {
    if ! in_root getent passwd readpoint >/dev/null; then
        in_root useradd --system --user-group --home-dir "$DATA" --no-create-home \
            --shell /usr/sbin/nologin --comment "readpoint reading point" readpoint
        say "made the system user readpoint"
    fi
}

install_readpoint() {
    WORK=$(mktemp -d "$T/tmp/readpoint-install.XXXXXX")
    local inside=${WORK#"$T"} pip_options=() wheel
    if [ ! -x "$T$VENV/bin/python" ]; then
        in_root python3 -m venv "$VENV"
        say "made the venv $VENV"
    fi
    if [ -n "$WHEELHOUSE" ]; then
        [ -d "$WHEELHOUSE" ] || die "--wheelhouse: no such folder $WHEELHOUSE"
        cp -r "$WHEELHOUSE" "$WORK/wheelhouse"
        pip_options=(--no-index --find-links "$inside/wheelhouse")
    fi
    if [ -n "$WHEEL" ]; then
        [ -f "$WHEEL" ] || die "--wheel: no such file $WHEEL"
        cp "$WHEEL" "$WORK/"
    else
        say "building readpoint from $CHECKOUT"
        mkdir "$WORK/src" "$WORK/dist"
        tar -C "$CHECKOUT" --exclude=./.git --exclude=./.venv --exclude=./var --exclude=./build \
            --exclude=./dist --exclude='*.egg-info' --exclude=__pycache__ -cf - . | tar -C "$WORK/src" -xf -
        in_root "$VENV/bin/pip" wheel --quiet --no-deps "${pip_options[@]}" -w "$inside/dist" "$inside/src"
        mv "$WORK"/dist/readpoint-*.whl "$WORK/"
    fi
    wheel=$(cd "$WORK" && find . -maxdepth 1 -name 'readpoint-*.whl' -printf '%f\n' | head -n 1)
    [ -n "$wheel" ] || die "no readpoint wheel"
    in_root "$VENV/bin/pip" install --quiet --disable-pip-version-check "${pip_options[@]}" "$inside/$wheel"
    # the same version number with newer code (a checkout) must replace what is there
    in_root "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --force-reinstall \
        "${pip_options[@]}" "$inside/$wheel"
    mkdir -p "$T/usr/local/bin"
    ln -sfn "$VENV/bin/readpoint" "$T/usr/local/bin/readpoint"
    say "installed $wheel into $VENV"
}

set_timezone() {
    [ -f "$T/usr/share/zoneinfo/${CFG[TIMEZONE]}" ] || die "TIMEZONE=${CFG[TIMEZONE]}: no such time zone"
    if [ "$(readlink "$T/etc/localtime" || true)" != "/usr/share/zoneinfo/${CFG[TIMEZONE]}" ]; then
        ln -sfn "/usr/share/zoneinfo/${CFG[TIMEZONE]}" "$T/etc/localtime"
    fi
    echo "${CFG[TIMEZONE]}" | put /etc/timezone 644
}

UNITS="readpoint-web.service readpoint-firstboot.service readpoint-wlan.service readpoint-sync.timer
readpoint-clock-save.timer hostapd.service dnsmasq.service nftables.service fake-hwclock.service"

enable_units() {
    # shellcheck disable=SC2086
    in_root systemctl unmask hostapd.service dnsmasq.service >/dev/null 2>&1 || true
    # shellcheck disable=SC2086
    in_root systemctl enable --quiet $UNITS
}

forget_image_secrets() {
    # an image must not carry anything that has to be the box's own: first boot makes them
    [ "$LIVE" = yes ] && return 0
    rm -f "$T"/etc/ssh/ssh_host_*_key "$T"/etc/ssh/ssh_host_*_key.pub
    : > "$T/etc/machine-id"
    rm -f "$T/var/lib/dbus/machine-id"
}

start_live() {
    [ "$LIVE" = yes ] || return 0
    if [ -n "${CFG[DATA_DEVICE]}" ] && ! mountpoint -q /data; then
        mkdir -p /data
        systemctl daemon-reload
        mount /data || die "cannot mount DATA_DEVICE=${CFG[DATA_DEVICE]} on /data: is the disk plugged in and named readpoint-data? (provisioning/README.md, step 3)"
    fi
    systemctl daemon-reload
    systemctl restart systemd-sysctl.service
    udevadm control --reload-rules || true
    systemd-tmpfiles --create /etc/tmpfiles.d/readpoint.conf || true
    systemctl restart systemd-journald
    # NetworkManager lets go of the Wi-Fi (a session over that Wi-Fi ends here: use a cable)
    systemctl try-restart NetworkManager.service || true
    systemctl restart nftables.service readpoint-wlan.service
    systemctl restart hostapd.service || say "hostapd did not start: see 'journalctl -u hostapd'"
    systemctl restart dnsmasq.service
    systemctl restart readpoint-firstboot.service
    systemctl restart readpoint-web.service readpoint-sync.timer readpoint-clock-save.timer
    say "started: phones on the Wi-Fi '${CFG[WIFI_NAME]}' open http://${CFG[HOST_NAME]}.lan/"
    if [ "${CFG[READ_ONLY_ROOT]}" = yes ]; then
        say "the system becomes read-only at the next reboot (sudo reboot)"
    fi
}

refuse_read_only_root() {
    [ "$LIVE" = yes ] || return 0
    if grep -q " /media/root-ro " /proc/mounts; then
        die "the root is read-only now (overlayroot): changes would vanish at reboot. Turn it off first (provisioning/README.md, 'Changing a box, updating readpoint')"
    fi
}

main() {
    read_config
    check_config
    derive
    if [ "$ONLY_CONFIGS" = yes ]; then
        write_configs
        say "configuration written into $ROOT ($(changed_count) files changed)"
        return 0
    fi
    [ "$(id -u)" -eq 0 ] || die "run as root (sudo)"
    refuse_read_only_root
    prepare_root
    install_packages
    make_user
    install_readpoint
    write_configs
    set_timezone
    enable_units
    forget_image_secrets
    say "$(changed_count) files changed"
    start_live
    if [ "$LIVE" = no ]; then
        say "installed into $ROOT; nothing was started. First boot makes the box's keys and setup code."
    fi
}

main
