#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The GUI end to end with a real guest: a qmgrd of its own on the system
# libvirtd boots a qube from the gui template (the minimal template plus
# foot, templates/gui), whose GUI channel (the virtio-serial port
# org.qmgr.gui, host side the qube's gui_socket) carries the windows of
# its compositor (qmgr-gui-agent, started by the template's gui-session) to
# gui-proxy, run by an unprivileged user of group qmgr against a headless
# sway.  `qvm-run work foot` opens a window that sway shows as
# "[work] foot" with app_id qmgr.work.foot and a blue border all round;
# keys typed with wtype reach foot's shell in the qube, which runs them.
# gui-proxy runs without --guest: it learns the qube, its label and its GUI
# socket from the test qmgrd's admin socket, follows the qube through a
# shutdown and a start, survives a restart of qmgrd, and redraws the
# border when the label changes.
# TAP output.
#
#   test-gui-vm.sh BUILD_DIR GUI_TEMPLATE_OUT_DIR GUI_PROXY
set -u
B=$1
TPL=$2
PROXY=$(realpath "$3")
LOG_KEEP=/tmp/qmgr-gui-vm-failed.log
for tool in sway grim wtype; do
	command -v "$tool" >/dev/null ||
		{ echo "1..0 # SKIP $tool is not installed"; exit 0; }
done
. "$(dirname "$0")/lib-gui-qmgrd.sh"

echo "1..18"

qmgrd_start || exit 1
for _ in $(seq 100); do [ "$(state default-dvm)" = Halted ] && break; sleep 0.2; done
if out=$(qvm-create --label blue work 2>&1); then ok "qvm-create --label blue work"; else
	not_ok "qvm-create --label blue work" "$out"
fi
if out=$(timeout 180 qvm-start work 2>&1); then ok "work starts"; else
	not_ok "work starts" "$out" "$(tail -n 20 "$QMGR_ROOT/var/log/qmgr/console-work.log")"
	exit 1
fi

# gui-proxy without --guest, as the GUI user of group qmgr: the admin
# socket is qmgrd's default one under QMGR_ROOT, as for the qvm-* tools.
# (not through run(): $! would be a subshell, not the proxy)
"${AS[@]}" "${wenv[@]}" QMGR_ROOT="$QMGR_ROOT" ASAN_OPTIONS=detect_leaks=1 \
	G_MESSAGES_DEBUG=all "$PROXY" >"$GT/proxy.log" 2>&1 &
proxy_pid=$!
pids+=($proxy_pid)
connected() { [ "$(grep -c 'connected to qmgrd at' "$GT/proxy.log")" -ge "$1" ]; }
if wait_for 30 connected 1; then
	ok "gui-proxy without --guest reaches qmgrd's admin socket as a member of group qmgr"
else
	not_ok "gui-proxy without --guest reaches qmgrd's admin socket as a member of group qmgr" \
		"$(ls -ld "$QT" "$QMGR_ROOT" "$QMGR_ROOT/run" "$QMGR_ROOT/run/qmgr" "$QMGR_ROOT/run/qmgr/qmgrd.sock" 2>&1)" \
		"$(tail -n 10 "$GT/proxy.log")"
fi
# The guest's compositor makes its socket once it is up; then foot.
if wait_for 60 qvm-run -p work 'test -S /run/user/1000/wayland-0'; then
	ok "the qube's GUI session runs (its compositor's socket exists)"
else
	not_ok "the qube's GUI session runs (its compositor's socket exists)" \
		"$(qvm-run -p -u root work 'ps; ls -la /run/user/1000' 2>&1)" \
		"$(tail -n 10 "$GT/proxy.log")"
fi
foot_shows() { # NAME
	qvm-run work 'foot /bin/sh >/tmp/foot.log 2>&1'
	if wait_for 120 has_view "[work] foot	qmgr.work.foot	"; then
		ok "$1"
	else
		not_ok "$1" "$(tree)" "$(tail -n 10 "$GT/proxy.log")" \
			"$(qvm-run -p work 'cat /tmp/foot.log' 2>&1 | tail -n 10)"
	fi
}
foot_shows "qvm-run work foot: sway shows '[work] foot', app_id qmgr.work.foot (the qube learnt from qmgrd)"
# The qube's shared GUI region (ivshmem): the agent maps its BAR2, and
# foot's frames come through it (gui-proxy says so, G_MESSAGES_DEBUG).
maps=$(qvm-run -p -u root work 'for p in /proc/[0-9]*; do grep -q qmgr-gui-agent $p/cmdline 2>/dev/null && grep resource2 $p/maps; done' 2>&1)
if echo "$maps" | grep -q resource2; then
	ok "the qube's compositor maps the ivshmem device's BAR2"
else
	not_ok "the qube's compositor maps the ivshmem device's BAR2" "$maps" \
		"$(qvm-run -p -u root work 'ls -l /sys/bus/pci/devices/*/resource2; cat /sys/bus/pci/devices/*/device' 2>&1)"
fi
if grep -q "guest 'work' connected (protocol version 3, shared region)" "$GT/proxy.log" &&
	grep -q "guest 'work' window [0-9]*: frames through the shared region" "$GT/proxy.log"; then
	ok "foot's frames reach gui-proxy through the shared region"
else
	not_ok "foot's frames reach gui-proxy through the shared region" \
		"$(grep -E "guest 'work'|shared region" "$GT/proxy.log" | tail -n 10)"
fi
if wait_for 30 border_ok "[work] foot" 3465a4; then
	ok "the window has work's blue border on all four sides ($(cat "$GT/border.why"))"
else
	not_ok "the window has work's blue border on all four sides" "$(cat "$GT/border.why")"
fi

run swaymsg '[app_id="^qmgr\.work\.foot$"] focus' >/dev/null
# wtype's first key comes with its keyboard's enter: a Shift goes first.
run wtype -k Shift_L "echo typed-on-the-host >/tmp/typed" -k Return
if wait_for 60 qvm-run -p work 'grep -qx typed-on-the-host /tmp/typed'; then
	ok "keys typed on the host reach foot's shell in the qube, which runs them"
else
	not_ok "keys typed on the host reach foot's shell in the qube, which runs them" \
		"$(qvm-run -p work 'cat /tmp/typed /tmp/foot.log' 2>&1 | tail -n 5)" \
		"$(tail -n 20 "$QMGR_ROOT/var/log/qmgr/console-work.log")" \
		"$(tail -n 20 "$GT/proxy.log")"
fi

# The qube stops: its window goes; it starts again: the proxy connects
# to its new GUI channel by itself.
no_view() { ! has_view "$1"; }
if out=$(timeout 120 qvm-shutdown --wait work 2>&1) && wait_for 30 no_view "[work] foot"; then
	ok "qvm-shutdown --wait work: the window is gone"
else
	not_ok "qvm-shutdown --wait work: the window is gone" "$out" "$(tree)"
fi
if out=$(timeout 180 qvm-start work 2>&1) &&
	wait_for 60 qvm-run -p work 'test -S /run/user/1000/wayland-0'; then
	foot_shows "after qvm-start work, qvm-run work foot shows the window again"
	# a new region for the new start, received from qmgrd's socket
	conns=$(grep -c "guest 'work' connected (protocol version 3, shared region)" "$GT/proxy.log")
	if [ "$conns" -ge 2 ] && ! grep -q "guest 'work': .*pixels come through the channel" "$GT/proxy.log"; then
		ok "after the restart gui-proxy gets the qube's new region from qmgrd ($conns connections with one)"
	else
		not_ok "after the restart gui-proxy gets the qube's new region from qmgrd" \
			"$(grep -E "guest 'work'" "$GT/proxy.log" | tail -n 10)"
	fi
else
	not_ok "after qvm-start work, qvm-run work foot shows the window again" "$out" \
		"$(tail -n 20 "$QMGR_ROOT/var/log/qmgr/console-work.log")"
fi

# qmgrd restarts (the qube keeps running; the agent ends the commands
# qmgrd started, foot among them): the proxy reconnects to the admin
# socket, keeps the qube's GUI channel, and follows the new qmgrd.
stop_qmgrd
qmgrd_start || exit 1
if wait_for 30 connected 2 && wait_state work Running; then
	foot_shows "after a qmgrd restart gui-proxy reconnects to it and qvm-run work foot shows the window"
else
	not_ok "after a qmgrd restart gui-proxy reconnects to it and qvm-run work foot shows the window" \
		"state $(state work)" "$(tail -n 10 "$GT/proxy.log")"
fi
if out=$(qvm-prefs work label red 2>&1) && wait_for 30 border_ok "[work] foot" cc0000; then
	ok "qvm-prefs work label red: the border is redrawn red ($(cat "$GT/border.why"))"
else
	not_ok "qvm-prefs work label red: the border is redrawn red" "$out" \
		"$(cat "$GT/border.why")" "$(tail -n 10 "$GT/proxy.log")"
fi

# Fullscreen (foot --fullscreen calls xdg_toplevel.set_fullscreen): not
# honoured while gui_allow_fullscreen is False (the default), honoured
# once it is True, and left with Ctrl-Alt-Shift-F.
fs_mode_of() { fullscreen_mode app_id "$1"; }   # lib-gui.sh
fs_is() { [ "$(fs_mode_of "$1")" = "$2" ]; }
run swaymsg '[app_id="^qmgr\.work\."] kill' >/dev/null
qvm-run work 'foot --app-id=fs1 --fullscreen /bin/sh >/tmp/foot-fs1.log 2>&1'
if wait_for 120 has_view "	qmgr.work.fs1	" && sleep 2 && fs_is qmgr.work.fs1 0; then
	ok "foot --fullscreen in a qube without gui_allow_fullscreen: not fullscreen"
else
	not_ok "foot --fullscreen in a qube without gui_allow_fullscreen: not fullscreen" \
		"mode $(fs_mode_of qmgr.work.fs1)" "$(tree)"
fi
run swaymsg '[app_id="^qmgr\.work\.fs1$"] kill' >/dev/null
qvm-prefs work gui_allow_fullscreen True
qvm-run work 'foot --app-id=fs2 --fullscreen /bin/sh >/tmp/foot-fs2.log 2>&1'
if wait_for 120 has_view "	qmgr.work.fs2	" && wait_for 20 fs_is qmgr.work.fs2 1; then
	ok "with gui_allow_fullscreen True it is fullscreen"
else
	not_ok "with gui_allow_fullscreen True it is fullscreen" \
		"mode $(fs_mode_of qmgr.work.fs2)" "$(tail -n 10 "$GT/proxy.log")"
fi
run swaymsg '[app_id="^qmgr\.work\.fs2$"] focus' >/dev/null
run wtype -k Shift_L -M ctrl -M alt -M shift f -m shift -m alt -m ctrl
if wait_for 20 fs_is qmgr.work.fs2 0; then
	ok "Ctrl-Alt-Shift-F takes it out of fullscreen"
else
	not_ok "Ctrl-Alt-Shift-F takes it out of fullscreen" "mode $(fs_mode_of qmgr.work.fs2)" \
		"$(tail -n 10 "$GT/proxy.log")"
fi

kill -TERM "$proxy_pid"
wait "$proxy_pid"
rc=$?
if [ $rc = 0 ] && ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$GT/proxy.log"; then
	ok "gui-proxy exits 0 on SIGTERM, no sanitizer reports"
else
	not_ok "gui-proxy exits 0 on SIGTERM, no sanitizer reports" "exit $rc" "$(tail -n 30 "$GT/proxy.log")"
fi
[ $fails -eq 0 ]
