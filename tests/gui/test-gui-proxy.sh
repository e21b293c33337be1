#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# gui-proxy against a real compositor: a headless sway run by an
# unprivileged user (sway refuses root), fake guests (fake-guest.py)
# speaking the GUI protocol on unix sockets, grim screenshots, wtype keys.
# Checks the window's title and app_id, its border pixels on all four
# sides, typed keys reaching the guest, and hostile guests: a spoofing
# title shown sanitized, and an oversize window, a bad DAMAGE rectangle,
# a CREATE on an id in use, an unknown window and a flood each cost
# only that guest its connection while the proxy and the other guests stay,
# borders intact, and each dropped guest is one desktop notification on a
# private session bus (mako as the server); sway restarted under the
# proxy: the windows come back.  Guests with a shared region (--shm) draw
# through it; a slot past its end, one the host still holds, and one
# whose stride * height wraps 32 bits each cost that guest its
# connection.  TAP output.
#
#   test-gui-proxy.sh GUI_PROXY FAKE_GUEST_PY WL_POINTER
set -u
PROXY=$1
FAKE=$2
POINTER=$(realpath "$3")
. "$(dirname "$0")/lib-gui.sh"

echo "1..57"

# ---- the guests ----
# name:label:scenario:content-colour
guests="work:green:none:00ff00 personal:blue:popups:ff00ff
	evil-title:red:bidi-title:202020 evil-size:orange:oversize:202020
	evil-damage:yellow:bad-damage:202020 evil-reuse:purple:id-reuse:202020
	evil-ghost:gray:unknown-window:202020 shm-work:orange:none:00ffff
	evil-shm-end:red:shm-past-end:202020 evil-shm-reuse:red:shm-reuse:202020
	evil-shm-wrap:red:shm-wrap:202020"
proxy_args=()
for g in $guests; do
	IFS=: read -r name label scenario color <<<"$g"
	extra=()    # work has a cursor image of its own (orange)
	[ "$name" = work ] && extra=(--cursor ff8000)
	if [[ $name == *shm* ]]; then
		# a shared region of 16 MiB, the GUI user's (as qmgrd gives one)
		truncate -s 16M "$T/$name.shm" && chown "$GUI_USER" "$T/$name.shm"
		extra+=(--shm "$T/$name.shm")
		proxy_args+=(--shm "$name:$T/$name.shm")
	fi
	"${AS[@]}" "${wenv[@]}" $PY "$FAKE" --socket "$T/$name.sock" --log "$T/$name.log" \
		--color "$color" --scenario "$scenario" --wait-for "$T/go" "${extra[@]}" \
		>"$T/$name.out" 2>&1 &
	pids+=($!)
	declare "pid_${name//-/_}=$!"
	proxy_args+=(--guest "$name:$label:$T/$name.sock")
done
# The flood starts on its own trigger, while keys are typed elsewhere.
"${AS[@]}" "${wenv[@]}" $PY "$FAKE" --socket "$T/evil-flood.sock" --log "$T/evil-flood.log" \
	--color 202020 --scenario flood --wait-for "$T/flood" \
	>"$T/evil-flood.out" 2>&1 &
pids+=($!)
proxy_args+=(--guest "evil-flood:black:$T/evil-flood.sock")
for _ in $(seq 50); do
	[ "$(cd "$T" && ls *.sock 2>/dev/null | wc -l)" -ge 12 ] && break
	sleep 0.1
done

# the desktop's notification server, for the notices of dropped guests
bus_env=()
notifier=
start_notifier || notifier=$(cat "$T/notifier.why")

"${AS[@]}" "${wenv[@]}" "${bus_env[@]}" ASAN_OPTIONS=detect_leaks=1 "$PROXY" "${proxy_args[@]}" \
	>"$T/proxy.log" 2>&1 &
proxy_pid=$!
pids+=($proxy_pid)

# (a) the window appears with the title prefix and the app_id
if wait_for 20 has_view "[work] hello	qmgr.work.org.example.Hello"; then
	ok "window shown as '[work] hello' with app_id qmgr.work.org.example.Hello"
else
	not_ok "window shown as '[work] hello' with app_id qmgr.work.org.example.Hello" "$(tree)" "$(cat "$T/proxy.log")"
fi
check "a second guest's window is shown too" wait_for 10 has_view "[personal] hello	qmgr.personal.org.example.Hello"

# (b) border pixels, all of them
if wait_for 10 border_ok "[work] hello" 73d216 00ff00; then
	ok "work: border in green (#73d216) on all four sides, guest pixels inside ($(cat "$T/border.why"))"
else
	not_ok "work: border in green (#73d216) on all four sides, guest pixels inside" "$(cat "$T/border.why")"
fi
if wait_for 10 border_ok "[personal] hello" 3465a4 ff00ff; then
	ok "personal: border in blue (#3465a4) on all four sides"
else
	not_ok "personal: border in blue (#3465a4) on all four sides" "$(cat "$T/border.why")"
fi
# the shared region: pixels the proxy never copies, inside its border
if wait_for 10 border_ok "[shm-work] hello" f57900 00ffff; then
	ok "shm-work: drawn through its shared region, in its orange border ($(cat "$T/border.why"))"
else
	not_ok "shm-work: drawn through its shared region, in its orange border" "$(cat "$T/border.why")" \
		"$(grep -E 'HELLO|SHM|FRAME' "$T/shm-work.log" | tail -n 5)"
fi
check "shm-work: 5 frames through the region, each slot named again only after SHM_RELEASE" \
	eval 'wait_for 10 grep -q "^SHM_FRAMES 5" "$T/shm-work.log" && grep -q "^SHM_RELEASE 1 " "$T/shm-work.log"'
check "the guest was told its content size (window minus border)" \
	grep -qE '^CONFIGURE 1 [1-9][0-9]* [1-9][0-9]* ' "$T/work.log"
check "the guest got FRAME_DONE for its frames" grep -q '^FRAME_DONE 1' "$T/work.log"

# (c) keys typed with wtype reach the focused guest, and only it.  wtype's
# first key comes with its new keyboard's enter (not forwarded as a
# press), hence the leading Shift.
# the letters typed (modifiers left out)
typed() { awk '$1 == "TYPED" && length($2) == 1 { printf "%s", $2 }' "$1"; }
type_to() {     # type_to NAME TEXT
	run swaymsg "[app_id=\"^qmgr\\.$1\\.\"] focus" >/dev/null
	run wtype -k Shift_L "$2"
}
typed_is() { [ "$(typed "$T/$1.log")" = "$2" ]; }
type_to work hi
if wait_for 5 typed_is work hi; then
	ok "wtype 'hi' reaches the work guest as KEY h, i"
else
	not_ok "wtype 'hi' reaches the work guest as KEY h, i" "typed: $(typed "$T/work.log")" "$(tail -n 20 "$T/work.log")"
fi
check "the focused guest got KEYMAP and FOCUS_IN" eval \
	'grep -q "^KEYMAP 0" "$T/work.log" && grep -q "^FOCUS_IN 1" "$T/work.log"'
check "other guests got no keys" typed_is personal ""
type_to personal ok
check "focus moved: wtype 'ok' reaches personal, not work" eval \
	'wait_for 5 typed_is personal ok && typed_is work hi'

# (d) hostile guests
touch "$T/go"
want_title='[evil-title] gnp.exe[31m paypal!'
if wait_for 10 has_view "$want_title	qmgr.evil-title."; then
	ok "a title with bidi overrides, isolates, marks, ESC, DEL, NUL, C1 is shown sanitized"
else
	not_ok "a title with bidi overrides, isolates, marks, ESC, DEL, NUL, C1 is shown sanitized" "$(tree)"
fi
check "the spoofing title alone is no violation" eval '! grep -q EOF "$T/evil-title.log"'

# popup_ok NAME RGB W H [DX DY]: one block of W x H pixels in RGB, with a
# ring of GP_BORDER pixels in blue (personal's label) around it, all on
# screen, at DX,DY of the parent's content if given
popup_ok() {
	local rect x y w h
	rect=$(rect_of "[$1] hello")
	[ -n "$rect" ] || { echo "no view [$1] hello" >"$T/popup.why"; return 1; }
	read -r x y w h <<<"$rect"
	run grim -t ppm "$T/full.ppm" 2>"$T/popup.why" || return 1
	$PY - "$T/full.ppm" "$2" "$3" "$4" "$((x + 4))" "$((y + 4))" "${5:-}" "${6:-}" \
		>"$T/popup.why" <<'EOF'
import sys
data = open(sys.argv[1], 'rb').read()
magic, dims, maxval, px = data.split(b'\n', 3)
W, H = map(int, dims.split())
color, label = bytes.fromhex(sys.argv[2]), bytes.fromhex('3465a4')
want_w, want_h, px0, py0 = map(int, sys.argv[3:7])
at = lambda x, y: px[(y * W + x) * 3:(y * W + x) * 3 + 3]
xs, ys = [], []
for y in range(H):
    row = px[y * W * 3:(y + 1) * W * 3]
    for x in range(W):
        if row[x * 3:x * 3 + 3] == color:
            xs.append(x); ys.append(y)
if not xs:
    print('no popup pixels'); sys.exit(1)
x0, x1, y0, y1 = min(xs), max(xs) + 1, min(ys), max(ys) + 1
problems = []
if (x1 - x0, y1 - y0) != (want_w, want_h) or len(xs) != want_w * want_h:
    problems.append('popup %dx%d at %d,%d (%d pixels), want %dx%d'
                    % (x1 - x0, y1 - y0, x0, y0, len(xs), want_w, want_h))
if sys.argv[7] and (x0 - px0, y0 - py0) != (int(sys.argv[7]), int(sys.argv[8])):
    problems.append('at %d,%d of the parent, want %s,%s'
                    % (x0 - px0, y0 - py0, sys.argv[7], sys.argv[8]))
if x0 < 4 or y0 < 4 or x1 > W - 4 or y1 > H - 4:
    problems.append('frame off screen')
else:
    for y in range(y0 - 4, y1 + 4):
        for x in range(x0 - 4, x1 + 4):
            if (x < x0 or x >= x1 or y < y0 or y >= y1) and at(x, y) != label:
                problems.append('ring pixel %d,%d is %s' % (x, y, at(x, y).hex()))
                break
        if len(problems) > 3:
            break
if problems:
    print('; '.join(problems)); sys.exit(1)
print('%dx%d at %d,%d' % (x1 - x0, y1 - y0, x0, y0))
EOF
}
if wait_for 10 popup_ok personal ff0000 60 40 20 30; then
	ok "a popup shows at its place in the parent, bordered in blue ($(cat "$T/popup.why"))"
else
	not_ok "a popup shows at its place in the parent, bordered in blue" "$(cat "$T/popup.why")"
fi
touch "$T/go.2"
# 90% of 1280x720, less the border on each side
if wait_for 10 popup_ok personal 0000ff 1144 640; then
	ok "a 3000x2000 popup is cut to 90% of the output, on screen, bordered ($(cat "$T/popup.why"))"
else
	not_ok "a 3000x2000 popup is cut to 90% of the output, on screen, bordered" "$(cat "$T/popup.why")"
fi
touch "$T/go.3"     # the big popup goes: it would cover other windows

# the pointer (wl-pointer: a virtual one, headless sway has none):
# over work's content the guest gets POINTER_MOTION in content
# coordinates (1/256 px) and BUTTON; over the border, POINTER_LEAVE
# The guest's cursor image (16x16 orange, hotspot at its top left) is
# shown where it lies wholly inside the content, the host's arrow
# elsewhere (grim -c: the screenshot with the cursor).
cursor_at() {   # cursor_at X Y: the orange 16x16 block is at X,Y; or "none"
	run grim -c -t ppm "$T/cursor.ppm" 2>"$T/cursor.why" || return 1
	$PY - "$T/cursor.ppm" "$1" "${2:-}" >"$T/cursor.why" <<'EOF'
import sys
data = open(sys.argv[1], 'rb').read()
magic, dims, maxval, px = data.split(b'\n', 3)
W, H = map(int, dims.split())
want = bytes.fromhex('ff8000')
pts = [(i // 3 % W, i // 3 // W) for i in range(0, len(px), 3)
       if px[i:i + 3] == want]
if sys.argv[2] == 'none':
    print('%d orange pixels' % len(pts)); sys.exit(1 if pts else 0)
x0 = min(p[0] for p in pts) if pts else -1
y0 = min(p[1] for p in pts) if pts else -1
print('%d orange pixels from %d,%d' % (len(pts), x0, y0))
sys.exit(0 if len(pts) == 256 and (x0, y0) == (int(sys.argv[2]), int(sys.argv[3])) else 1)
EOF
}
# The hostile guests started with "go" are dropped first (their windows
# leave and the tiles settle), so that work's rectangle stays put.
quick_drops() {
	local q
	for q in evil-size evil-damage evil-reuse evil-ghost evil-shm-end \
		evil-shm-reuse evil-shm-wrap; do
		grep -q '^EOF' "$T/$q.log" || return 1
	done
	! tree | grep -qE '^\[evil-(size|damage|reuse|ghost|shm-end|shm-reuse|shm-wrap)\]'
}
wait_for 15 quick_drops
sleep 0.5
read -r wx wy ww wh <<<"$(rect_of "[work] hello")"
# One wl-pointer for the whole: sway shows a cursor only while a pointer
# device exists, and the proxy binds its wl_pointer when one appears (so
# the pointer first rests on the border, then enters the content).
mkfifo "$T/pointer.in"
chmod 0644 "$T/pointer.in"
run "$POINTER" - <"$T/pointer.in" >"$T/pointer.out" 2>&1 &
pointer_pid=$!
exec 7>"$T/pointer.in"
pointer() { echo "$*" >&7; }
pointer_at() {  # a POINTER_MOTION of work's window is at X,Y
	awk '$1 == "POINTER_MOTION" && $2 == 1 && $4 == '"$1"' * 256 &&
		$5 == '"$2"' * 256 { f = 1 } END { exit !f }' "$T/work.log"
}
pointer move $((wx + 1)) $((wy + 100))
sleep 0.5
pointer move $((wx + 4 + 50)) $((wy + 4 + 40))
if wait_for 5 pointer_at 50 40; then
	ok "the pointer over work's content: POINTER_MOTION at 50,40 of the content"
else
	not_ok "the pointer over work's content: POINTER_MOTION at 50,40 of the content" \
		"$(cat "$T/pointer.out")" "$(grep -E '^POINTER|^BUTTON' "$T/work.log" | tail -n 5)"
fi
if wait_for 3 cursor_at $((wx + 4 + 50)) $((wy + 4 + 40)); then
	ok "over work's content its cursor image is shown at the pointer ($(cat "$T/cursor.why"))"
else
	not_ok "over work's content its cursor image is shown at the pointer" "$(cat "$T/cursor.why")"
fi
pointer click
check "a click there: BUTTON (BTN_LEFT) pressed and released" wait_for 5 eval \
	'grep -q "^BUTTON 1 [0-9]* 272 1" "$T/work.log" && grep -q "^BUTTON 1 [0-9]* 272 0" "$T/work.log"'
edge_x=$((ww - 8 - 10))
pointer move $((wx + 4 + edge_x)) $((wy + 4 + 40))
if wait_for 5 pointer_at "$edge_x" 40 && wait_for 3 cursor_at none; then
	ok "10 px from the content's right edge (the image would cross the border): the host's arrow"
else
	not_ok "10 px from the content's right edge (the image would cross the border): the host's arrow" \
		"$(cat "$T/cursor.why")"
fi
pointer move $((wx + 1)) $((wy + 100))
check "over the border: POINTER_LEAVE, nothing forwarded" \
	wait_for 5 grep -q '^POINTER_LEAVE 1' "$T/work.log"
exec 7>&-
wait "$pointer_pid"

dropped() {     # dropped NAME REASON: the fake guest saw EOF, the log says why
	wait_for 15 grep -q '^EOF' "$T/$1.log" &&
		grep -q "guest '$1' violated the GUI protocol: .*$2" "$T/proxy.log"
}
check "oversize window: guest dropped (7681 wide)" dropped evil-size "outside 1x1"
check "DAMAGE outside the buffer: guest dropped" dropped evil-damage "outside the"
check "CREATE of an id in use: guest dropped" dropped evil-reuse "already in use"
check "message for an unknown window: guest dropped" dropped evil-ghost "unknown window"
check "SHM_BUFFER past the end of the region: guest dropped" dropped evil-shm-end \
	"SHM_BUFFER (window 2): slot .* past the end of the 16777216-byte region"
check "SHM_BUFFER on a slot the host still holds: guest dropped" dropped evil-shm-reuse \
	"the host still holds"
check "SHM_BUFFER whose stride * height wraps 32 bits: guest dropped" dropped evil-shm-wrap \
	"slot \[0, 4294967296) past the end"

# the flood: full frames without waiting, then too many windows
touch "$T/flood"
sleep 1
type_to work go
if wait_for 5 typed_is work higo; then
	ok "while a guest floods, keys still reach another guest"
else
	not_ok "while a guest floods, keys still reach another guest" "typed: $(typed "$T/work.log")"
fi
check "flood then 300 windows: guest dropped" dropped evil-flood "more than 256 windows"
grep '^FLOODED' "$T/evil-flood.log" | sed 's/^/# /'

# one desktop notification per dropped qube, in the proxy's words
evil_notices() {
	local q
	for q in evil-size evil-damage evil-reuse evil-ghost evil-flood \
		evil-shm-end evil-shm-reuse evil-shm-wrap; do
		[ "$(notices | grep -cF "qmgr: GUI of qube '$q' disconnected	")" = 1 ] || return 1
	done
	[ "$(notices | wc -l)" = 8 ]
}
if [ -n "$notifier" ]; then
	for _ in 1 2 3; do ok "# SKIP no notification server: $notifier"; done
else
	if wait_for 10 evil_notices; then
		ok "each dropped guest is one desktop notification (8 qubes, 8 notices)"
	else
		not_ok "each dropped guest is one desktop notification (8 qubes, 8 notices)" \
			"$(notices)" "$(grep -i notif "$T/proxy.log")"
	fi
	check "the notice says why: the decoder's reason, in the proxy's words" eval \
		'notices | grep -F "qmgr: GUI of qube '"'evil-size'"' disconnected" |
			grep -q "broke the GUI protocol (.*outside 1x1.*Its windows were closed"'
	check "guests that were not dropped got no notice" eval \
		'! notices | grep -qE "qube '"'(work|personal|evil-title|shm-work)'"'"'
fi

check "the proxy is still running" kill -0 "$proxy_pid"
no_evil_views() { ! tree | grep -E >/dev/null '^\[evil-(size|damage|reuse|ghost|flood|shm-end|shm-reuse|shm-wrap)\]'; }
check "the dropped guests' windows are gone" wait_for 5 no_evil_views
check "work's window is still there" has_view "[work] hello	qmgr.work."
check "personal's window is still there" has_view "[personal] hello	qmgr.personal."
if wait_for 10 border_ok "[work] hello" 73d216 00ff00; then
	ok "work's border intact after the hostile guests ($(cat "$T/border.why"))"
else
	not_ok "work's border intact after the hostile guests" "$(cat "$T/border.why")"
fi
check "no dropped guest was reconnected" eval \
	'[ "$(grep -c "connected (protocol" "$T/proxy.log")" -eq 12 ]'

check "DESTROY is answered with DESTROYED" grep -q '^DESTROYED 2' "$T/personal.log"
run swaymsg '[app_id="^qmgr\.personal\."] kill' >/dev/null
check "closing the window in the compositor sends CLOSE to the guest" \
	wait_for 5 grep -q '^CLOSE 1' "$T/personal.log"

# a guest that goes away is reconnected when it comes back
kill "$pid_evil_title"
gone() { ! has_view "[evil-title]"; }
if wait_for 10 gone && wait_for 5 grep -q "guest 'evil-title': connection closed; reconnecting" "$T/proxy.log"; then
	ok "a guest that hangs up loses its windows, the proxy will reconnect"
else
	not_ok "a guest that hangs up loses its windows, the proxy will reconnect" "$(tail -n 5 "$T/proxy.log")"
fi
"${AS[@]}" "${wenv[@]}" $PY "$FAKE" --socket "$T/evil-title.sock" \
	--log "$T/evil-title.log" --title again >>"$T/evil-title.out" 2>&1 &
pids+=($!)
check "it comes back: its window is shown again" \
	wait_for 10 has_view "[evil-title] again	qmgr.evil-title."

# the compositor restarts: the guests stay connected, every window is
# made anew with its title, app_id and border, and keys flow again
connects_before=$(grep -c "connected (protocol" "$T/proxy.log")
touch "$T/go.4"     # a popup of personal's, open when sway goes
wait_for 10 grep -q '^CONFIGURE 4 ' "$T/personal.log"
kill "$sway_pid"
wait "$sway_pid" 2>/dev/null
sleep 1
check "the compositor goes: gui-proxy keeps running" eval \
	'kill -0 "$proxy_pid" && grep -q "lost the connection to the compositor" "$T/proxy.log"'
check "a popup open then is closed in the guest (CLOSE)" \
	wait_for 5 grep -q '^CLOSE 4' "$T/personal.log"
if start_sway && wait_for 20 has_view "[work] hello	qmgr.work.org.example.Hello"; then
	ok "sway restarted: work's window is back as '[work] hello', app_id qmgr.work.org.example.Hello"
else
	not_ok "sway restarted: work's window is back as '[work] hello', app_id qmgr.work.org.example.Hello" \
		"$(tree)" "$(tail -n 5 "$T/proxy.log")"
fi
check "and the other guests' windows too" eval \
	'wait_for 10 has_view "[personal] hello	qmgr.personal." &&
		wait_for 10 has_view "[evil-title] again	qmgr.evil-title."'
if wait_for 10 border_ok "[work] hello" 73d216 00ff00; then
	ok "work's border and content after the restart ($(cat "$T/border.why"))"
else
	not_ok "work's border and content after the restart" "$(cat "$T/border.why")"
fi
if wait_for 10 border_ok "[shm-work] hello" f57900 00ffff; then
	ok "shm-work (its pixels in the shared region) is back, border and content ($(cat "$T/border.why"))"
else
	not_ok "shm-work (its pixels in the shared region) is back, border and content" "$(cat "$T/border.why")"
fi
check "the guests stayed connected through it (no EOF, no reconnection)" eval \
	'! grep -q "^EOF" "$T/work.log" &&
		[ "$(grep -c "connected (protocol" "$T/proxy.log")" = "$connects_before" ]'
type_to work ab
if wait_for 10 typed_is work higoab; then
	ok "keys typed on the new compositor reach the guest"
else
	not_ok "keys typed on the new compositor reach the guest" "typed: $(typed "$T/work.log")"
fi

# the proxy ends cleanly on SIGTERM, without sanitizer reports
kill -TERM "$proxy_pid"
wait "$proxy_pid"
rc=$?
if [ $rc = 0 ] && ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$T/proxy.log"; then
	ok "gui-proxy exits 0 on SIGTERM, no sanitizer reports"
else
	not_ok "gui-proxy exits 0 on SIGTERM, no sanitizer reports" "exit $rc" "$(tail -n 30 "$T/proxy.log")"
fi
check "guests see EOF when the proxy ends" wait_for 5 grep -q '^EOF' "$T/work.log"

# Menus (grabbing popups), with a second proxy whose Wayland requests are
# logged (WAYLAND_DEBUG): sway keeps the keyboard on the focused window
# and closes a window's popups when it loses the focus, grab or not, so
# the grab itself is seen in the requests.  A menu opened while the user
# types in its qube's window (the pointer over it too) takes a grab
# (xdg_popup.grab); one opened while the user types in another qube's
# window (the pointer there) does not (with a
# compositor that gives a grabbing popup the keyboard, it would take the
# keys typed into the other qube).  wtype's keyboard exists only while it
# runs: it waits 2 s, while the menu opens.
"${AS[@]}" "${wenv[@]}" $PY "$FAKE" --socket "$T/menu.sock" --log "$T/menu.log" \
	--color 00ffff --scenario menus --wait-for "$T/menu.go" \
	>"$T/menu.out" 2>&1 &
pids+=($!)
wait_for 5 test -S "$T/menu.sock"
"${AS[@]}" "${wenv[@]}" WAYLAND_DEBUG=client ASAN_OPTIONS=detect_leaks=1 "$PROXY" \
	--guest "work:green:$T/work.sock" --guest "menu:blue:$T/menu.sock" \
	>"$T/proxy2.log" 2>&1 &
proxy_pid=$!
pids+=($proxy_pid)
hold_keyboard_in() {    # hold_keyboard_in NAME KEY: KEY typed after 2 s
	local x y w h
	# the pointer too (it stays where wl-pointer left it)
	read -r x y w h <<<"$(rect_of "[$1] hello")"
	run "$POINTER" move $((x + w / 2)) $((y + h / 2)) >/dev/null 2>&1
	run swaymsg "[app_id=\"^qmgr\\.$1\\.\"] focus" >/dev/null
	run wtype -k Shift_L -s 2000 -k "$2" &
	wtype_pid=$!
	sleep 0.7
}
grabs() { grep -c -- '-> xdg_popup@[0-9]*\.grab(wl_seat@' "$T/proxy2.log"; }
wait_for 20 has_view "[menu] hello	qmgr.menu." && wait_for 10 has_view "[work] hello	qmgr.work."
hold_keyboard_in menu m
touch "$T/menu.go"
wait "$wtype_pid"
wait_for 5 grep -q '^CONFIGURE 2 ' "$T/menu.log"
if [ "$(grabs)" = 1 ]; then
	ok "a menu opened while the user types in its qube's window takes a grab"
else
	not_ok "a menu opened while the user types in its qube's window takes a grab" \
		"grabs: $(grabs)" "$(grep -E '^(CONFIGURE|FOCUS|CLOSE)' "$T/menu.log" | tail -n 5)"
fi
check "keys typed meanwhile reach the qube" grep -q '^TYPED m$' "$T/menu.log"
hold_keyboard_in work Shift_L
touch "$T/menu.go.2"
wait "$wtype_pid"
if wait_for 5 grep -q '^CONFIGURE 3 ' "$T/menu.log" && [ "$(grabs)" = 1 ]; then
	ok "a menu opened while the user types in another qube's window gets no grab"
else
	not_ok "a menu opened while the user types in another qube's window gets no grab" \
		"grabs: $(grabs)" "$(grep -E '^(CONFIGURE|CLOSE)' "$T/menu.log" | tail -n 5)"
fi
kill -TERM "$proxy_pid"
wait "$proxy_pid"
rc=$?
if [ $rc = 0 ] && ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$T/proxy2.log"; then
	ok "the second gui-proxy exits 0 on SIGTERM, no sanitizer reports"
else
	not_ok "the second gui-proxy exits 0 on SIGTERM, no sanitizer reports" "exit $rc" \
		"$(grep -v '^\[' "$T/proxy2.log" | tail -n 30)"
fi

[ "$n" = 57 ] || echo "# planned 57 tests, ran $n"
[ $fails -eq 0 ]
