#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/gui from a real guest (issue 6): a qube of the gui template,
# booted by a qmgrd of its own on the system libvirtd, animates
# weston-simple-shm (the template's only animating app, a fixed 250x250
# window) in its compositor, then bench-gui-client full-window (copied into
# the qube with qvm-run -p: it is not in the template); gui-proxy, run by the unprivileged
# qmgr-guitest against a headless sway as in the GUI tests, shows it.
# bench-gui-relay sits between gui-proxy and the qube's gui_socket and
# counts bytes: FRAME_DONE (16 bytes) is the only thing the proxy sends
# during the animation through the stream, FRAME_DONE and SHM_RELEASE
# (16 + 20 bytes) through the qube's shared region (gui_shm), so
# host-to-guest bytes / 16 (or / 36) are the frames shown.  Each app is
# measured with the shared region, then with the stream alone (gui-proxy
# without --shm: the agent falls back to the stream).
# Reports frames/s, bytes per frame, and CPU per frame of gui-proxy, of
# the whole QEMU process (the guest, emulated: TCG here) and of sway.
# waypipe is not measured from a guest (see README.md).
#
#   bench-gui-vm.sh BUILD_DIR GUI_TEMPLATE_OUT_DIR [SECONDS (10)]
#
# bench-gui-client runs at 1272x712, the tile of lib-gui.sh's 1280x720
# output less the border; the output refreshes at 60 Hz.
set -u
B=$(realpath "$1")
TPL=$2
SECS=${3:-10}
CLIENT=$B/bench/bench-gui-client
[ -x "$CLIENT" ] || CLIENT=
PROXY=$B/gui-proxy/gui-proxy
RELAY=$B/bench/bench-gui-relay
for tool in sway grim wtype; do
	command -v "$tool" >/dev/null ||
		{ echo "bench-gui-vm: $tool is not installed: skipped"; exit 77; }
done
[ -f "$TPL/root.img" ] || { echo "bench-gui-vm: no gui template in $TPL: skipped"; exit 77; }
. "$(dirname "$0")/../../tests/gui/lib-gui-qmgrd.sh"

qmgrd_start || exit 1
for _ in $(seq 100); do [ "$(state default-dvm)" = Halted ] && break; sleep 0.2; done
qvm-create --label blue work >/dev/null || exit 1
t0=$SECONDS
timeout 180 qvm-start work || { echo "bench-gui-vm: work did not start"; exit 1; }
echo "qube:      work started in $((SECONDS - t0)) s (TCG: $(grep -qw -e vmx -e svm /proc/cpuinfo && echo no || echo yes))"
gs=$(qvm-prefs work gui_socket)
gm=$(qvm-prefs work gui_shm)
dom=qmgr-$(instance)-work
qemu_pid=$(cat "/run/libvirt/qemu/$dom.pid")

# start_proxy shm|stream: the relay (A = gui-proxy's side, B = the
# qube's channel; it ends with its first connection) and gui-proxy
start_proxy() {
	local shm=()
	[ "$1" = shm ] && shm=(--shm "work:$gm")
	mode=$1
	rm -f "$GT/host.sock"
	"${AS[@]}" env -i PATH=/usr/bin:/bin "$RELAY" "listen:$GT/host.sock" \
		"connect:$gs" --counters "$GT/relay" >>"$GT/relay.log" 2>&1 &
	relay_pid=$!
	pids+=($relay_pid)
	wait_for 5 test -S "$GT/host.sock"
	"${AS[@]}" "${wenv[@]}" "$PROXY" --guest "work:blue:$GT/host.sock" \
		"${shm[@]}" >>"$GT/proxy.log" 2>&1 &
	proxy_pid=$!
	pids+=($proxy_pid)
}
stop_proxy() {
	kill "$proxy_pid" "$relay_pid"
	wait "$proxy_pid" "$relay_pid"
}
start_proxy shm
wait_for 60 qvm-run -p work 'test -S /run/user/1000/wayland-0' ||
	{ echo "bench-gui-vm: no GUI session in the qube"; exit 1; }

# sample: time, bytes host->guest, guest->host, ticks of proxy, qemu, sway, relay
sample() {
	python3 - "$GT/relay" "$proxy_pid" "$qemu_pid" "${pids[0]}" "$relay_pid" <<'EOF'
import struct, sys, time
up, down = struct.unpack('<2Q', open(sys.argv[1], 'rb').read(16))
def ticks(pid):
    s = open('/proc/%s/stat' % pid).read()
    f = s[s.rindex(')') + 2:].split()
    return int(f[11]) + int(f[12])
print(time.monotonic(), up, down, *[ticks(p) for p in sys.argv[2:]])
EOF
}
# measure APP SIZE: the figures of SECS seconds, in results[]
results=()
measure() {
	local a b
	a=$(sample)
	sleep "$SECS"
	b=$(sample)
	results+=("$(python3 - "$a" "$b" "$(getconf CLK_TCK)" "$1" "$2" <<'EOF'
import sys
a, b = ([float(x) for x in s.split()] for s in sys.argv[1:3])
clk = float(sys.argv[3])
d = [y - x for x, y in zip(a, b)]
dt = d[0]
# FRAME_DONE (and SHM_RELEASE): all the proxy sends meanwhile
frames = d[1] / (36 if sys.argv[4].endswith('+shm') else 16)
f = max(frames, 1)
ms = lambda t: t * 1000 / clk / f
print('%s %s %.1f %.0f %.2f %.2f %.0f %.2f %.2f' %
      (sys.argv[4], sys.argv[5], frames / dt, d[2] / f, ms(d[3]), ms(d[4]),
       100 * d[4] / clk / dt, ms(d[5]), ms(d[6])))
EOF
)")
	set -- ${results[-1]}
	echo "real guest: $1 $2: $3 frames/s, $4 B/frame (guest to host)," \
		"cpu/frame: gui-proxy $5 ms, QEMU (the whole guest) $6 ms" \
		"($7% of a CPU), sway $8 ms, relay $9 ms"
}
# run_app VIEW-NAME SIZE COMMAND: COMMAND animates in the qube, measured
run_app() {
	qvm-run work "$3 >/tmp/app.log 2>&1 & echo \$! >/tmp/app.pid"
	if ! wait_for 120 has_view "$1"; then
		echo "bench-gui-vm: no window $1"; tree; tail -n 5 "$GT/proxy.log"
		qvm-run -p work 'cat /tmp/app.log'
		exit 1
	fi
	sleep 3
	local app=${3%% *}
	measure "${app##*/}+$mode" "$2"
	qvm-run -p work 'kill $(cat /tmp/app.pid)'
	gone() { ! has_view "$1"; }
	wait_for 30 gone "$1"
}

[ -n "$CLIENT" ] && { qvm-run -p work 'cat >/tmp/bench-gui-client && chmod +x /tmp/bench-gui-client' \
	<"$CLIENT" || exit 1; }
for m in shm stream; do
	if [ "$m" != "$mode" ]; then
		stop_proxy
		start_proxy "$m"
	fi
	run_app "[work] simple-shm" 250x250 weston-simple-shm
	[ -n "$CLIENT" ] &&
		run_app "[work] bench-gui" 1272x712 "/tmp/bench-gui-client --size 1272x712"
done
grep -q "guest 'work' connected (protocol version 3, shared region)" "$GT/proxy.log" ||
	echo "bench-gui-vm: gui-proxy never had the shared region (gui_shm $gm)"

fields=()
for r in "${results[@]}"; do
	set -- $r
	a=${1//-/_}
	set -- "${a//+/_}" "${@:2}"
	fields+=("vm_${1//-/_}_${2}_fps=$3 vm_${1//-/_}_${2}_bytes=$4 vm_${1//-/_}_${2}_proxy_ms=$5 vm_${1//-/_}_${2}_qemu_ms=$6")
done
echo "RESULT ${fields[*]} refresh_hz=60 seconds=$SECS"
