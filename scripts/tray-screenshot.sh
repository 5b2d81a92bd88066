#!/usr/bin/env bash
# Shows `mohur agent`'s tray icon on a virtual X display and takes a screenshot of it:
# Xvfb as the display, trayer as the tray (an XEmbed system tray), the agent with
# --port 0 and no PC/SC, ImageMagick's `import` for the picture.
#
#   [TRAY_MENU=1] [MOHUR_LANG=az] scripts/tray-screenshot.sh OUT.png [MOHUR_BINARY [AGENT_ARGS...]]
#
# With TRAY_MENU=1 the icon is right-clicked as a person does (xdotool) and OUT.png shows
# its menu; OUT-before.png is the screen before the click. MOHUR_LANG: the agent's
# language (default en).
#
# Exit 0 with OUT.png written; 2 when an X tool is missing (Debian: xvfb xauth trayer
# imagemagick, and xdotool for the menu); 1 on failure. Everything it starts is stopped
# when it exits.
set -euo pipefail

out=${1:?usage: tray-screenshot.sh OUT.png [MOHUR_BINARY [AGENT_ARGS...]]}
mohur=${2:-$(dirname "$0")/../target/debug/mohur}
shift $(($# < 2 ? $# : 2))
menu=${TRAY_MENU:-0}
tools=(Xvfb trayer import convert)
((menu)) && tools+=(xdotool)
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null || { echo "tray-screenshot.sh: $tool is missing" >&2; exit 2; }
done

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

unset WAYLAND_DISPLAY
# Room below the tray for the menu when it is to be opened.
if ((menu)); then screen=480x360x24; else screen=320x64x24; fi
# Xvfb picks a free display itself and writes its number (-displayfd): two of these
# scripts started at once (the tests run in parallel) never take the same one.
Xvfb -displayfd 3 -screen 0 "$screen" -nolisten tcp 3>"$work/display" >"$work/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s $work/display ]] && break; sleep 0.1; done
n=$(tr -dc 0-9 <"$work/display")
[[ -n $n ]] || { echo "tray-screenshot.sh: Xvfb did not start:" >&2; cat "$work/xvfb.log" >&2; exit 1; }
export DISPLAY=:$n

trayer --edge top --align left --widthtype pixel --width 160 --heighttype pixel --height 32 \
    --transparent false --tint 0xffffff >"$work/trayer.log" 2>&1 &
pids+=($!)
sleep 1

HOME=$work XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data MOHUR_LANG=${MOHUR_LANG:-en} \
    "$mohur" agent --port 0 --no-pcsc --no-well-known-modules "$@" >"$work/agent.out" 2>"$work/agent.log" &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$work/agent.out" 2>/dev/null && break; sleep 0.1; done
grep -q "listening on" "$work/agent.out" || { echo "tray-screenshot.sh: the agent did not start:" >&2; cat "$work/agent.log" >&2; exit 1; }
# The icon appears once the tray host has embedded it.
sleep 2
if ((menu)); then
    import -window root "${out%.png}-before.png"
    # The icon is the tray's first, at its left (trayer: top left, 32 pixels high).
    xdotool mousemove 16 16 click 3
    # Until the menu is drawn (a loaded machine takes a while), at most 10 s.
    for _ in $(seq 50); do
        sleep 0.2
        import -window root "$out"
        # compare exits 1 when the pictures differ: that is the answer, not a failure.
        changed=$({ compare -metric AE "${out%.png}-before.png" "$out" null: 2>&1 || true; } | tr -dc 0-9. | cut -d. -f1)
        ((${changed:-0} > 5000)) && break
    done
    echo "tray-screenshot.sh: $out"
    exit 0
fi
import -window root "$out"
echo "tray-screenshot.sh: $out"
