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
# gui_socket is for group qmgr; the test's GUI user joins it.
getent group qmgr >/dev/null || groupadd --system qmgr || exit 1

. "$(dirname "$0")/../qmgrd/lib-qmgrd.sh"
QT=$T
eval "$(declare -f cleanup | sed '1s/^cleanup/qmgrd_cleanup/')"
. "$(dirname "$0")/lib-gui.sh"
GT=$T
eval "$(declare -f cleanup | sed '1s/^cleanup/gui_cleanup/')"
cleanup() {
	# qmgrd first: lib-gui's cleanup waits for every child
	T=$QT
	qmgrd_cleanup
	T=$GT
	gui_cleanup
}
trap cleanup EXIT
# lib-gui.sh made the user; group qmgr lets it reach the GUI socket
# (setpriv --init-groups reads the groups at each start).
usermod -a -G qmgr "$GUI_USER" || exit 1

echo "1..7"

# lib-qmgrd's functions work in its own directory
qmgrd_start() { local T=$QT; start_qmgrd "$@"; }
qmgrd_start || exit 1
for _ in $(seq 100); do [ "$(state default-dvm)" = Halted ] && break; sleep 0.2; done
if out=$(qvm-create --label blue work 2>&1); then ok "qvm-create --label blue work"; else
	not_ok "qvm-create --label blue work" "$out"
fi
if out=$(timeout 180 qvm-start work 2>&1); then ok "work starts"; else
	not_ok "work starts" "$out" "$(tail -n 20 "$QMGR_ROOT/var/log/qmgr/console-work.log")"
	exit 1
fi
gs=$(qvm-prefs work gui_socket)

# (not through run(): $! would be a subshell, not the proxy)
"${AS[@]}" "${wenv[@]}" ASAN_OPTIONS=detect_leaks=1 G_MESSAGES_DEBUG=all "$PROXY" \
	--guest "work:blue:$gs" >"$GT/proxy.log" 2>&1 &
proxy_pid=$!
pids+=($proxy_pid)
# The guest's compositor makes its socket once it is up; then foot.
if wait_for 60 qvm-run -p work 'test -S /run/user/1000/wayland-0'; then
	ok "the qube's GUI session runs (its compositor's socket exists)"
else
	not_ok "the qube's GUI session runs (its compositor's socket exists)" \
		"$(qvm-run -p -u root work 'ps; ls -la /run/user/1000' 2>&1)" \
		"$(tail -n 10 "$GT/proxy.log")"
fi
qvm-run work 'foot /bin/sh >/tmp/foot.log 2>&1'
if wait_for 120 has_view "[work] foot	qmgr.work.foot	"; then
	ok "qvm-run work foot: sway shows '[work] foot', app_id qmgr.work.foot"
else
	not_ok "qvm-run work foot: sway shows '[work] foot', app_id qmgr.work.foot" \
		"$(tree)" "$(tail -n 10 "$GT/proxy.log")" \
		"$(qvm-run -p work 'cat /tmp/foot.log' 2>&1 | tail -n 10)"
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

kill -TERM "$proxy_pid"
wait "$proxy_pid"
rc=$?
if [ $rc = 0 ] && ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$GT/proxy.log"; then
	ok "gui-proxy exits 0 on SIGTERM, no sanitizer reports"
else
	not_ok "gui-proxy exits 0 on SIGTERM, no sanitizer reports" "exit $rc" "$(tail -n 30 "$GT/proxy.log")"
fi
[ $fails -eq 0 ]
