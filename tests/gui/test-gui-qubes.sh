#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# gui-proxy learning its qubes from qmgrd (no --guest), with the qubes'
# settings that concern it: a test qmgrd on libvirt's test driver (no
# qube boots; a started qube stays "Transient" until killed) whose qubes'
# gui_socket paths are served by fake guests (fake-guest.py, run as root
# since the run directory is qmgrd's), a headless sway, and mako on a
# private session bus.  Checks (docs/gui.md):
# - a qube that breaks the protocol each time it is restarted is dropped
#   each time, but makes one desktop notification in 30 s; without a
#   notification server a drop is logged and the proxy goes on;
# - gui_allow_fullscreen: a fullscreen request of a qube without it is
#   not honoured; with it (set while the qube runs: the vm-property
#   event), the window goes fullscreen, border kept; Ctrl-Alt-Shift-F
#   takes it out, is not sent to the guest, and the guest's next request
#   is held back; revoking the setting leaves fullscreen at once; a new
#   proxy learns the setting from vm.List.
# TAP output.
#
#   test-gui-qubes.sh GUI_PROXY FAKE_GUEST_PY BUILD_DIR
set -u
PROXY=$(realpath "$1")
FAKE=$(realpath "$2")
B=$(realpath "$3")
. "$(dirname "$0")/lib-gui.sh"
command -v qemu-img >/dev/null || { echo "1..0 # SKIP qemu-img is not installed"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (a test qmgrd)"; exit 0; }

# ---- a qmgrd on libvirt's test driver, reachable by the GUI user ----
CT=$(mktemp -d /tmp/qmgr-guiqubes.XXXXXX)
chmod 0755 "$CT"
ROOT=$CT/root
export QMGR_ROOT=$ROOT
PATH=$B/qvm-tools:$PATH
qmgrd_pid=
eval "$(declare -f cleanup | sed '1s/^cleanup/gui_cleanup/')"
cleanup() {
	[ -n "$qmgrd_pid" ] && kill "$qmgrd_pid" 2>/dev/null && wait "$qmgrd_pid" 2>/dev/null
	[ "$fails" -gt 0 ] && cp "$CT/qmgrd.log" "$T/" 2>/dev/null
	rm -rf "$CT"
	gui_cleanup
}
trap cleanup EXIT
getent group qmgr >/dev/null || groupadd --system qmgr || exit 1
usermod -a -G qmgr "$GUI_USER" || exit 1
tpl=$CT/templates/minimal
fake_template "$tpl" || exit 1
"$B/qmgrd/qmgrd" --root "$ROOT" --libvirt-uri test:///default \
	--template-dir "$CT/templates" --start-timeout 600 >"$CT/qmgrd.log" 2>&1 &
qmgrd_pid=$!
for _ in $(seq 200); do
	[ "$(qvm-ls --raw-list 2>/dev/null | wc -l)" -ge 2 ] && break
	sleep 0.1
done
for q in work:blue evil:red; do
	qvm-create --label "${q#*:}" "${q%%:*}" >/dev/null 2>&1 ||
		{ echo "1..0 # SKIP the test qmgrd cannot create qubes: $(tail -n 3 "$CT/qmgrd.log" | tr '\n' ' ')"; exit 0; }
done

echo "1..18"

if ! start_notifier; then
	echo "# no notification server: $(cat "$T/notifier.why")"
fi

state_of() { qvm-ls 2>/dev/null | awk -v q="$1" '$1 == q { print $2 }'; }
up() { [ -n "$(state_of "$1")" ] && [ "$(state_of "$1")" != Halted ]; }
# start_qube NAME SCENARIO: qvm-start in the background (it waits for an
# agent that never comes), then a fake guest on the qube's gui_socket
# (made anew at each start: qmgrd removes the old one)
start_qube() {
	local sock
	qvm-start "$1" >/dev/null 2>&1 &
	pids+=($!)
	wait_for 20 up "$1" || return 1
	sock=$(qvm-prefs "$1" gui_socket)
	$PY "$FAKE" --socket "$sock" --mode 0666 --log "$T/$1.log" \
		--color 00ff00 --scenario "$2" --wait-for "$T/$1.go" \
		>>"$T/$1.out" 2>&1 &
	pids+=($!)
	eval "guest_$1=$!"
	wait_for 10 test -S "$sock"
}
stop_qube() {
	local p
	eval "p=\$guest_$1"
	qvm-kill "$1" >/dev/null 2>&1
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	wait_for 20 halted "$1"
}
halted() { [ "$(state_of "$1")" = Halted ]; }
start_proxy() {
	"${AS[@]}" "${wenv[@]}" "${bus_env[@]}" ASAN_OPTIONS=detect_leaks=1 \
		"$PROXY" --admin-socket "$ROOT/run/qmgr/qmgrd.sock" \
		>>"$T/proxy.log" 2>&1 &
	proxy_pid=$!
	pids+=($proxy_pid)
}

# ---- a qube that misbehaves at every start: one notice in 30 s ----
touch "$T/evil.go"      # breaks the protocol as soon as it is connected
start_proxy
drops() { grep -c "guest 'evil' violated the GUI protocol" "$T/proxy.log"; }
cycles=0
for i in 1 2 3 4; do
	start_qube evil oversize || break
	wait_for 20 eval '[ "$(drops)" -ge '$i' ]' || break
	stop_qube evil || break
	cycles=$i
done
if [ "$cycles" = 4 ] && [ "$(drops)" = 4 ]; then
	ok "a qube restarted four times breaks the protocol each time and is dropped each time"
else
	not_ok "a qube restarted four times breaks the protocol each time and is dropped each time" \
		"cycles $cycles, drops $(drops)" "$(tail -n 10 "$T/proxy.log")" "$(tail -n 5 "$CT/qmgrd.log")"
fi
evil_notices() { notices | grep -cF "qmgr: GUI of qube 'evil' disconnected"; }
if [ ${#bus_env[@]} = 0 ]; then
	ok "# SKIP no notification server"
	ok "# SKIP no notification server"
else
	sleep 1
	if [ "$(evil_notices)" = 1 ]; then
		ok "the four drops make one desktop notification"
	else
		not_ok "the four drops make one desktop notification" "$(notices)"
	fi
	check "the three held back are logged" eval \
		'[ "$(grep -c "guest '"'evil'"': no desktop notification (one was shown less than 30 s ago)" "$T/proxy.log")" = 3 ]'
fi

# no notification server on the bus (mako gone): the drop is logged, the
# proxy goes on
if [ ${#bus_env[@]} = 0 ]; then
	ok "# SKIP no notification server"
else
	kill "$mako_pid"
	wait "$mako_pid" 2>/dev/null
	qvm-create --label orange evil2 >/dev/null 2>&1
	touch "$T/evil2.go"
	start_qube evil2 oversize
	if wait_for 20 grep -q "no desktop notification shown (.*): the notice is in this log only" "$T/proxy.log" &&
		grep -q "guest 'evil2' violated the GUI protocol" "$T/proxy.log" &&
		kill -0 "$proxy_pid"; then
		ok "without a notification server the drop is logged and the proxy goes on"
	else
		not_ok "without a notification server the drop is logged and the proxy goes on" \
			"$(grep -i notif "$T/proxy.log" | tail -n 3)"
	fi
	stop_qube evil2
fi

# ---- fullscreen ----
fs_mode() { fullscreen_mode name "$1"; }   # lib-gui.sh
fs_is() { [ "$(fs_mode "[work] hello")" = "$1" ]; }
# configures STATE: the guest's CONFIGUREs (window 1) with / without the
# FULLSCREEN state (2)
configures() {
	awk -v want="$1" '$1 == "CONFIGURE" && $2 == 1 {
		fs = int($5 / 2) % 2; if ((want == "fs") == (fs == 1)) n++ }
		END { print n + 0 }' "$T/work.log"
}
requested() { grep -c '^REQUESTED-FULLSCREEN' "$T/work.log"; }

check "work (gui_allow_fullscreen unset) reads False" \
	eval '[ "$(qvm-prefs work gui_allow_fullscreen)" = False ]'
start_qube work fullscreen
if wait_for 20 has_view "[work] hello	qmgr.work."; then
	ok "gui-proxy learns work from qmgrd and shows its window"
else
	not_ok "gui-proxy learns work from qmgrd and shows its window" "$(tree)" "$(tail -n 10 "$T/proxy.log")"
fi
touch "$T/work.go"
wait_for 10 eval '[ "$(requested)" -ge 1 ]'
sleep 1
if fs_is 0 && [ "$(configures fs)" = 0 ]; then
	ok "not allowed: a fullscreen request is not honoured (fullscreen_mode 0, no FULLSCREEN configure)"
else
	not_ok "not allowed: a fullscreen request is not honoured" "mode $(fs_mode "[work] hello")" "$(grep CONFIGURE "$T/work.log")"
fi

qvm-prefs work gui_allow_fullscreen True
check "the vm-property event reaches the proxy" \
	wait_for 10 grep -q "guest 'work': fullscreen allowed" "$T/proxy.log"
touch "$T/work.go.2"
if wait_for 10 fs_is 1 && wait_for 10 eval '[ "$(configures fs)" -ge 1 ]'; then
	ok "allowed: the request makes the window fullscreen (fullscreen_mode 1), the guest is configured FULLSCREEN"
else
	not_ok "allowed: the request makes the window fullscreen" "mode $(fs_mode "[work] hello")" "$(grep CONFIGURE "$T/work.log")"
fi
fs_configured_to() {    # fs_configured_to W H: a FULLSCREEN configure of W x H
	awk -v w="$1" -v h="$2" '$1 == "CONFIGURE" && $2 == 1 && $3 == w &&
		$4 == h && int($5 / 2) % 2 { f = 1 } END { exit !f }' "$T/work.log"
}
check "the fullscreen configure is the output less the border (1272x712)" \
	fs_configured_to 1272 712
if wait_for 10 border_ok "[work] hello" 3465a4 00ff00; then
	ok "in fullscreen the border stays: blue on all four sides ($(cat "$T/border.why"))"
else
	not_ok "in fullscreen the border stays: blue on all four sides" "$(cat "$T/border.why")"
fi

# the host key
run swaymsg '[app_id="^qmgr\.work\."] focus' >/dev/null
fs_configures=$(configures fs)
plain_before=$(configures plain)
run wtype -k Shift_L -M ctrl -M alt -M shift f -m shift -m alt -m ctrl
if wait_for 10 fs_is 0; then
	ok "Ctrl-Alt-Shift-F leaves fullscreen (fullscreen_mode 0)"
else
	not_ok "Ctrl-Alt-Shift-F leaves fullscreen (fullscreen_mode 0)" "mode $(fs_mode "[work] hello")" "$(tail -n 5 "$T/proxy.log")"
fi
check "the guest got a configure without FULLSCREEN" \
	wait_for 5 eval '[ "$(configures plain)" -gt "$plain_before" ]'
check "the key did not reach the guest" eval '! grep -qE "^TYPED [fF]$" "$T/work.log"'
touch "$T/work.go.3"
wait_for 10 eval '[ "$(requested)" -ge 3 ]'
sleep 1
if fs_is 0 && [ "$(configures fs)" = "$fs_configures" ]; then
	ok "a request right after the key is held back (maximized, not fullscreen, for 10 s)"
else
	not_ok "a request right after the key is held back" "mode $(fs_mode "[work] hello")"
fi

# after the hold, allowed again; revoking the setting leaves at once
sleep 10
touch "$T/work.go.4"
wait_for 10 fs_is 1
qvm-prefs work gui_allow_fullscreen False
if wait_for 10 fs_is 0; then
	ok "after the hold fullscreen is granted again, and revoking gui_allow_fullscreen leaves it at once"
else
	not_ok "after the hold fullscreen is granted again, and revoking gui_allow_fullscreen leaves it at once" \
		"mode $(fs_mode "[work] hello")" "$(tail -n 5 "$T/proxy.log")"
fi

# a new proxy learns the setting from vm.List
qvm-prefs work gui_allow_fullscreen True
kill -TERM "$proxy_pid"
wait "$proxy_pid"
rc=$?
start_proxy
# the guest asks again on the new connection (its trigger files exist)
if wait_for 20 fs_is 1; then
	ok "a new proxy learns gui_allow_fullscreen from vm.List: the request is honoured"
else
	not_ok "a new proxy learns gui_allow_fullscreen from vm.List: the request is honoured" \
		"mode $(fs_mode "[work] hello")" "$(tail -n 5 "$T/proxy.log")"
fi

kill -TERM "$proxy_pid"
wait "$proxy_pid"
rc2=$?
if [ $rc = 0 ] && [ $rc2 = 0 ] && ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$T/proxy.log"; then
	ok "gui-proxy exits 0 on SIGTERM (twice), no sanitizer reports"
else
	not_ok "gui-proxy exits 0 on SIGTERM (twice), no sanitizer reports" "exit $rc $rc2" "$(tail -n 30 "$T/proxy.log")"
fi
for q in work evil evil2; do qvm-kill "$q" >/dev/null 2>&1; done
[ "$n" = 18 ] || echo "# planned 18 tests, ran $n"
[ $fails -eq 0 ]
