#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# qmgr-filecopy-send piped into qmgr-filecopy-receive and back (a FIFO
# carries the result, as the qrexec transport will), with HOME in a
# temporary directory and QREXEC_REMOTE_DOMAIN=work: a tree with
# subdirectories, an empty file, a 50 MiB sparse file and symlinks arrives
# byte for byte with its modes and times; a second copy is refused without
# overwriting; --move removes the sources only after success; what the
# sender refuses itself never reaches the receiver; a full disk (a small
# tmpfs, when a mount namespace can be had) refuses the file that does not
# fit.  TAP output.
#
#   test-filecopy.sh SEND RECEIVE
set -u
SEND=$1
RECV=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/qfc-e2e.XXXXXX")
trap 'rm -rf "$T"' EXIT
umask 022
n=0
fails=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { # check NAME COMMAND...: ok if the command succeeds
	local name=$1; shift
	if "$@" >"$T/check.out" 2>&1; then ok "$name"
	else not_ok "$name" "$(cat "$T/check.out")" "sender: $(cat "$T/send.err" 2>/dev/null)" "receiver: $(cat "$T/recv.err" 2>/dev/null)"; fi
}

# copy HOME DIR [RECEIVER-ARGS --] SENDER-ARGS...: runs the sender in DIR
# connected both ways to a receiver for qube 'work' with that HOME; the
# exit statuses land in $send_rc and $recv_rc, stderr in send.err and
# recv.err.
copy() {
	local home=$1 dir=$2; shift 2
	local rargs=()
	if [ "${1:-}" = --recv ]; then
		shift
		while [ "$1" != -- ]; do rargs+=("$1"); shift; done
		shift
	fi
	rm -f "$T/fifo"
	mkfifo "$T/fifo"
	(cd "$dir" && "$SEND" "$@" <"$T/fifo" 2>"$T/send.err" |
		HOME=$home QREXEC_REMOTE_DOMAIN=work "$RECV" "${rargs[@]}" \
			>"$T/fifo" 2>"$T/recv.err"
	 echo "${PIPESTATUS[0]} ${PIPESTATUS[1]}" >"$T/rc")
	read -r send_rc recv_rc <"$T/rc"
}

# A listing to compare trees: name, type, mode, size, mtime, link target.
listing() {
	(cd "$1" && find . -mindepth 1 -printf '%P %y %m %s %T@ %l\n' | LC_ALL=C sort)
}

# --- the source tree
S=$T/src
mkdir -p "$S/tree/sub/deeper" "$S/tree/emptydir"
printf 'hello\n' >"$S/tree/a.txt"
: >"$S/tree/empty"
printf '#!/bin/sh\necho hi\n' >"$S/tree/exec.sh"
chmod 755 "$S/tree/exec.sh"
chmod 600 "$S/tree/a.txt"
chmod 750 "$S/tree/sub"
head -c 300000 /dev/urandom >"$S/tree/sub/deeper/random"
printf 'x' >"$S/tree/name with spaces and ünïcödé"
printf 'h' >"$S/tree/.hidden"
ln -s ../a.txt "$S/tree/sub/link"
ln -s deeper/random "$S/tree/sub/into-deeper"
ln -s missing "$S/tree/dangling"
truncate -s 50M "$S/big"
printf 'middle' | dd of="$S/big" bs=1 seek=$((20 << 20)) conv=notrunc status=none
printf 'single\n' >"$S/single.txt"
ln -s single.txt "$S/link-top"
touch -d '2001-02-03 04:05:06.123456789' "$S/tree/a.txt" "$S/tree/emptydir"
touch -h -d '2002-03-04 05:06:07' "$S/tree/sub/link"

H=$T/home
mkdir -p "$H"
IN=$H/Incoming/work

# --- a whole tree, byte for byte
copy "$H" "$S" tree big single.txt link-top
check "copy: sender and receiver succeed" test "$send_rc $recv_rc" = "0 0"
check "copy: no messages" test ! -s "$T/send.err" -a ! -s "$T/recv.err"
check "copy: the tree is identical (content, symlinks)" \
	diff -r --no-dereference "$S/tree" "$IN/tree"
listing "$S/tree" >"$T/src.list"
listing "$IN/tree" >"$T/dst.list"
check "copy: types, modes, sizes, times and link targets kept" \
	diff "$T/src.list" "$T/dst.list"
check "copy: the 50 MiB file is identical" cmp "$S/big" "$IN/big"
check "copy: the 50 MiB file stays sparse" \
	test "$(du -k "$IN/big" | cut -f1)" -lt 1024
check "copy: a file named on the command line" cmp "$S/single.txt" "$IN/single.txt"
check "copy: a symlink named on the command line stays a symlink" \
	test "$(readlink "$IN/link-top")" = single.txt
check "copy: ~/Incoming is private" test "$(stat -c %a "$H/Incoming")" = 700

# --- again: the names are taken
cp -p "$IN/tree/a.txt" "$T/a.before"
copy "$H" "$S" tree
check "copy again: both fail" test "$send_rc $recv_rc" = "1 1"
check "copy again: the sender names the file and the reason" \
	grep -q "qvm-copy: cannot copy 'tree': it already exists in ~/Incoming/work" "$T/send.err"
check "copy again: nothing was overwritten" cmp "$T/a.before" "$IN/tree/a.txt"

# --- --move
M=$T/move
mkdir -p "$M/mdir/inner"
printf 'm1' >"$M/m1"
printf 'm2' >"$M/mdir/inner/m2"
ln -s inner/m2 "$M/mdir/l"
copy "$H" "$M" --move m1 mdir
check "move: succeeds" test "$send_rc $recv_rc" = "0 0"
check "move: the sources are gone" test ! -e "$M/m1" -a ! -e "$M/mdir"
check "move: the copies are there" test "$(cat "$IN/m1")$(cat "$IN/mdir/inner/m2")" = m1m2

printf 'again' >"$M/m1"
printf 'other' >"$M/other"
copy "$H" "$M" --move other m1
check "move with a refused name: both fail" test "$send_rc $recv_rc" = "1 1"
check "move with a refused name: nothing removed, even what arrived" \
	test -e "$M/m1" -a -e "$M/other"
check "move with a refused name: the sender says so" \
	grep -q "qvm-move: nothing was removed" "$T/send.err"
check "move with a refused name: the earlier copy is intact" test "$(cat "$IN/m1")" = m1

# --- what the sender refuses before sending anything
R=$T/refused
mkdir -p "$R/withfifo" "$R/abs" "$R/esc" "$R/x" "$R/y"
mkfifo "$R/withfifo/pipe"
ln -s /etc/passwd "$R/abs/passwd"
ln -s ../../etc "$R/esc/up"
printf 1 >"$R/x/same"
printf 2 >"$R/y/same"
printf 1 >"$R/bad
name"
refused() { # refused NAME MESSAGE ARGS...
	local name=$1 want=$2; shift 2
	local before
	before=$(ls -A "$IN" | wc -l)
	copy "$H" "$R" "$@"
	if [ "$send_rc" != 1 ] || [ "$recv_rc" != 1 ]; then
		not_ok "sender refuses $name" "exit $send_rc/$recv_rc" "$(cat "$T/send.err")"
	elif ! grep -qF -- "$want" "$T/send.err"; then
		not_ok "sender refuses $name" "no '$want' in: $(cat "$T/send.err")"
	elif ! grep -q "sent nothing" "$T/recv.err"; then
		not_ok "sender refuses $name" "the receiver got data: $(cat "$T/recv.err")"
	elif [ "$(ls -A "$IN" | wc -l)" != "$before" ]; then
		not_ok "sender refuses $name" "something arrived"
	else
		ok "sender refuses $name"
	fi
}
refused "a FIFO in a tree" "cannot copy 'withfifo/pipe': it is a FIFO" withfifo
refused "an absolute symlink" "cannot copy 'abs/passwd': it is a symlink whose target '/etc/passwd' is absolute" abs
refused "a symlink leading out" "target '../../etc' leads out of the copied files" esc
refused "two arguments of the same name" "has the same name; copy them one at a time" x/same y/same
refused "a name with a newline" "cannot copy 'bad\\x0aname': the name contains a control character" "bad
name"
refused "a missing file" "cannot copy 'missing': No such file or directory" missing

# --- usage
"$SEND" >/dev/null 2>"$T/send.err" </dev/null
check "usage: no files is exit 2" test $? = 2
"$SEND" --frobnicate x >/dev/null 2>"$T/send.err" </dev/null
check "usage: an unknown option is exit 2" test $? = 2
"$SEND" --help >"$T/help" 2>&1 </dev/null
check "usage: --help" grep -q "^usage: qmgr-filecopy-send" "$T/help"

# --- a full disk: a 4 MiB tmpfs as HOME in a mount namespace of our own
if unshare -rm true 2>/dev/null; then
	mkdir -p "$T/small" "$T/fill"
	head -c $((1 << 20)) /dev/urandom >"$T/fill/a-fits"
	head -c $((8 << 20)) /dev/urandom >"$T/fill/b-too-big"
	export SEND RECV T
	unshare -rm bash -c '
		mount -t tmpfs -o size=4m tmpfs "$T/small" || exit 3
		mkfifo "$T/fifo2"
		(cd "$T/fill" && "$SEND" a-fits b-too-big <"$T/fifo2" 2>"$T/send.err" |
			HOME=$T/small QREXEC_REMOTE_DOMAIN=work "$RECV" --reserve=0 \
				>"$T/fifo2" 2>"$T/recv.err"
		 echo "${PIPESTATUS[0]} ${PIPESTATUS[1]}" >"$T/rc")
		read -r s r <"$T/rc"
		[ "$s $r" = "1 1" ] || exit 4
		cmp -s "$T/fill/a-fits" "$T/small/Incoming/work/a-fits" || exit 5
		[ ! -e "$T/small/Incoming/work/b-too-big" ] || exit 6
		[ -z "$(ls -A "$T/small/Incoming/work" | grep "^\.qmgr")" ] || exit 7
		grep -q "cannot copy .b-too-big.: it does not fit" "$T/send.err" || exit 8
	'
	rc=$?
	if [ $rc = 3 ]; then
		skip "full disk: the file that does not fit is refused" "cannot mount a tmpfs here"
	else
		check "full disk: the file that does not fit is refused (rc $rc)" test $rc = 0
	fi
else
	skip "full disk: the file that does not fit is refused" "no user or mount namespaces here"
fi

echo "1..$n"
[ "$fails" = 0 ]
