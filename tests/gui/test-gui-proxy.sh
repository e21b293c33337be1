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
# borders intact.  Guests with a shared region (--shm) draw through it;
# a slot past its end, one the host still holds, and one whose
# stride * height wraps 32 bits each cost that guest its connection.
# TAP output.
#
#   test-gui-proxy.sh GUI_PROXY FAKE_GUEST_PY
set -u
PROXY=$1
FAKE=$2
. "$(dirname "$0")/lib-gui.sh"

echo "1..37"

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
	shm=()
	if [[ $name == *shm* ]]; then
		# a shared region of 16 MiB, the GUI user's (as qmgrd gives one)
		truncate -s 16M "$T/$name.shm" && chown "$GUI_USER" "$T/$name.shm"
		shm=(--shm "$T/$name.shm")
		proxy_args+=(--shm "$name:$T/$name.shm")
	fi
	"${AS[@]}" "${wenv[@]}" $PY "$FAKE" --socket "$T/$name.sock" --log "$T/$name.log" \
		--color "$color" --scenario "$scenario" --wait-for "$T/go" "${shm[@]}" \
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

"${AS[@]}" "${wenv[@]}" ASAN_OPTIONS=detect_leaks=1 "$PROXY" "${proxy_args[@]}" \
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

dropped() {     # dropped NAME REASON: the fake guest saw EOF, the log says why
	wait_for 15 grep -q '^EOF' "$T/$1.log" &&
		grep -q "guest '$1' violated the GUI protocol: .*$2" "$T/proxy.log"
}
check "oversize window: guest dropped (7681 wide)" dropped evil-size "outside 1x1"
check "DAMAGE outside the buffer: guest dropped" dropped evil-damage "outside the"
check "CREATE of an id in use: guest dropped" dropped evil-reuse "already in use"
check "message for an unknown window: guest dropped" dropped evil-ghost "unknown window"
check "SHM_BUFFER past the end of the region: guest dropped" dropped evil-shm-end \
	"SHM_BUFFER (window 1): slot .* past the end of the 16777216-byte region"
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

[ "$n" = 37 ] || echo "# planned 37 tests, ran $n"
[ $fails -eq 0 ]
