# Shared by the shell tests that run a qmgrd of their own (--root in a temp
# dir) on the system libvirtd with real guests from the minimal template.
# Source it with B (build dir) and TPL (template out dir) set; it makes $T,
# sets QMGR_ROOT and PATH, and cleans everything up at exit.  TAP helpers:
# ok, not_ok, check, refuse.  The caller sets LOG_KEEP (where the qmgrd log
# of a failed run is kept).
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (libvirt's system instance)"
	exit 0
fi
bash "$(dirname "${BASH_SOURCE[0]}")/../../scripts/libvirt-up.sh" || exit 1

T=$(mktemp -d /tmp/qmgr-test.XXXXXX)
chmod 0755 "$T"
export QMGR_ROOT=$T/root
mkdir -p "$QMGR_ROOT" "$T/templates"
ln -s "$(realpath "$TPL")" "$T/templates/minimal"
PATH=$B/qvm-tools:$PATH
QMGRD=$B/qmgrd/qmgrd
pid=
n=0
fails=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
check() { # NAME COMMAND... : passes when the command succeeds
	local name=$1; shift
	if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}
refuse() { # NAME EXPECTED-SUBSTRING COMMAND... : must fail saying that
	local name=$1 want=$2; shift 2
	if out=$("$@" 2>&1); then not_ok "$name" "succeeded: $out"
	elif [[ $out == *"$want"* ]]; then ok "$name"
	else not_ok "$name" "want: $want" "got: $out"; fi
}
same() { # NAME WANT GOT
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "want: $2" "got: $3"; fi
}
state() { qvm-ls --json | python3 -c "import json,sys; print({v['name']: v['state'] for v in json.load(sys.stdin)}.get('$1', 'absent'))"; }
start_qmgrd() {
	"$QMGRD" --root "$QMGR_ROOT" --template-dir "$T/templates" "$@" >>"$T/qmgrd.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		[ -S "$QMGR_ROOT/run/qmgr/qmgrd.sock" ] && qvm-ls >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "# qmgrd did not come up"; sed 's/^/# /' "$T/qmgrd.log"; return 1
}
wait_state() { # NAME STATE: up to 60 s
	for _ in $(seq 300); do [ "$(state "$1")" = "$2" ] && return 0; sleep 0.2; done
	return 1
}
stop_qmgrd() { kill "${1:--TERM}" "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=; }
instance() { cat "$QMGR_ROOT/var/lib/qmgr/instance-id"; }
our_domains() { virsh -q -c qemu:///system list --all --name | grep "^qmgr-$(instance)-" | sort | tr '\n' ' ' || true; }
running_domains() { virsh -q -c qemu:///system list --name | grep "^qmgr-$(instance)-" || true; }
cleanup() {
	[ -n "$pid" ] && stop_qmgrd
	# keep qmgrd's log of a failed run for whoever reads the failure
	if [ "$fails" != 0 ] && [ -n "${LOG_KEEP:-}" ]; then
		cp "$T/qmgrd.log" "$LOG_KEEP" 2>/dev/null &&
			echo "# qmgrd log kept in $LOG_KEEP"
	fi
	for d in $(our_domains); do
		virsh -q -c qemu:///system destroy "$d" >/dev/null 2>&1
		virsh -q -c qemu:///system undefine "$d" >/dev/null 2>&1
	done
	# the nftables table a qmgrd stopped while its qubes ran keeps
	# (docs/network.md); the qubes are gone now
	[ -f "$QMGR_ROOT/var/lib/qmgr/instance-id" ] &&
		nft delete table inet "qmgr_$(instance)" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
