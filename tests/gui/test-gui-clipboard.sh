#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The global clipboard (docs/gui.md, "Clipboard"): gui-proxy under a
# headless sway with three fake guests (fake-guest.py) and --admin-socket
# pointing at a test qmgrd (libvirt's test driver, a fake template: no
# qube boots) that knows qubes of the same names and has a policy for
# qmgr.ClipboardPaste.  Ctrl-Shift-C and Ctrl-Shift-V are typed with wtype.
# Checks: copy from work and paste into personal (allowed) delivers
# CLIPBOARD_SET with work's text, and the global clipboard is empty after;
# a paste the policy denies sends nothing and keeps the clipboard, which a
# paste where it is allowed then delivers; neither shortcut reaches a
# guest as keys; qmgrd audits each decision.  TAP output.
#
#   test-gui-clipboard.sh GUI_PROXY FAKE_GUEST_PY BUILD_DIR
set -u
PROXY=$(realpath "$1")
FAKE=$2
B=$(realpath "$3")
. "$(dirname "$0")/lib-gui.sh"
command -v qemu-img >/dev/null || { echo "1..0 # SKIP qemu-img is not installed"; exit 0; }

# ---- a qmgrd on libvirt's test driver, reachable by the GUI user ----
CT=$(mktemp -d /tmp/qmgr-cliptest.XXXXXX)
chmod 0755 "$CT"
ROOT=$CT/root
export QMGR_ROOT=$ROOT
PATH=$B/qvm-tools:$PATH
qmgrd_pid=
gui_cleanup_fn=$(declare -f cleanup | sed '1s/^cleanup/gui_cleanup/')
eval "$gui_cleanup_fn"
cleanup() {
	[ -n "$qmgrd_pid" ] && kill "$qmgrd_pid" 2>/dev/null && wait "$qmgrd_pid" 2>/dev/null
	[ "$fails" -gt 0 ] && cp "$CT/qmgrd.log" "$T/" 2>/dev/null
	rm -rf "$CT"
	gui_cleanup
}
trap cleanup EXIT
if [ "$(id -u)" = 0 ]; then
	getent group qmgr >/dev/null || groupadd --system qmgr || exit 1
	usermod -a -G qmgr "$GUI_USER" || exit 1
fi
tpl=$CT/templates/minimal
mkdir -p "$ROOT/etc/qmgr/policy.d"
fake_template "$tpl" || exit 1
cat >"$ROOT/etc/qmgr/policy.d/30-test.policy" <<'EOF'
qmgr.ClipboardPaste  *  work      personal  allow
qmgr.ClipboardPaste  *  personal  work      allow
qmgr.ClipboardPaste  *  @anyvm    @anyvm    deny
EOF
"$B/qmgrd/qmgrd" --root "$ROOT" --libvirt-uri test:///default \
	--template-dir "$CT/templates" >"$CT/qmgrd.log" 2>&1 &
qmgrd_pid=$!
for _ in $(seq 200); do
	[ "$(qvm-ls --raw-list 2>/dev/null | wc -l)" -ge 2 ] && break
	sleep 0.1
done
for q in work personal vault; do
	qvm-create --label green "$q" >/dev/null 2>&1 ||
		{ echo "1..0 # SKIP the test qmgrd cannot create qubes: $(tail -n 3 "$CT/qmgrd.log" | tr '\n' ' ')"; exit 0; }
done

echo "1..12"

# ---- the guests and the proxy ----
proxy_args=(--admin-socket "$ROOT/run/qmgr/qmgrd.sock")
for g in work:secret-from-work personal:text-from-personal vault:; do
	IFS=: read -r name clip <<<"$g"
	"${AS[@]}" "${wenv[@]}" $PY "$FAKE" --socket "$T/$name.sock" --log "$T/$name.log" \
		--color 00ff00 --clipboard "$clip" >"$T/$name.out" 2>&1 &
	pids+=($!)
	proxy_args+=(--guest "$name:green:$T/$name.sock")
done
for _ in $(seq 50); do
	[ "$(cd "$T" && ls *.sock 2>/dev/null | wc -l)" -ge 3 ] && break
	sleep 0.1
done
"${AS[@]}" "${wenv[@]}" ASAN_OPTIONS=detect_leaks=1 "$PROXY" "${proxy_args[@]}" \
	>"$T/proxy.log" 2>&1 &
proxy_pid=$!
pids+=($proxy_pid)

all_shown() {
	has_view "[work] hello" && has_view "[personal] hello" && has_view "[vault] hello"
}
connected() { grep -q 'connected to qmgrd at' "$T/proxy.log"; }
if wait_for 20 all_shown && wait_for 20 connected; then
	ok "three guests shown; gui-proxy --admin-socket reaches the test qmgrd as the GUI user"
else
	not_ok "three guests shown; gui-proxy --admin-socket reaches the test qmgrd as the GUI user" \
		"$(tree)" "$(tail -n 10 "$T/proxy.log")"
fi

# shortcut NAME LETTER: Ctrl-Shift-LETTER in NAME's window.  wtype's first
# key comes with its keyboard's enter (not forwarded): a Shift goes first.
shortcut() {
	run swaymsg "[app_id=\"^qmgr\\.$1\\.\"] focus" >/dev/null
	sleep 0.2
	run wtype -k Shift_L -M ctrl -M shift "$2" -m shift -m ctrl
}
logged() { grep -q -- "$2" "$T/$1.log"; }
in_proxy_log() { grep -q -- "$1" "$T/proxy.log"; }
no_letter() { ! grep -qiE "^TYPED $2\$" "$T/$1.log"; }
audited() { grep -qP -- "\t$1\t$2\t$3\t[^\t]*\t$4\t" "$ROOT/var/log/qmgr/audit.log" 2>/dev/null; }

# (a) copy from work, paste into personal: allowed
shortcut work c
if wait_for 10 logged work '^CLIPBOARD_REQUEST 0' &&
	wait_for 10 in_proxy_log "copied 16 bytes from 'work'"; then
	ok "Ctrl-Shift-C in work's window asks work for its clipboard and keeps its answer"
else
	not_ok "Ctrl-Shift-C in work's window asks work for its clipboard and keeps its answer" \
		"$(tail -n 5 "$T/work.log")" "$(tail -n 5 "$T/proxy.log")"
fi
shortcut personal v
if wait_for 10 logged personal '^CLIPBOARD_TEXT secret-from-work$'; then
	ok "Ctrl-Shift-V in personal's window: allowed by the policy, personal gets CLIPBOARD_SET with work's text"
else
	not_ok "Ctrl-Shift-V in personal's window: allowed by the policy, personal gets CLIPBOARD_SET with work's text" \
		"$(tail -n 5 "$T/personal.log")" "$(tail -n 5 "$T/proxy.log")" "$(tail -n 5 "$CT/qmgrd.log")"
fi
# (the Shift_L typed first may arrive, or may come with the enter)
if no_letter work c && no_letter personal v; then
	ok "neither shortcut reached a guest as keys"
else
	not_ok "neither shortcut reached a guest as keys" "$(grep TYPED "$T/work.log" "$T/personal.log")"
fi
check "qmgrd audited the paste work -> personal as allow" \
	audited qmgr.ClipboardPaste work personal allow

# (b) the clipboard is empty after a paste
shortcut personal v
if wait_for 10 in_proxy_log "in 'personal': the global clipboard is empty" &&
	[ "$(grep -c '^CLIPBOARD_TEXT' "$T/personal.log")" = 1 ]; then
	ok "after the paste the global clipboard is empty: a second Ctrl-Shift-V sends nothing"
else
	not_ok "after the paste the global clipboard is empty: a second Ctrl-Shift-V sends nothing" \
		"$(tail -n 5 "$T/proxy.log")"
fi

# (c) denied: nothing sent, the clipboard kept for an allowed paste
shortcut personal c
wait_for 10 in_proxy_log "copied 18 bytes from 'personal'"
shortcut vault v
if wait_for 10 in_proxy_log "does not let the clipboard of 'personal' be pasted into 'vault'" &&
	sleep 1 && ! logged vault '^CLIPBOARD_TEXT'; then
	ok "Ctrl-Shift-V in vault: denied by the policy, vault gets nothing"
else
	not_ok "Ctrl-Shift-V in vault: denied by the policy, vault gets nothing" \
		"$(tail -n 5 "$T/vault.log")" "$(tail -n 5 "$T/proxy.log")"
fi
check "qmgrd audited the paste personal -> vault as deny" \
	audited qmgr.ClipboardPaste personal vault deny
shortcut work v
if wait_for 10 logged work '^CLIPBOARD_TEXT text-from-personal$'; then
	ok "the denied paste kept the global clipboard: Ctrl-Shift-V in work then pastes it"
else
	not_ok "the denied paste kept the global clipboard: Ctrl-Shift-V in work then pastes it" \
		"$(tail -n 5 "$T/work.log")" "$(tail -n 5 "$T/proxy.log")"
fi

if no_letter vault v && no_letter work v && no_letter personal c; then
	ok "nor did the later ones (Ctrl-Shift-V in vault and work, Ctrl-Shift-C in personal)"
else
	not_ok "nor did the later ones" "$(grep TYPED "$T"/*.log)"
fi
# the control: other keys still reach the guest
run swaymsg '[app_id="^qmgr\.work\."] focus' >/dev/null
run wtype -k Shift_L x
if wait_for 10 logged work '^TYPED x$'; then
	ok "other keys still reach the focused guest (x typed into work)"
else
	not_ok "other keys still reach the focused guest (x typed into work)" "$(tail -n 5 "$T/work.log")"
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
