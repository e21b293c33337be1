#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# qmgr-tray end to end (docs/desktop.md): a qmgrd of its own with real
# guests, and as an unprivileged user of group qmgr a headless sway, a
# private session bus (dbus-daemon), waybar's tray (a real
# StatusNotifierWatcher and host), mako (the notification server) and
# qmgr-tray.  Checks: the item registers and its icon is on screen; the
# menu (GetLayout) lists the qubes with their states; Event "clicked" on
# Start boots the qube; state changes update the layout (LayoutUpdated)
# without polling; mako gets the notices (started, denied); an `ask` call
# waits, the tray's Requests submenu offers the targets, and choosing one
# lets it through to that target, while Deny (in the menu or as the
# notification's action) and the timeout refuse it; the tray survives
# qmgrd going away and coming back.  TAP output.
#
#   test-tray.sh BUILD_DIR TEMPLATE_OUT_DIR QMGR_TRAY
# QMGR_TRAY_SCREENSHOTS=DIR keeps screenshots of the open menu there
# (tray-menu.png, tray-request.png; docs/images has them).
set -u
B=$1
TPL=$2
TRAY=$(realpath "$3")
HERE=$(cd "$(dirname "$0")" && pwd)
LOG_KEEP=/tmp/qmgr-tray-failed.log
for tool in sway grim waybar mako makoctl dbus-daemon busctl gdbus stdbuf; do
	command -v "$tool" >/dev/null ||
		{ echo "1..0 # SKIP $tool is not installed"; exit 0; }
done
. "$HERE/../gui/lib-gui-qmgrd.sh"

echo "1..41"

POL=$QMGR_ROOT/etc/qmgr/policy.d
mkdir -p "$POL"
cat >"$POL/30-test.policy" <<'EOF2'
qmgr.VMExec  *  work  @anyvm  ask default_target=personal
test.Deny    *  work  @anyvm  deny notify=yes
test.Quiet   *  work  @anyvm  deny notify=no
*            *  @anyvm @anyvm deny notify=no
EOF2

qmgrd_start --prompt-timeout 25 || exit 1
for _ in $(seq 100); do [ "$(state default-dvm)" = Halted ] && break; sleep 0.2; done
check "qvm-create work (blue) and personal (green)" bash -c \
	'qvm-create --label blue work && qvm-create --label green personal'

# --- the session: bus, notification server, panel with a tray
# Background programs are started without a shell function in between, so
# that $! is the program itself (setpriv and env exec it) and the cleanup
# kills it: `run ... &` would give the subshell's pid.
ADDR=unix:path=$GT/bus
bus_config "$GT/bus.conf" "$ADDR"   # no service activation (lib-gui.sh)
"${AS[@]}" "${wenv[@]}" dbus-daemon --config-file="$GT/bus.conf" --nofork \
	--nopidfile >"$GT/dbus.log" 2>&1 &
pids+=($!)
wait_for 10 test -S "$GT/bus" || { echo "Bail out! dbus-daemon did not start"; exit 1; }
wenv+=(DBUS_SESSION_BUS_ADDRESS="$ADDR")
"${AS[@]}" "${wenv[@]}" mako >"$GT/mako.log" 2>&1 &
pids+=($!)
cat >"$GT/waybar.json" <<'EOF2'
{ "layer": "top", "position": "top", "height": 32,
  "modules-left": [], "modules-center": [], "modules-right": ["tray"],
  "tray": { "icon-size": 24, "spacing": 8 } }
EOF2
cat >"$GT/waybar.css" <<'EOF2'
* { font-family: sans-serif; font-size: 13px; }
window#waybar { background: #202020; }
EOF2
chown "$GUI_USER": "$GT"/waybar.*
# (NO_AT_BRIDGE: GTK would start at-spi's bus daemons, which outlive it)
"${AS[@]}" "${wenv[@]}" NO_AT_BRIDGE=1 waybar -c "$GT/waybar.json" -s "$GT/waybar.css" \
	>"$GT/waybar.log" 2>&1 &
waybar_pid=$!
pids+=($waybar_pid)
bus() { run busctl --address="$ADDR" "$@"; }
watcher_up() { bus --json=short get-property org.kde.StatusNotifierWatcher \
	/StatusNotifierWatcher org.kde.StatusNotifierWatcher \
	IsStatusNotifierHostRegistered 2>/dev/null | grep -q true; }
mako_up() { bus status org.freedesktop.Notifications >/dev/null 2>&1; }
if ! wait_for 30 watcher_up || ! wait_for 10 mako_up; then
	echo "Bail out! waybar's tray or mako did not come up"
	tail -n 5 "$GT/waybar.log" "$GT/mako.log" | sed 's/^/# /'
	fails=1
	exit 1
fi

# --- the tray, as the user, on the test qmgrd's socket
"${AS[@]}" "${wenv[@]}" QMGR_ROOT="$QMGR_ROOT" G_MESSAGES_DEBUG=qmgr-tray \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	"$TRAY" >"$GT/tray.log" 2>&1 &
tray_pid=$!
pids+=($tray_pid)
NAME=org.kde.StatusNotifierItem-$tray_pid-1
registered() { bus --json=short get-property org.kde.StatusNotifierWatcher \
	/StatusNotifierWatcher org.kde.StatusNotifierWatcher \
	RegisteredStatusNotifierItems 2>/dev/null | grep -q "$NAME"; }
if wait_for 20 registered; then
	ok "the item registers with waybar's StatusNotifierWatcher"
else
	not_ok "the item registers with waybar's StatusNotifierWatcher" \
		"$(bus --json=short get-property org.kde.StatusNotifierWatcher /StatusNotifierWatcher org.kde.StatusNotifierWatcher RegisteredStatusNotifierItems 2>&1)" \
		"$(tail -n 5 "$GT/tray.log")"
fi

# (-- so that busctl does not take -1 for an option)
layout() { bus --json=short -- call "$NAME" /MenuBar com.canonical.dbusmenu \
	GetLayout iias 0 -1 0 >"$T/layout.json" 2>"$T/layout.err"; }
menu() { layout && $PY "$HERE/menu.py" "$@" <"$T/layout.json"; }
has() { menu id "$@" >/dev/null; }
click() {   # click LABEL...: Event "clicked" on that item
	local id
	id=$(menu id "$@") || { echo "no item $*"; return 1; }
	bus call "$NAME" /MenuBar com.canonical.dbusmenu Event isvu \
		"$id" clicked s "" 0
}
# pixels of colour RRGGBB in the panel (the top 32 rows)
panel_pixels() {
	run grim -t ppm -g "0,0 1280x32" "$T/panel.ppm" 2>/dev/null || { echo 0; return; }
	$PY - "$T/panel.ppm" "$1" <<'EOF2'
import sys
data = open(sys.argv[1], 'rb').read()
magic, dims, maxval, px = data.split(b'\n', 3)
want = bytes.fromhex(sys.argv[2])
print(sum(1 for i in range(0, len(px), 3) if px[i:i + 3] == want))
EOF2
}
icon_shows() { [ "$(panel_pixels "$1")" -ge "${2:-40}" ]; }
W=$'\u2014'
# absent from a layout that was read (not: the layout could not be read)
lacks() { layout && ! $PY "$HERE/menu.py" id "$@" <"$T/layout.json" >/dev/null; }
no_requests() { lacks "Requests*"; }
gone() { ! kill -0 "$1" 2>/dev/null; }
is_state() { [ "$(state "$1")" = "$2" ]; }

if wait_for 20 has "work $W Halted"; then
	ok "GetLayout lists the qubes with their states"
else
	not_ok "GetLayout lists the qubes with their states" "$(menu tree 2>&1)" "$(cat "$T/layout.err")"
fi
if has "personal $W Halted" Start && has "personal $W Halted" "Open terminal" &&
	has "personal $W Halted" Terminal && lacks "personal $W Halted" Kill; then
	ok "the halted qube offers Start, Open terminal and the configured entry, not Kill"
else
	not_ok "the halted qube offers Start, Open terminal and the configured entry, not Kill" "$(menu tree 2>&1)"
fi
if has Disposable default-dvm Firefox && has Disposable default-dvm Terminal; then
	ok "the Disposable submenu has default-dvm with Firefox and Terminal"
else
	not_ok "the Disposable submenu has default-dvm with Firefox and Terminal" "$(menu tree 2>&1)"
fi
menu tree | sed 's/^/# /'
if wait_for 10 icon_shows ffffff && icon_shows 2e3436 20; then
	ok "the icon is in the panel: no qube running (white square, dark frame)"
else
	not_ok "the icon is in the panel: no qube running (white square, dark frame)" \
		"white: $(panel_pixels ffffff), frame: $(panel_pixels 2e3436)" "$(tail -n 5 "$GT/waybar.log")"
fi

# --- Start from the menu; the layout follows qmgrd's events
"${AS[@]}" "${wenv[@]}" stdbuf -oL gdbus monitor --session --dest "$NAME" --object-path /MenuBar \
	>"$T/monitor.log" 2>&1 &
pids+=($!)
sleep 1
updates() { grep -c "LayoutUpdated" "$T/monitor.log"; }
before=$(updates)
sleep 5
same "no LayoutUpdated while nothing changes (no polling)" "$before" "$(updates)"
if click "work $W Halted" Start >"$T/click.out" 2>&1; then
	ok "Event clicked on work's Start is accepted"
else
	not_ok "Event clicked on work's Start is accepted" "$(cat "$T/click.out")"
fi
if wait_for 180 is_state work Running; then
	ok "work really starts (a real guest)"
else
	not_ok "work really starts (a real guest)" "state: $(state work)" "$(tail -n 5 "$GT/tray.log")"
fi
if wait_for 10 has "work $W Running" "Shut down" && [ "$(updates)" -gt "$before" ]; then
	ok "LayoutUpdated came and the layout shows work Running with Shut down ($(( $(updates) - before )) updates)"
else
	not_ok "LayoutUpdated came and the layout shows work Running with Shut down" \
		"updates: $before -> $(updates)" "$(menu tree 2>&1)"
fi
first=$(menu tree | sed -n 1p)
[[ $first == *"work $W Running"* ]] && ok "running qubes come first" ||
	not_ok "running qubes come first" "$first"
if wait_for 10 icon_shows 4e9a06; then
	ok "the icon turns green: a qube runs"
else
	not_ok "the icon turns green: a qube runs" "green: $(panel_pixels 4e9a06)"
fi
refuse "Event on an id no item has is an error" "no menu item" \
	bus call "$NAME" /MenuBar com.canonical.dbusmenu Event isvu 99999 clicked s "" 0

# --- notifications (mako)
notes() { run makoctl list 2>/dev/null; }
noted() { notes | grep -qF -- "$1"; }
if wait_for 10 noted "work started"; then ok "mako shows 'work started'"; else
	not_ok "mako shows 'work started'" "$(notes | head -c 2000)"
fi
refuse "a call denied by a notify=yes rule is refused" "" \
	qvm-run -p work "qmgr-rpc-client personal test.Deny+xyz"
if wait_for 10 noted "Call denied: work" && noted "test.Deny" && noted "+xyz"; then
	ok "mako shows the denial with the service and argument"
else
	not_ok "mako shows the denial with the service and argument" "$(notes | head -c 2000)"
fi
qvm-run -p work "qmgr-rpc-client personal test.Quiet" >/dev/null 2>&1
sleep 2
! notes >/dev/null || noted "test.Quiet" && not_ok "a notify=no denial is not shown" "$(notes | head -c 2000)" ||
	ok "a notify=no denial is not shown"

# --- ask: the Requests submenu answers
ask() {   # ask OUT: a call from work that the policy asks about
	qvm-run -p work "qmgr-rpc-client @default qmgr.VMExec+hostname" >"$1" 2>&1 &
}
ask "$T/ask1.out"
ask_pid=$!
REQ="work wants qmgr.VMExec+hostname"
if wait_for 30 has "Requests (1)" "$REQ" "Allow to personal (default)"; then
	ok "the waiting call is in the Requests submenu, naming source, service and argument"
else
	not_ok "the waiting call is in the Requests submenu, naming source, service and argument" "$(menu tree 2>&1)"
fi
targets=$(menu tree | awk -v r="$REQ" 'index($0, r) { on = 1; next } on && /^    / { print } on && !/^    / { on = 0 }' |
	sed 's/^ *[0-9]* //' | tr '\n' '|')
[[ $targets == "Allow to personal (default)|"*"|-|Deny|" ]] &&
	ok "the targets are offered default first, then Deny" ||
	not_ok "the targets are offered default first, then Deny" "$targets"
if wait_for 10 icon_shows f57900; then ok "the icon turns orange: a request waits"; else
	not_ok "the icon turns orange: a request waits" "orange: $(panel_pixels f57900)"
fi
if wait_for 10 noted "work asks to call qmgr.VMExec"; then
	ok "mako shows the question"
else
	not_ok "mako shows the question" "$(notes | head -c 2000)"
fi

# waybar shows our dbusmenu as a GTK menu when the icon is clicked: a
# virtual pointer (the headless sway has none) clicks it, hovers over
# Requests, then over the question, whose targets open in a submenu to
# the right, the default first, at the height of the question; the
# screenshots are kept; then it clicks that first target, as a user
# would (libdbusmenu-gtk sends Event "clicked").
white() { $PY - "$1" <<'EOF2'
import sys
data = open(sys.argv[1], 'rb').read()
magic, dims, maxval, px = data.split(b'\n', 3)
W, H = map(int, dims.split())
px = px[W * 3 * 32:]         # below the panel
print(sum(1 for i in range(0, len(px), 3) if px[i:i + 3] == b'\xff\xff\xff'))
EOF2
}
run grim -t ppm "$T/before.ppm" 2>/dev/null
"${AS[@]}" "${wenv[@]}" $PY "$HERE/vpointer.py" 1280 720 move 1268 16 sleep 0.5 click sleep 1.5 \
	move 1236 33 sleep 1.5 move 1010 33 sleep 0.3 move 960 33 sleep 0.3 \
	move 900 34 sleep 3.5 move 1100 34 sleep 0.5 click \
	>"$T/vpointer.log" 2>&1 &
vp=$!
sleep 1.5
run grim -t ppm "$T/menu-open.ppm" 2>/dev/null
sleep 1.7
run grim "$T/tray-menu.png" 2>/dev/null      # Requests open
sleep 2.8
run grim "$T/tray-request.png" 2>/dev/null   # the question's targets
wait "$vp"
w0=$(white "$T/before.ppm")
w1=$(white "$T/menu-open.ppm")
if [ "$w1" -gt $((w0 + 3000)) ]; then
	ok "a click on the icon in waybar opens the menu ($w0 -> $w1 white pixels)"
else
	not_ok "a click on the icon in waybar opens the menu" "white pixels $w0 -> $w1" \
		"$(cat "$T/vpointer.log")" "$(tail -n 5 "$GT/waybar.log")"
fi
if [ -n "${QMGR_TRAY_SCREENSHOTS:-}" ]; then
	cp "$T/tray-menu.png" "$T/tray-request.png" "$QMGR_TRAY_SCREENSHOTS" &&
		echo "# screenshots of the menu in $QMGR_TRAY_SCREENSHOTS"
fi

if wait_for 10 grep -q "answered: personal" "$GT/tray.log"; then
	ok "choosing the default target in waybar's menu (a click) answers it"
else
	not_ok "choosing the default target in waybar's menu (a click) answers it" \
		"$(cat "$T/vpointer.log")" "$(tail -n 5 "$GT/tray.log")"
	# answer over D-Bus instead, so that the rest can go on
	click Requests* "$REQ" "Allow to personal (default)"
fi
wait_for 180 gone "$ask_pid"
same "the call went through to personal (its hostname came back)" personal "$(cat "$T/ask1.out")"
if wait_for 10 no_requests; then
	ok "the answered request leaves the menu"
else
	not_ok "the answered request leaves the menu" "$(menu tree 2>&1)"
fi

ask "$T/ask2.out"
ask_pid=$!
wait_for 30 has Requests* "$REQ" Deny
if click Requests* "$REQ" Deny >"$T/click.out" 2>&1 &&
	wait_for 30 gone "$ask_pid" &&
	! wait "$ask_pid"; then
	ok "Deny in the menu refuses the call"
else
	not_ok "Deny in the menu refuses the call" "$(cat "$T/click.out" "$T/ask2.out")"
fi
grep -q "refused" "$T/ask2.out" && ok "the caller is told it was refused" ||
	not_ok "the caller is told it was refused" "$(cat "$T/ask2.out")"

# Deny as the notification's action (mako invokes it)
ask "$T/ask3.out"
ask_pid=$!
note_id() { notes | $PY -c '
import json, sys
for group in json.load(sys.stdin)["data"]:
    for n in group:
        if "asks to call" in n["summary"]["data"]:
            print(n["id"]["data"]); sys.exit(0)
sys.exit(1)'; }
if wait_for 30 note_id >/dev/null && run makoctl invoke -n "$(note_id)" deny &&
	wait_for 30 gone "$ask_pid" && ! wait "$ask_pid"; then
	ok "Deny as the notification's action refuses the call"
else
	not_ok "Deny as the notification's action refuses the call" "$(cat "$T/ask3.out")" "$(notes | head -c 1500)"
fi

# no answer: qmgrd's timeout (25 s here) refuses, the tray forgets it
ask "$T/ask4.out"
ask_pid=$!
wait_for 30 has Requests* "$REQ"
t0=$SECONDS
if wait_for 60 gone "$ask_pid" && ! wait "$ask_pid" &&
	grep -q "no answer" "$T/ask4.out"; then
	ok "no answer: refused when the time runs out ($((SECONDS - t0)) s)"
else
	not_ok "no answer: refused when the time runs out" "$(cat "$T/ask4.out")"
fi
if wait_for 5 no_requests &&
	notes >/dev/null && ! noted "asks to call"; then
	ok "the timed-out request leaves the menu and its notification closes"
else
	not_ok "the timed-out request leaves the menu and its notification closes" "$(menu tree 2>&1)" "$(notes | head -c 1500)"
fi
if wait_for 10 icon_shows 4e9a06; then ok "the icon is green again"; else
	not_ok "the icon is green again" "green: $(panel_pixels 4e9a06) orange: $(panel_pixels f57900)"
fi

# --- Shut down and Kill from the menu
if click "personal $W Running" "Shut down" >"$T/click.out" 2>&1 &&
	wait_for 120 is_state personal Halted; then
	ok "Shut down in the menu stops personal"
else
	not_ok "Shut down in the menu stops personal" "$(cat "$T/click.out")" "state: $(state personal)"
fi
if wait_for 10 noted "personal stopped"; then ok "mako shows 'personal stopped'"; else
	not_ok "mako shows 'personal stopped'" "$(notes | head -c 2000)"
fi

# --- qmgrd goes away and comes back
stop_qmgrd
if wait_for 10 has "qmgrd is not reachable*"; then
	ok "qmgrd gone: the menu says it is not reachable"
else
	not_ok "qmgrd gone: the menu says it is not reachable" "$(menu tree 2>&1)"
fi
if wait_for 10 icon_shows cc0000 10; then ok "and the icon is crossed out"; else
	not_ok "and the icon is crossed out" "red: $(panel_pixels cc0000)"
fi
qmgrd_start --prompt-timeout 25 || exit 1
if wait_for 20 has "work $W Running" Kill; then
	ok "qmgrd back: the tray reconnects and lists the qubes again"
else
	not_ok "qmgrd back: the tray reconnects and lists the qubes again" "$(menu tree 2>&1)" "$(tail -n 5 "$GT/tray.log")"
fi
if click "work $W Running" Kill >"$T/click.out" 2>&1 &&
	wait_for 60 is_state work Halted; then
	ok "Kill in the menu stops work"
else
	not_ok "Kill in the menu stops work" "$(cat "$T/click.out")" "state: $(state work)"
fi
if wait_for 10 icon_shows ffffff; then ok "the icon is white again: nothing runs"; else
	not_ok "the icon is white again: nothing runs" "white: $(panel_pixels ffffff)"
fi

# the panel restarts: its new watcher gets the item again
kill "$waybar_pid"; wait "$waybar_pid" 2>/dev/null
"${AS[@]}" "${wenv[@]}" NO_AT_BRIDGE=1 waybar -c "$GT/waybar.json" -s "$GT/waybar.css" \
	>>"$GT/waybar.log" 2>&1 &
pids+=($!)
if wait_for 30 registered && wait_for 10 icon_shows ffffff; then
	ok "a restarted waybar gets the item again (re-registered with the new watcher)"
else
	not_ok "a restarted waybar gets the item again (re-registered with the new watcher)" \
		"$(grep -i watcher "$GT/tray.log" | tail -n 5)"
fi

# the tray exits cleanly (sanitizers report at exit)
kill -TERM "$tray_pid"
wait "$tray_pid"; rc=$?
same "qmgr-tray exits 0 on SIGTERM" 0 "$rc"
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:|CRITICAL|WARNING" "$GT/tray.log"; then
	not_ok "the tray's log has no sanitizer report, warning or critical" \
		"$(grep -E -A5 "ERROR: |runtime error:|CRITICAL|WARNING" "$GT/tray.log" | head -n 30)"
else
	ok "the tray's log has no sanitizer report, warning or critical"
fi
[ "$fails" -gt 0 ] && { echo "# tray log:"; tail -n 40 "$GT/tray.log" | sed 's/^/# /'; }
exit 0
