#!/usr/bin/env bash
# Drives the real qvm-* lifecycle tools where no qmgrd is needed: --help,
# usage errors (exit 2), Qubes name rules checked before any connection, and
# the message and exit status when qmgrd is not there (exit 1).  TAP output.
set -u
BIN=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# an empty root: no qmgrd listens under it
export QMGR_ROOT=$T/root
mkdir -p "$QMGR_ROOT"
SOCK=$QMGR_ROOT/run/qmgr/qmgrd.sock
n=0
fails=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
# run TOOL ARGS...: output (stdout+stderr) in $T/out, status in $rc
run() {
	local tool=$1; shift
	"$BIN/$tool" "$@" >"$T/out" 2>&1 </dev/null
	rc=$?
}
# expect_rc NAME RC WANT-SUBSTRING TOOL ARGS...
expect_rc() {
	local name=$1 want_rc=$2 want=$3; shift 3
	run "$@"
	if [ "$rc" != "$want_rc" ]; then
		not_ok "$name" "exit $rc, want $want_rc" "$(cat "$T/out")"
	elif ! grep -qF -- "$want" "$T/out"; then
		not_ok "$name" "output lacks: $want" "$(cat "$T/out")"
	else
		ok "$name"
	fi
}
# usage_error NAME WANT-SUBSTRING TOOL ARGS...: exit 2, the message, and
# the synopsis, and no attempt to reach qmgrd
usage_error() {
	local name=$1 want=$2 tool=$3; shift 3
	run "$tool" "$@"
	if [ "$rc" != 2 ]; then
		not_ok "$name" "exit $rc, want 2" "$(cat "$T/out")"
	elif ! grep -qF -- "$tool: $want" "$T/out"; then
		not_ok "$name" "output lacks: $tool: $want" "$(cat "$T/out")"
	elif grep -qF "cannot reach" "$T/out"; then
		not_ok "$name" "tried to connect" "$(cat "$T/out")"
	else
		ok "$name"
	fi
}

TOOLS="qvm-create qvm-ls qvm-start qvm-shutdown qvm-kill qvm-remove qvm-prefs qvm-clone qvm-tags qvm-run qvm-copy-to-vm"

# --- --help / -h: exit 0, usage on stdout, nothing on stderr
for tool in $TOOLS; do
	for h in --help -h; do
		"$BIN/$tool" $h >"$T/stdout" 2>"$T/stderr"
		rc=$?
		if [ "$rc" = 0 ] && grep -q "^usage: $tool" "$T/stdout" &&
		   grep -q "See $tool(1)" "$T/stdout" && [ ! -s "$T/stderr" ]; then
			ok "$tool $h"
		else
			not_ok "$tool $h" "exit $rc" "$(cat "$T/stdout" "$T/stderr")"
		fi
	done
	usage_error "$tool rejects an unknown option" "Unknown option --frobnicate" \
		"$tool" --frobnicate
	run "$tool" --frobnicate
	if grep -q "^usage: $tool" "$T/out" && grep -qF "Try '$tool --help'" "$T/out"; then
		ok "$tool usage error shows the synopsis"
	else
		not_ok "$tool usage error shows the synopsis" "$(cat "$T/out")"
	fi
done

# --- missing or extra arguments
usage_error "qvm-copy-to-vm without files" "name the qube and the files to copy" qvm-copy-to-vm work
usage_error "qvm-copy-to-vm checks the qube name" "invalid qube name '1bad'" qvm-copy-to-vm 1bad /etc/hostname
usage_error "qvm-create without a name" "name the qube to create" qvm-create
usage_error "qvm-create with two names" "one qube at a time" qvm-create a b
usage_error "qvm-create --property without =" "--property 'memory': expected NAME=VALUE" \
	qvm-create --property memory work
usage_error "qvm-create --property with an empty name" "--property '=1': expected NAME=VALUE" \
	qvm-create -P =1 work
usage_error "qvm-create --property twice" "--property memory is given twice" \
	qvm-create -P memory=1 --property memory=2 work
usage_error "qvm-create --class needs a value" "Missing argument for --class" \
	qvm-create work --class
usage_error "qvm-ls --raw-list with --json" "--raw-list and --json exclude each other" \
	qvm-ls --raw-list --json
usage_error "qvm-start without names" "name the qubes to start" qvm-start
usage_error "qvm-kill without names" "name the qubes to kill" qvm-kill
usage_error "qvm-remove without names" "name the qubes to remove" qvm-remove
usage_error "qvm-shutdown without names or --all" "name the qubes to shut down, or use --all" \
	qvm-shutdown
usage_error "qvm-shutdown --all with names" "give either --all or NAMEs, not both" \
	qvm-shutdown --all work
usage_error "qvm-shutdown --exclude without --all" "--exclude only makes sense with --all" \
	qvm-shutdown --exclude work personal
usage_error "qvm-shutdown --timeout without --wait" "--timeout needs --wait" \
	qvm-shutdown --timeout 5 work
for bad in 0 -1 abc 5s 86401 ""; do
	usage_error "qvm-shutdown --timeout '$bad' refused" "--timeout '$bad': expected whole seconds" \
		qvm-shutdown --wait --timeout "$bad" work
done
usage_error "qvm-prefs without a qube" "name the qube (or dom0 for the global settings)" qvm-prefs
usage_error "qvm-prefs with four arguments" "too many arguments" qvm-prefs work memory 1 2
usage_error "qvm-prefs --default without a property" "--default needs a PROPERTY" \
	qvm-prefs --default work
usage_error "qvm-prefs -D with a value" "give either a VALUE or --default, not both" \
	qvm-prefs work memory 400 -D
usage_error "qvm-prefs --help-properties with a property" "--help-properties takes only the qube's name" \
	qvm-prefs --help-properties work memory
usage_error "qvm-clone with one name" "name the source qube and the new name" qvm-clone work
usage_error "qvm-clone with three names" "too many arguments" qvm-clone a b c
usage_error "qvm-tags without a qube" "name the qube" qvm-tags
usage_error "qvm-tags unknown command" "unknown command 'remove' (list, add or del)" \
	qvm-tags work remove x
usage_error "qvm-tags add without a tag" "add needs at least one TAG" qvm-tags work add
usage_error "qvm-tags del without a tag" "del needs at least one TAG" qvm-tags work d

usage_error "qvm-run without arguments" "name the qube and the command to run" qvm-run
usage_error "qvm-run without a command" "name the command to run" qvm-run work
usage_error "qvm-run with only options" "name the command to run" qvm-run -p work --
usage_error "qvm-run --dispvm needs a command" "name the command to run" \
	qvm-run --dispvm
usage_error "qvm-run --dispvm=TEMPLATE checks the name" "invalid qube name '1bad'" \
	qvm-run -p --dispvm=1bad xterm
usage_error "qvm-run --service takes one service, not a command line" \
	"--service takes one SERVICE[+ARGUMENT]" \
	qvm-run --service work qmgr.VMShell arg
usage_error "qvm-run --user needs a name" "--user needs a user name" qvm-run -u '' work ls
usage_error "qvm-run -u needs a value" "Missing argument for -u" qvm-run work -u
usage_error "qvm-run refuses an unknown option between VM and COMMAND" \
	"Unknown option -x" qvm-run work -x ls
usage_error "qvm-run refuses a command longer than 64 KiB" \
	"the command is 65537 bytes long, at most 65536 are allowed" \
	qvm-run work "$(head -c 65531 /dev/zero | tr '\0' a)" abcde
usage_error "qvm-run refuses an invalid qube" "invalid qube name 'dom0'" qvm-run -p dom0 true
usage_error "qvm-run refuses a non-UTF-8 command" "command 'ls x\377' is not valid UTF-8" \
	qvm-run work ls "$(printf 'x\377')"
usage_error "qvm-run refuses a non-UTF-8 user" "user 'x\377' is not valid UTF-8" \
	qvm-run -u "$(printf 'x\377')" work ls

# --- Qubes name rules, refused before connecting (qmgrd's own messages)
LONG=a234567890123456789012345678901
while IFS='|' read -r name why; do
	usage_error "qvm-create refuses '$name'" "invalid qube name '$name': $why" \
		qvm-create "$name"
done <<EOF_NAMES
1work|the name must start with a letter
_work|the name must start with a letter
-|the name must start with a letter
|the name is empty
wo rk|the name may contain only letters, digits, '_', '.' and '-'
w@rk|the name may contain only letters, digits, '_', '.' and '-'
wörk|the name may contain only letters, digits, '_', '.' and '-'
${LONG}x|the name is longer than 31 characters
none|the name is reserved
default|the name is reserved
dom0|the name is reserved
Domain-0|the name is reserved
DOM0|the name is reserved
all|the name is reserved
any|the name is reserved
host|the name is reserved
sys-net|the name is reserved
qmgr|the name is reserved
work-dm|names ending in -dm are reserved (as in Qubes)
EOF_NAMES
usage_error "qvm-ls refuses an invalid NAME" "invalid qube name '1x'" qvm-ls work 1x
usage_error "qvm-start refuses an invalid name among valid ones" "invalid qube name 'dom0'" \
	qvm-start work dom0
usage_error "qvm-shutdown refuses an invalid name" "invalid qube name 'a b'" qvm-shutdown 'a b'
usage_error "qvm-shutdown refuses an invalid --exclude" "invalid qube name 'x-dm'" \
	qvm-shutdown --all --exclude x-dm
usage_error "qvm-kill refuses an invalid name" "invalid qube name 'host'" qvm-kill host
usage_error "qvm-remove refuses an invalid name" "invalid qube name 'none'" qvm-remove -f none
usage_error "qvm-clone refuses an invalid source" "invalid qube name '9src'" qvm-clone 9src dst
usage_error "qvm-clone refuses an invalid new name" "invalid qube name 'dst!'" qvm-clone src 'dst!'
usage_error "qvm-create refuses an invalid --template" "invalid qube name 'any'" \
	qvm-create --template any work
usage_error "qvm-prefs refuses an invalid qube" "invalid qube name 'Domain-0'" qvm-prefs Domain-0
usage_error "qvm-tags refuses an invalid qube" "invalid qube name '.x'" qvm-tags .x
run qvm-create "$LONG"
if [ "$rc" = 1 ] && grep -qF "cannot reach qmgrd" "$T/out"; then
	ok "a 31-character name is valid"
else
	not_ok "a 31-character name is valid" "exit $rc" "$(cat "$T/out")"
fi
run qvm-create "$(printf 'a\033[2Jb')"
if [ "$rc" = 2 ] && ! grep -q $'\033' "$T/out" && grep -qF "invalid qube name 'a\\033[2Jb'" "$T/out"; then
	ok "an invalid name is shown escaped, not sent to the terminal"
else
	not_ok "an invalid name is shown escaped" "exit $rc" "$(cat -v "$T/out")"
fi

# --- text the daemon gets must be UTF-8 (GVariant strings)
BAD=$(printf 'x\377')
usage_error "qvm-create refuses a non-UTF-8 label" "--label 'x\377' is not valid UTF-8" \
	qvm-create --label "$BAD" work
usage_error "qvm-create refuses a non-UTF-8 property" "--property 'kernelopts=x\377' is not valid UTF-8" \
	qvm-create -P "kernelopts=$BAD" work
usage_error "qvm-prefs refuses a non-UTF-8 value" "value 'x\377' is not valid UTF-8" \
	qvm-prefs work kernelopts "$BAD"
usage_error "qvm-tags refuses a non-UTF-8 tag" "tag 'x\377' is not valid UTF-8" \
	qvm-tags work add ok "$BAD"
expect_rc "UTF-8 values pass to qmgrd" 1 "cannot reach qmgrd" qvm-prefs work kernelopts 'ünïcode'

# --- qvm-remove: no terminal to ask on and no -f
usage_error "qvm-remove without a terminal and without -f refuses" \
	"not removing anything: standard input is not a terminal to ask for confirmation on (use -f to remove without asking)" \
	qvm-remove work

# --- no qmgrd: exit 1 and say how to start it
HINT="(is qmgrd running? start it with: qmgrd --root $QMGR_ROOT)"
while IFS= read -r cmd; do
	read -r -a argv <<<"$cmd"
	expect_rc "no qmgrd: $cmd" 1 \
		"${argv[0]}: cannot reach qmgrd at $SOCK: No such file or directory $HINT" \
		"${argv[@]}"
done <<'EOF_CMDS'
qvm-create work
qvm-create --class TemplateVM --label blue -P memory=512 -P vcpus=2 -q tpl
qvm-ls
qvm-ls --json
qvm-ls --running --tags work --raw-list work
qvm-start --skip-if-running work personal
qvm-shutdown --wait --timeout 30 work
qvm-shutdown --all --exclude work
qvm-kill work
qvm-remove -f work
qvm-prefs work
qvm-prefs dom0
qvm-prefs dom0 default_template minimal
qvm-prefs work label -D
qvm-prefs --help-properties work
qvm-clone work work2
qvm-tags work
qvm-tags work add a b
qvm-tags work del a
qvm-run work xterm
qvm-run -p -u root --no-autostart --no-gui work cat /etc/hostname
qvm-run --nogui work true
qvm-run work -p ls -l --color
qvm-run -- work -- -x
EOF_CMDS

# options after the name work too (GNU style), and -- ends options
expect_rc "options may follow the name" 1 "cannot reach qmgrd" qvm-start work --skip-if-running
expect_rc "qvm-run --dispvm takes no VM: all is the command" 1 "cannot reach qmgrd" qvm-run --dispvm ls -l
expect_rc "qvm-run --dispvm=TEMPLATE -p" 1 "cannot reach qmgrd" qvm-run -p --dispvm=fedora xterm

# a root the shell would split is quoted in the hint
mkdir -p "$T/my root"
QMGR_ROOT="$T/my root" expect_rc "the hint quotes a root with a space" 1 \
	"start it with: qmgrd --root '$T/my root')" qvm-ls

# without QMGR_ROOT: the system socket
(
	unset QMGR_ROOT
	"$BIN/qvm-ls" >"$T/out" 2>&1
	echo $? >"$T/rc"
)
if grep -qF "qvm-ls: cannot reach qmgrd at /" "$T/out" &&
   grep -qF "/qmgr/qmgrd.sock" "$T/out"; then
	ok "without QMGR_ROOT the system socket is used"
elif grep -qF "qvm-ls: qmgrd at" "$T/out" ||
     { [ "$(cat "$T/rc")" = 0 ] && head -n1 "$T/out" | grep -q '^NAME'; }; then
	# a system qmgrd answers (scripts/setup.sh leaves one running)
	ok "without QMGR_ROOT the system socket is used (a qmgrd is running)"
else
	not_ok "without QMGR_ROOT the system socket is used" "$(cat "$T/out")"
fi

# a socket path too long for sun_path
LONGROOT=$T/$(printf 'd%.0s' $(seq 1 120))
mkdir -p "$LONGROOT"
QMGR_ROOT=$LONGROOT expect_rc "too long a QMGR_ROOT is explained" 1 \
	"the path is too long for a Unix socket: use a shorter QMGR_ROOT" qvm-ls

# fake daemons, if python3 is there: a stale socket, one that hangs up at
# once (as qmgrd does for a peer it refuses), and one that sends garbage
if command -v python3 >/dev/null; then
	mkdir -p "$(dirname "$SOCK")"
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$SOCK"
	expect_rc "stale socket: connection refused" 1 \
		"qvm-ls: cannot reach qmgrd at $SOCK: Connection refused $HINT" qvm-ls
	rm -f "$SOCK"

	serve() { # serve MODE: answer one connection, then exit
		python3 - "$SOCK" "$1" <<'PY' &
import socket, struct, sys
path, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(1)
open(path + ".ready", "w").close()
c, _ = s.accept()
if mode == "garbage":
    c.recv(4096)
    c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
elif mode == "oldhello":
    c.recv(4096)
    payload = struct.pack("<I", 0) + b"q\0"
    c.sendall(struct.pack("<IHHII", 0x31474d51, 1, 0, 0, len(payload)) + payload)
c.close()
s.close()
PY
		for _ in $(seq 1 100); do [ -e "$SOCK.ready" ] && break; sleep 0.05; done
	}
	serve close
	expect_rc "a daemon that hangs up is reported as a permission problem" 1 \
		"qvm-ls: qmgrd at $SOCK closed the connection (only root and members of group qmgr may use it)" qvm-ls
	wait; rm -f "$SOCK" "$SOCK.ready"
	serve garbage
	expect_rc "a peer sending garbage is a protocol error" 1 \
		"qvm-ls: qmgrd at $SOCK sent an invalid message" qvm-ls
	wait; rm -f "$SOCK" "$SOCK.ready"
	serve oldhello
	expect_rc "an unsupported protocol version is named" 1 \
		"qvm-ls: qmgrd at $SOCK speaks protocol version 0, this tool needs 1" qvm-ls
	wait; rm -f "$SOCK" "$SOCK.ready"
else
	echo "# python3 not found: skipping the fake-daemon checks"
fi

echo "1..$n"
[ "$fails" = 0 ]
