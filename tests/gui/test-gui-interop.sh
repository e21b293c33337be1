#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# gui-proxy with the real guest side: qmgr-gui-agent (the guest's
# compositor, guest-agent/gui/) run on the host, the two joined by
# relay.py as QEMU's virtio-serial port would join them, and real Wayland
# apps (foot, weston-simple-shm) in the agent's compositor.  No VM.
# Checks the windows' titles and app_ids, their borders, that keys typed
# with wtype reach foot's shell (which acts on them), that the windows'
# pixels come through a shared region (a file standing for the ivshmem
# device), and a clean exit.
# TAP output.
#
#   test-gui-interop.sh GUI_PROXY QMGR_GUI_AGENT RELAY_PY
set -u
PROXY=$1
AGENT=$2
RELAY=$3
if ! command -v foot >/dev/null; then
	echo "1..0 # SKIP foot is not installed"
	exit 0
fi
. "$(dirname "$0")/lib-gui.sh"

echo "1..7"

G=$T/guest-rt       # the "guest's" runtime directory
mkdir -m 0700 "$G"
[ ${#AS[@]} -gt 0 ] && chown "$GUI_USER": "$G"
genv=(env -i PATH=/usr/bin:/bin HOME="$T" SHELL=/bin/sh LANG=C.UTF-8
      XDG_RUNTIME_DIR="$G")

"${AS[@]}" env -i PATH=/usr/bin:/bin $PY "$RELAY" "$T/host.sock" "$T/guest.sock" \
	>"$T/relay.log" 2>&1 &
pids+=($!)
wait_for 5 test -S "$T/guest.sock" -a -S "$T/host.sock"
# the shared region, as qmgrd sizes it (QM_GUI_SHM_DEFAULT_MIB)
truncate -s 64M "$T/region"
[ ${#AS[@]} -gt 0 ] && chown "$GUI_USER": "$T/region"
"${AS[@]}" "${genv[@]}" "$AGENT" --connect-unix "$T/guest.sock" \
	--socket wayland-guest --shm "$T/region" >"$T/agent.log" 2>&1 &
pids+=($!)
"${AS[@]}" "${wenv[@]}" ASAN_OPTIONS=detect_leaks=1 G_MESSAGES_DEBUG=gui-proxy "$PROXY" \
	--guest "work:green:$T/host.sock" --shm "work:$T/region" >"$T/proxy.log" 2>&1 &
proxy_pid=$!
pids+=($proxy_pid)
wait_for 10 test -S "$G/wayland-guest"
"${AS[@]}" "${genv[@]}" WAYLAND_DISPLAY=wayland-guest foot /bin/sh \
	>"$T/foot.log" 2>&1 &
pids+=($!)

if wait_for 20 has_view "[work] foot	qmgr.work.foot	"; then
	ok "foot in the guest compositor is shown as '[work] foot', app_id qmgr.work.foot"
else
	not_ok "foot in the guest compositor is shown as '[work] foot', app_id qmgr.work.foot" \
		"$(tree)" "$(tail -n 5 "$T/proxy.log" "$T/agent.log" "$T/foot.log")"
fi
if wait_for 10 border_ok "[work] foot" 73d216; then
	ok "foot's window has the green border on all four sides ($(cat "$T/border.why"))"
else
	not_ok "foot's window has the green border on all four sides" "$(cat "$T/border.why")"
fi

run swaymsg '[app_id="^qmgr\.work\.foot$"] focus' >/dev/null
# wtype's first key comes with its keyboard's enter: a Shift goes first.
run wtype -k Shift_L "touch $T/typed-in-foot" -k Return
if wait_for 10 test -e "$T/typed-in-foot"; then
	ok "keys typed with wtype reach foot's shell, which runs the command"
else
	not_ok "keys typed with wtype reach foot's shell, which runs the command" \
		"$(tail -n 5 "$T/foot.log" "$T/agent.log")"
fi

if command -v weston-simple-shm >/dev/null; then
	"${AS[@]}" "${genv[@]}" WAYLAND_DISPLAY=wayland-guest weston-simple-shm \
		>"$T/simple-shm.log" 2>&1 &
	pids+=($!)
	if wait_for 20 has_view "[work] simple-shm	qmgr.work.org.freedesktop.weston.simple-shm"; then
		ok "weston-simple-shm is shown too, with its own app_id"
	else
		not_ok "weston-simple-shm is shown too, with its own app_id" "$(tree)"
	fi
	if wait_for 10 border_ok "[work] simple-shm" 73d216; then
		ok "weston-simple-shm's window has the green border ($(cat "$T/border.why"))"
	else
		not_ok "weston-simple-shm's window has the green border" "$(cat "$T/border.why")"
	fi
else
	ok "# SKIP weston-simple-shm is not installed"
	ok "# SKIP weston-simple-shm is not installed"
fi

frames_by_region() {
	grep -q "guest 'work' connected (protocol version 3, shared region)" "$T/proxy.log" &&
		[ "$(grep -c "guest 'work' window [0-9]*: frames through the shared region" "$T/proxy.log")" -ge 2 ]
}
if wait_for 5 frames_by_region; then
	ok "foot's and weston-simple-shm's frames come through the shared region"
else
	not_ok "foot's and weston-simple-shm's frames come through the shared region" \
		"$(grep -E "shared region|connected" "$T/proxy.log" "$T/agent.log" | tail -n 6)"
fi

kill -TERM "$proxy_pid"
wait "$proxy_pid"
rc=$?
if [ $rc = 0 ] && ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$T/proxy.log"; then
	ok "gui-proxy exits 0 on SIGTERM, no sanitizer reports"
else
	not_ok "gui-proxy exits 0 on SIGTERM, no sanitizer reports" "exit $rc" "$(tail -n 30 "$T/proxy.log")"
fi
[ $fails -eq 0 ]
