#!/usr/bin/env bash
# Runs mohur's own pcscd with vsmartcard's vpcd virtual readers, for the tests.
#
#   scripts/pcscd.sh start    start it (if ours already runs with the same readers, keep it)
#   scripts/pcscd.sh stop     stop it
#   scripts/pcscd.sh status   exit 0 if ours is running, 3 if not
#
# Environment:
#   MOHUR_RUN_DIR          state dir (default <repo>/target/mohur-run): reader.conf.d/,
#                          drivers/ (a vpcd driver copy per entry), pcscd.pid, pcscd.log
#   MOHUR_VPCD_ENTRIES     vpcd entries (default 6, 12 readers: SCardGetStatusChange takes at most 16 reader states, and a watcher also needs the PnP pseudo-reader); each gives two readers
#   MOHUR_VPCD_BASE_PORT   first port (default 35963); entry i uses port p = base + 2i and
#                          gives readers "mohur vpcd <p> 00 00" (the card side connects to
#                          127.0.0.1:p) and "mohur vpcd <p> 00 01" (127.0.0.1:p+1)
#
# pcscd 1.9 always listens on /run/pcscd/pcscd.comm, so only one pcscd can run per
# machine: start refuses to run beside a pcscd that is not ours.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_DIR=${MOHUR_RUN_DIR:-$REPO/target/mohur-run}
CONF_DIR=$RUN_DIR/reader.conf.d
DRIVER_DIR=$RUN_DIR/drivers
PID_FILE=$RUN_DIR/pcscd.pid
LOG_FILE=$RUN_DIR/pcscd.log
CONFIG_ID=$RUN_DIR/pcscd.readers
ENTRIES=${MOHUR_VPCD_ENTRIES:-6}
BASE_PORT=${MOHUR_VPCD_BASE_PORT:-35963}
SYS_DIR=/run/pcscd
SYS_SOCK=$SYS_DIR/pcscd.comm
SYS_PID=$SYS_DIR/pcscd.pid
VPCD_DRIVER=/usr/lib/pcsc/drivers/serial/libifdvpcd.so

say() { printf 'pcscd.sh: %s\n' "$*"; }
die() {
    printf 'pcscd.sh: error: %s\n' "$*" >&2
    exit 1
}

# Root runs pcscd directly; anyone else needs password-less sudo for /run/pcscd.
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    elif [[ ${1:-} != status ]]; then
        die "pcscd needs root (it listens on $SYS_SOCK): run as root or set up password-less sudo"
    fi
fi

# True if $1 is the pid of a live (not zombie) process named pcscd.
is_pcscd() {
    local pid=$1 stat comm
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    comm=${stat#*(}
    comm=${comm%)*}
    [[ $comm == pcscd ]] || return 1
    # The state field follows the ") " after the command name.
    [[ ${stat##*) } != Z* ]]
}

read_pid() {
    if [[ -r $1 ]]; then
        tr -dc '0-9' <"$1"
    fi
}

our_pid() {
    local pid
    pid=$(read_pid "$PID_FILE")
    if [[ -n $pid ]] && is_pcscd "$pid"; then
        echo "$pid"
    fi
}

validate() {
    [[ $ENTRIES =~ ^[0-9]+$ && $ENTRIES -ge 1 && $ENTRIES -le 8 ]] ||
        die "MOHUR_VPCD_ENTRIES must be 1..8: pcscd handles at most 16 readers (got '$ENTRIES')"
    [[ $BASE_PORT =~ ^[0-9]+$ && $BASE_PORT -ge 1024 && $((BASE_PORT + 2 * ENTRIES)) -le 65536 ]] ||
        die "MOHUR_VPCD_BASE_PORT must be 1024.. and leave room for $((2 * ENTRIES)) ports (got '$BASE_PORT')"
}

# vpcd keeps its connections in a static array indexed by slot (0 and 1) only, so
# two entries that load the same libifdvpcd.so overwrite each other's sockets and no
# card ever gets through. Each entry therefore loads its own copy of the driver (a
# copy, not a link: the dynamic loader shares one load per file).
config_id() { echo "entries=$ENTRIES base=$BASE_PORT driver=$VPCD_DRIVER"; }

write_config() {
    local i p
    mkdir -p "$CONF_DIR" "$DRIVER_DIR"
    rm -f "$CONF_DIR"/vpcd-* "$DRIVER_DIR"/libifdvpcd-*.so
    for ((i = 0; i < ENTRIES; i++)); do
        p=$((BASE_PORT + 2 * i))
        cp "$VPCD_DRIVER" "$DRIVER_DIR/libifdvpcd-$p.so"
        printf 'FRIENDLYNAME "mohur vpcd %d"\nDEVICENAME /dev/null:0x%X\nLIBPATH %s\nCHANNELID 0x%X\n' \
            "$p" "$p" "$DRIVER_DIR/libifdvpcd-$p.so" "$p" >"$CONF_DIR/vpcd-$p"
    done
}

# Called with ours stopped: refuses to start beside any other live pcscd, and removes
# the files a dead one left.
check_foreign() {
    local pid others
    if systemctl is-active --quiet pcscd.socket 2>/dev/null || systemctl is-active --quiet pcscd.service 2>/dev/null; then
        die "the system's pcscd (systemd pcscd.socket/pcscd.service) owns $SYS_SOCK.
  Only one pcscd can run per machine. Stop it for the tests with:
    sudo systemctl stop pcscd.socket pcscd.service
  and start it again afterwards with: sudo systemctl start pcscd.socket"
    fi
    pid=$(read_pid "$SYS_PID")
    if [[ -n $pid ]] && is_pcscd "$pid"; then
        die "another pcscd is running (pid $pid, $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)).
  Only one pcscd can run per machine (it always listens on $SYS_SOCK).
  Stop it first, e.g.: sudo kill $pid   (or: sudo systemctl stop pcscd.socket pcscd.service)"
    fi
    others=$(pgrep -x pcscd 2>/dev/null | while read -r p; do
        is_pcscd "$p" && echo "$p"
    done || true)
    if [[ -n $others ]]; then
        die "another pcscd is running (pid $(echo "$others" | tr '\n' ' ')) without a pid file in $SYS_DIR.
  Only one pcscd can run per machine. Stop it first, e.g.: sudo kill $(echo "$others" | tr '\n' ' ')"
    fi
    if [[ -e $SYS_SOCK || -e $SYS_PID ]]; then
        say "removing stale $SYS_SOCK / $SYS_PID left by a dead pcscd"
        "${SUDO[@]}" rm -f "$SYS_SOCK" "$SYS_PID"
    fi
}

# Sends TERM to our pcscd, waits up to 3 s, then KILLs it; removes leftover files.
do_stop() {
    local pid i
    pid=$(our_pid)
    if [[ -z $pid ]]; then
        rm -f "$PID_FILE"
        return 0
    fi
    "${SUDO[@]}" kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        is_pcscd "$pid" || break
        sleep 0.02
    done
    if is_pcscd "$pid"; then
        say "pcscd (pid $pid) did not stop within 3 s: killing it"
        "${SUDO[@]}" kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            is_pcscd "$pid" || break
            sleep 0.02
        done
    fi
    # pcscd removes these itself on TERM, but not after KILL.
    if [[ $(read_pid "$SYS_PID") == "$pid" || ! -e $SYS_PID ]]; then
        "${SUDO[@]}" rm -f "$SYS_SOCK" "$SYS_PID"
    fi
    rm -f "$PID_FILE"
    say "stopped pcscd (pid $pid)"
}

print_readers() {
    local i p
    say "readers (card side connects to 127.0.0.1:<port>):"
    for ((i = 0; i < ENTRIES; i++)); do
        p=$((BASE_PORT + 2 * i))
        printf '  "mohur vpcd %d 00 00" -> %d    "mohur vpcd %d 00 01" -> %d\n' "$p" "$p" "$p" $((p + 1))
    done
}

do_start() {
    local pid launcher i sys_pid
    validate
    command -v pcscd >/dev/null || die "pcscd is not installed (run scripts/deps.sh)"
    [[ -r $VPCD_DRIVER ]] || die "$VPCD_DRIVER is missing (install vsmartcard-vpcd; run scripts/deps.sh)"
    pid=$(our_pid)
    if [[ -n $pid ]]; then
        # Someone else's test run may be using it: keep it if its readers are the ones
        # asked for.
        if [[ $(cat "$CONFIG_ID" 2>/dev/null) == "$(config_id)" ]]; then
            say "our pcscd is already running (pid $pid) with these readers: using it"
            print_readers
            return 0
        fi
        say "our pcscd is already running (pid $pid) with other readers: restarting it"
        do_stop
    fi
    check_foreign
    mkdir -p "$RUN_DIR"
    write_config
    config_id >"$CONFIG_ID"
    "${SUDO[@]}" mkdir -p "$SYS_DIR"
    : >"$LOG_FILE"
    setsid "${SUDO[@]}" pcscd --foreground --apdu --debug -c "$CONF_DIR" >"$LOG_FILE" 2>&1 </dev/null &
    launcher=$!
    # As root $! is pcscd itself; through sudo it is sudo, and pcscd's own pid is
    # read from the pid file it writes.
    for ((i = 0; i < 250; i++)); do
        if grep -q 'daemon ready' "$LOG_FILE" 2>/dev/null && [[ -S $SYS_SOCK ]]; then
            break
        fi
        if ! kill -0 "$launcher" 2>/dev/null; then
            wait "$launcher" 2>/dev/null || true
            tail -n 20 "$LOG_FILE" >&2 || true
            die "pcscd exited during start-up (log: $LOG_FILE)"
        fi
        sleep 0.02
    done
    sys_pid=$(read_pid "$SYS_PID")
    pid=${sys_pid:-$launcher}
    echo "$pid" >"$PID_FILE"
    if ! grep -q 'daemon ready' "$LOG_FILE" || [[ ! -S $SYS_SOCK ]]; then
        tail -n 20 "$LOG_FILE" >&2 || true
        do_stop >/dev/null || true
        die "pcscd was not ready within 5 s (log: $LOG_FILE)"
    fi
    say "started pcscd (pid $pid) with $ENTRIES vpcd entries = $((2 * ENTRIES)) readers, ports $BASE_PORT-$((BASE_PORT + 2 * ENTRIES - 1)); log $LOG_FILE"
    print_readers
}

do_status() {
    local pid
    pid=$(our_pid)
    if [[ -n $pid ]]; then
        say "running (pid $pid), config $CONF_DIR, log $LOG_FILE"
        return 0
    fi
    pid=$(read_pid "$SYS_PID")
    if [[ -n $pid ]] && is_pcscd "$pid"; then
        say "not running; another pcscd is (pid $pid)"
    else
        say "not running"
    fi
    return 3
}

case ${1:-} in
start) do_start ;;
stop) do_stop ;;
status) do_status ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
