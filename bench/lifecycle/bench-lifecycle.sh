#!/usr/bin/env bash
# bench/lifecycle: qvm-start to agent-ready, against starting the same
# domain XML directly with libvirt to the same ready signal, in one run.
#
#   bench-lifecycle.sh BUILD_DIR TEMPLATE_OUT_DIR AGENT_CLIENT [ROUNDS]
#
# Each round: `qvm-start bench` (qmgrd makes the volatile root, builds the
# domain XML, starts it through libvirt, waits for the agent's HELLO),
# timed from the command to its return; the domain's live XML is saved and
# the qube shut down; then the same XML is started with `virsh create`
# (volatile root prepared untimed beforehand) and timed to the agent's
# HELLO as seen by agent-client.  The two alternate so that machine noise
# hits both.  Prints medians, the ratio (target <= 1.10), and the host RSS
# of the QEMU process of an idle compartment.  Needs root.
set -euo pipefail
B=$1
TPL=$2
CLIENT=$3
ROUNDS=${4:-5}
if [ "$(id -u)" != 0 ]; then
	echo "bench-lifecycle: SKIP: needs root (libvirt's system instance)"
	exit 0
fi
bash "$(dirname "$0")/../../scripts/libvirt-up.sh"

T=$(mktemp -d /tmp/qmgr-bench.XXXXXX)
chmod 0755 "$T"
export QMGR_ROOT=$T/root
mkdir -p "$QMGR_ROOT" "$T/templates"
ln -s "$(realpath "$TPL")" "$T/templates/minimal"
PATH=$B/qvm-tools:$PATH
"$B/qmgrd/qmgrd" --root "$QMGR_ROOT" --template-dir "$T/templates" \
	>"$T/qmgrd.log" 2>&1 &
pid=$!
uri=qemu:///system
cleanup() {
	virsh -q -c $uri destroy qmgr-bench-direct >/dev/null 2>&1 || true
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	# the qubes of this qmgrd are persistent domains: remove them all
	if [ -f "$QMGR_ROOT/var/lib/qmgr/instance-id" ]; then
		inst=$(cat "$QMGR_ROOT/var/lib/qmgr/instance-id")
		for d in $(virsh -q -c $uri list --all --name | grep "^qmgr-$inst-"); do
			virsh -q -c $uri destroy "$d" >/dev/null 2>&1 || true
			virsh -q -c $uri undefine "$d" >/dev/null 2>&1 || true
		done
		# the nftables table qmgrd keeps when it stops with qubes
		# running (docs/network.md)
		nft delete table inet "qmgr_$inst" >/dev/null 2>&1 || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT
for _ in $(seq 300); do qvm-ls --raw-list 2>/dev/null | grep -qx default-dvm && break; sleep 0.2; done
qvm-create --label green bench
inst=$(cat "$QMGR_ROOT/var/lib/qmgr/instance-id")
dom=qmgr-$inst-bench
vmdir=$QMGR_ROOT/var/lib/qmgr/vms

now_us() { echo $(($(date +%s%N) / 1000)); }
qm_ms=()
lv_ms=()
rss_kb=
for r in $(seq "$ROUNDS"); do
	t0=$(now_us)
	qvm-start bench
	t1=$(now_us)
	qm_ms+=($(((t1 - t0) / 1000)))
	virsh -q -c $uri dumpxml "$dom" >"$T/live.xml"
	if [ -z "$rss_kb" ]; then
		sleep 5   # idle: booted, agent waiting
		qpid=$(pgrep -f -- "guest=$dom" | head -n1)
		rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$qpid/status")
	fi
	qvm-shutdown --wait bench

	# The same domain, started directly: same disks (a fresh overlay, as
	# qmgrd makes one), same agent socket path, another name.
	sock=$(sed -n "s/.*<source mode='bind' path='\([^']*agent.sock\)'.*/\1/p" "$T/live.xml")
	sed -e "s|<name>$dom</name>|<name>qmgr-bench-direct</name>|" \
		-e '/<uuid>/d' -e '/<seclabel/,/<\/seclabel>/d' \
		"$T/live.xml" >"$T/direct.xml"
	qemu-img create -q -f qcow2 -F qcow2 -b "$vmdir/minimal/root.qcow2" \
		"$vmdir/bench/volatile.qcow2"
	rm -f "$sock"
	t0=$(now_us)
	virsh -q -c $uri create "$T/direct.xml" >/dev/null
	out=$("$CLIENT" --socket "$sock" --since-us "$t0" --hello-timeout 120 \
		--shutdown --eof-timeout 60)
	lv_ms+=($(sed -n 's/^hello .* ms=\([0-9]*\)$/\1/p' <<<"$out"))
	for _ in $(seq 300); do
		virsh -q -c $uri domstate qmgr-bench-direct >/dev/null 2>&1 || break
		sleep 0.1
	done
	rm -f "$vmdir/bench/volatile.qcow2"
	echo "round $r: qvm-start ${qm_ms[-1]} ms, libvirt direct ${lv_ms[-1]} ms"
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
qm=$(median "${qm_ms[@]}")
lv=$(median "${lv_ms[@]}")
ratio=$(awk -v a="$qm" -v b="$lv" 'BEGIN {printf "%.2f", a / b}')
met=$(awk -v r="$ratio" 'BEGIN {print (r <= 1.10) ? "met" : "missed"}')
accel=$(grep -o 'using [A-Z]*' "$T/qmgrd.log" | head -n1)
echo "qvm-start to agent ready: median ${qm} ms (${qm_ms[*]})"
echo "libvirt direct to agent ready: median ${lv} ms (${lv_ms[*]})"
echo "ratio qvm-start / direct: ${ratio} (target <= 1.10: ${met}); ${accel#using }"
echo "idle compartment: QEMU RSS $((rss_kb / 1024)) MiB ($(qvm-prefs bench memory) MiB guest memory)"
echo "RESULT qvm_start_ms=$qm direct_ms=$lv ratio=$ratio target_met=$met rss_kib=$rss_kb rounds=$ROUNDS"
