# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared by the GUI tests: a headless sway run by an unprivileged user
# (sway refuses root), TAP helpers and checks on what sway shows.  Source
# it after setting PROXY; it makes $T (removed at exit, kept in
# /tmp/qmgr-guitest-failed-TEST if a check failed), starts sway, and provides:
#   run CMD...           CMD as the user, in the session (a simple command:
#                        $! of `run ... &` is CMD itself)
#   pids+=(PID)          killed at exit
#   ok, not_ok, check    TAP lines
#   wait_for S CMD...    until CMD succeeds, at most S seconds
#   tree, has_view, rect_of, border_ok (see below)
# If sway, grim, wtype or python3 are missing, or sway does not start, the
# test is skipped.
GUI_USER=qmgr-guitest
PY=/usr/bin/python3

PY=/usr/bin/python3
for tool in sway swaymsg grim wtype $PY setpriv; do
	if ! command -v "$tool" >/dev/null; then
		echo "1..0 # SKIP $tool is not installed"
		exit 0
	fi
done

n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift
	for l in "$@"; do printf "%s\n" "$l" | sed "s/^/# /"; done
}
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

T=$(mktemp -d /tmp/qmgr-guitest.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "$fails" -gt 0 ]; then
		# one per test: ${LOG_KEEP_GUI} or the script's name
		keep=${LOG_KEEP_GUI:-/tmp/qmgr-guitest-failed-$(basename "$0" .sh)}
		rm -rf "$keep"; cp -r "$T" "$keep" 2>/dev/null
		echo "# logs kept in $keep"
	fi
	rm -rf "$T"
}
trap cleanup EXIT

# As root: everything Wayland runs as $GUI_USER.  Otherwise as ourselves.
if [ "$(id -u)" = 0 ]; then
	id "$GUI_USER" >/dev/null 2>&1 ||
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$GUI_USER" || exit 1
	chown "$GUI_USER": "$T"
	AS=(setpriv --reuid="$GUI_USER" --regid="$GUI_USER" --init-groups)
else
	AS=()
fi
chmod 0700 "$T"
RT=$T
wenv=(env -i PATH=/usr/bin:/bin HOME="$T" XDG_RUNTIME_DIR="$RT"
      WAYLAND_DISPLAY=wayland-qmgr-test)
# Simple commands only, so that $! of `run ... &` is the program itself.
run() { "${AS[@]}" "${wenv[@]}" SWAYSOCK="$swaysock" "$@"; }

cat >"$T/sway.conf" <<'EOF'
output HEADLESS-1 resolution 1280x720 position 0,0
default_border none
default_floating_border none
focus_follows_mouse no
xwayland disable
EOF
# sway names its sockets itself (wayland-N, sway-ipc.UID.PID.sock): they
# are found once it started.  start_sway also restarts it (after
# kill "$sway_pid"; wait "$sway_pid"): the Wayland socket is the same
# (the first free name), the IPC socket is new.
start_sway() {
	"${AS[@]}" env -i PATH=/usr/bin:/bin HOME="$T" XDG_RUNTIME_DIR="$RT" \
		WLR_BACKENDS=headless WLR_RENDERER=pixman \
		WLR_LIBINPUT_NO_DEVICES=1 sway -c "$T/sway.conf" >>"$T/sway.log" 2>&1 &
	sway_pid=$!
	pids+=($sway_pid)
	sock= swaysock=
	for _ in $(seq 100); do
		sock=$(cd "$RT" && ls wayland-[0-9] 2>/dev/null | head -n 1)
		swaysock=$(ls "$RT"/sway-ipc.*.$sway_pid.sock 2>/dev/null | head -n 1)
		[ -n "$sock" ] && [ -n "$swaysock" ] && break
		sleep 0.1
	done
	[ -n "$sock" ] && [ -n "$swaysock" ]
}
start_sway
if [ -z "$sock" ]; then
	echo "1..0 # SKIP sway did not start: $(tail -n 3 "$T/sway.log" | tr '\n' ' ')"
	exit 0
fi
wenv=(env -i PATH=/usr/bin:/bin HOME="$T" XDG_RUNTIME_DIR="$RT"
      WAYLAND_DISPLAY="$sock")

# tree: "NAME<TAB>APP_ID<TAB>x y w h" per view: its tile (sway centres a
# smaller window in it)
tree() {
	run swaymsg -t get_tree | $PY -c '
import json, sys
def walk(n):
    if n.get("type") in ("con", "floating_con") and n.get("pid"):
        r = n["rect"]
        print("%s\t%s\t%d %d %d %d" % (n.get("name"), n.get("app_id"),
              r["x"], r["y"], r["width"], r["height"]))
    for c in n.get("nodes", []) + n.get("floating_nodes", []):
        walk(c)
walk(json.load(sys.stdin))'
}
wait_for() {        # wait_for SECONDS COMMAND...: until it succeeds
	local end=$((SECONDS + $1)); shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}
has_view() { tree | grep -F -- "$1" >/dev/null; }
rect_of() { tree | awk -F'\t' -v n="$1" '$1 == n { print $3; exit }'; }

# border_ok VIEW-NAME BORDER-RGB [CONTENT-RGB]: in a screenshot of the
# view's tile, the window (the bounding box of the label colour: sway may
# centre a smaller window in its tile) has the ring of GP_BORDER (4) pixels
# in the label colour on every side and, if given, the guest's colour
# everywhere inside; the result in $T/border.why
border_ok() {
	local rect x y w h
	rect=$(rect_of "$1")
	[ -n "$rect" ] || { echo "no view $1" >"$T/border.why"; return 1; }
	read -r x y w h <<<"$rect"
	run grim -t ppm -g "$x,$y ${w}x$h" "$T/shot.ppm" 2>"$T/border.why" || return 1
	$PY - "$T/shot.ppm" "$2" "${3:-}" >"$T/border.why" <<'EOF'
import sys
data = open(sys.argv[1], 'rb').read()
magic, dims, maxval, px = data.split(b'\n', 3)
W, H = map(int, dims.split())
border = bytes.fromhex(sys.argv[2])
content = bytes.fromhex(sys.argv[3]) if sys.argv[3] else None
B = 4
# the window: the bounding box of the label colour in the tile
x0 = y0 = 1 << 30
x1 = y1 = -1
for y in range(H):
    row = px[y * W * 3:(y + 1) * W * 3]
    i = row.find(border)
    while i >= 0 and i % 3:
        i = row.find(border, i + 1)
    if i < 0:
        continue
    j = row.rfind(border)
    while j >= 0 and j % 3:
        j = row.rfind(border, 0, j + 2)
    x0, x1 = min(x0, i // 3), max(x1, j // 3 + 1)
    y0, y1 = min(y0, y), y + 1
if x1 < 0:
    print('no pixel in the label colour'); sys.exit(1)
w, h = x1 - x0, y1 - y0
px = b''.join(px[((y0 + y) * W + x0) * 3:((y0 + y) * W + x0 + w) * 3]
              for y in range(h))
bad = {}
for y in range(h):
    for x in range(w):
        ring = x < B or y < B or x >= w - B or y >= h - B
        if not ring and content is None:
            continue
        i = (y * w + x) * 3
        got = px[i:i + 3]
        want = border if ring else content
        if got != want:
            side = ('top' if y < B else 'bottom' if y >= h - B else
                    'left' if x < B else 'right' if x >= w - B else 'inside')
            bad.setdefault(side, (x, y, got.hex(), want.hex()))
if bad or w < 2 * B + 1 or h < 2 * B + 1:
    print('%dx%d; wrong pixels: %s' % (w, h, bad))
    sys.exit(1)
print('%dx%d at %d,%d of the tile, ok' % (w, h, x0, y0))
EOF
}


# fullscreen_mode FIELD VALUE: sway's fullscreen_mode (0 none, 1 output)
# of the view whose FIELD (name or app_id) is VALUE
fullscreen_mode() {
	run swaymsg -t get_tree | $PY -c '
import json, sys
def walk(n):
    if n.get(sys.argv[1]) == sys.argv[2] and n.get("pid"):
        print(n.get("fullscreen_mode", 0)); sys.exit(0)
    for c in n.get("nodes", []) + n.get("floating_nodes", []):
        walk(c)
walk(json.load(sys.stdin))' "$1" "$2"
}

# fake_template DIR: a template directory for a qmgrd on libvirt's test
# driver (test:///default), which boots nothing: its files only exist
fake_template() {
	mkdir -p "$1" || return 1
	head -c 4096 /dev/zero >"$1/vmlinux"
	head -c 4096 /dev/zero >"$1/initramfs.cpio.gz"
	qemu-img create -q -f raw "$1/root.img" 1M || return 1
	printf '%s\n' '[Template]' name=minimal kernel=vmlinux \
		initramfs=initramfs.cpio.gz root=root.img \
		kernel_cmdline=console=ttyS0 memory=128 vcpus=1 \
		>"$1/template.conf"
}

# bus_config FILE ADDRESS: a session bus listening on ADDRESS, without service
# activation: Debian's session configuration would start mako (or any
# installed notification server) whenever something calls a name nobody
# owns, so a test could not have "no notification server".
bus_config() {
	cat >"$1" <<-EOF
	<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
	 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
	<busconfig>
	  <type>session</type>
	  <listen>$2</listen>
	  <policy context="default">
	    <allow send_destination="*" eavesdrop="true"/>
	    <allow eavesdrop="true"/>
	    <allow own="*"/>
	  </policy>
	</busconfig>
	EOF
	chmod 0644 "$1"
}

# start_notifier: a private session bus ($T/bus) and mako, the
# notification server, on it and on sway, both as the user; sets
# bus_env (DBUS_SESSION_BUS_ADDRESS=...) for the programs that notify,
# and mako_pid.
# Returns 1 (and says why in $T/notifier.why) when either is missing or
# does not come up.  notices: "SUMMARY<TAB>BODY" per notification mako
# shows (none expire: default-timeout 0).
start_notifier() {
	local tool
	for tool in dbus-daemon mako makoctl busctl; do
		command -v "$tool" >/dev/null ||
			{ echo "$tool is not installed" >"$T/notifier.why"; return 1; }
	done
	bus_env=(DBUS_SESSION_BUS_ADDRESS="unix:path=$T/bus")
	bus_config "$T/bus.conf" "unix:path=$T/bus"
	"${AS[@]}" "${wenv[@]}" dbus-daemon --config-file="$T/bus.conf" \
		--nofork >"$T/dbus.log" 2>&1 &
	pids+=($!)
	printf 'default-timeout=0\nmax-visible=-1\n' >"$T/mako.conf"
	chmod 0644 "$T/mako.conf"
	wait_for 10 test -S "$T/bus" ||
		{ echo "dbus-daemon did not start: $(cat "$T/dbus.log")" >"$T/notifier.why"; return 1; }
	"${AS[@]}" "${wenv[@]}" "${bus_env[@]}" mako -c "$T/mako.conf" \
		>"$T/mako.log" 2>&1 &
	mako_pid=$!
	pids+=($mako_pid)
	wait_for 10 notices_ok ||
		{ echo "mako did not start: $(cat "$T/mako.log")" >"$T/notifier.why"; return 1; }
}
notices_ok() { run "${bus_env[@]}" makoctl list >/dev/null 2>&1; }
notices() {
	run "${bus_env[@]}" makoctl list | $PY -c '
import json, sys
for n in json.load(sys.stdin)["data"][0]:
    print("%s\t%s" % (n["summary"]["data"], n["body"]["data"]))'
}
