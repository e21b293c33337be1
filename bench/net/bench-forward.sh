#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Forwarding throughput through qmgrd's nftables table (issue 5): TCP from
# a namespace standing for a qube, through a router namespace holding the
# table, to one standing for the internet, measured with iperf3; against
# the same path with an empty table (no chains, no conntrack, no NAT).
#
#   a (the qube)  eth0 10.137.0.2 --- qm000000v2 10.137.0.1  r (the host)
#   b (internet)  eth0 198.18.0.2 --- up0        198.18.0.1  r (uplink)
#
# In r, bench-net --load-into-netns compiles a policy of 10 qubes x 100
# qmgr.Network rules (qube 0 is `a`, its first rule allows tcp 5201 to
# sys-net, its second denies tcp 5202) and loads it with qm_net_nft_apply,
# as qmgrd would.  A third configuration, for diagnosis only, is a table
# with just conntrack and masquerade (what any stateful NAT router pays).
# The configurations take turns, ROUNDS each; medians and ratios are
# reported.  Missed targets do not change the exit
# status (a benchmark is not a test); it is 77 when root, ip, nft or iperf3
# is missing.
#
# usage: bench-forward.sh BUILD_DIR [ROUNDS (3)] [SECONDS per run (5)]
#                         [QUBES in the policy, 100 rules each (10)]
set -euo pipefail

build=${1:?usage: bench-forward.sh BUILD_DIR [ROUNDS] [SECONDS] [QUBES]}
rounds=${2:-3}
secs=${3:-5}
vms=${4:-10}
bench_net=$build/bench/bench-net
target=0.95
table=qmgr_00000000
port=5201          # allowed by the table
denied=5202        # denied by the table: proves it is in the path

if [ "$(id -u)" != 0 ]; then
	echo "bench-forward: needs root (network namespaces): skipped"
	exit 77
fi
for p in ip nft iperf3 python3; do
	if ! command -v "$p" >/dev/null; then
		echo "bench-forward: needs $p (scripts/deps.sh installs it):" \
			"skipped"
		exit 77
	fi
done
[ -x "$bench_net" ] || { echo "bench-forward: no $bench_net" >&2; exit 1; }

# Names of our own, so that nothing of the host or of another run is
# touched.
A=bnf$$a R=bnf$$r B=bnf$$b
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	for n in "$A" "$R" "$B"; do ip netns del "$n" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

ip netns add "$A"
ip netns add "$R"
ip netns add "$B"
ip link add qm000000v2 netns "$R" type veth peer name eth0 netns "$A"
ip link add up0 netns "$R" type veth peer name eth0 netns "$B"
for n in "$A" "$R" "$B"; do ip -n "$n" link set lo up; done

ip -n "$A" link set eth0 address 00:16:3e:89:00:02 up
ip -n "$A" addr add 10.137.0.2/32 dev eth0
ip -n "$A" route add 10.137.0.1 dev eth0
ip -n "$A" route add default via 10.137.0.1 dev eth0

ip -n "$R" link set qm000000v2 up
ip -n "$R" addr add 10.137.0.1 peer 10.137.0.2/32 dev qm000000v2
ip -n "$R" link set up0 up
ip -n "$R" addr add 198.18.0.1/24 dev up0
in_ns "$R" sysctl -qw net.ipv4.ip_forward=1

ip -n "$B" link set eth0 up
ip -n "$B" addr add 198.18.0.2/24 dev eth0
# Without the table's masquerade (the empty configuration) replies go
# back to 10.137.0.2 itself.
ip -n "$B" route add 10.137.0.0/16 via 198.18.0.1

in_ns "$B" iperf3 -s -p "$port" >"$tmp/server.log" 2>&1 &
pids+=($!)
in_ns "$B" iperf3 -s -p "$denied" >"$tmp/server-denied.log" 2>&1 &
pids+=($!)

empty_table() {
	in_ns "$R" nft -f - <<-EOF
	add table inet $table
	delete table inet $table
	add table inet $table
	EOF
}

# Diagnostic, no target: what any stateful NAT router pays (conntrack and
# masquerade, as libvirt's NAT network does) without qmgr's lookups.
nat_table() {
	in_ns "$R" nft -f - <<-EOF
	add table inet $table
	delete table inet $table
	table inet $table {
		chain forward {
			type filter hook forward priority filter;
			ct state established,related accept
			accept
		}
		chain srcnat {
			type nat hook postrouting priority srcnat;
			oifname "up0" masquerade
		}
	}
	EOF
}

qmgr_table() {
	in_ns "$R" "$bench_net" --load-into-netns "$R" --vms "$vms" \
		--rules-per-vm 100 --uplink up0 --allow-port "$port" \
		--deny-port "$denied" >"$tmp/load.log"
	netns_line=$(grep '^loaded' "$tmp/load.log")
	elements=$(sed -n 's/^LOADED elements=\([0-9]*\).*/\1/p' "$tmp/load.log")
	rules=$(sed -n 's/^LOADED .*rules=\([0-9]*\).*/\1/p' "$tmp/load.log")
}

# Can a open a TCP connection to b's PORT within 2 s?
reaches() {
	in_ns "$A" timeout 2 bash -c "exec 3<>/dev/tcp/198.18.0.2/$1" \
		2>/dev/null
}

# One iperf3 run from a to b; prints Gbit/s received.
iperf() {
	local out=$tmp/client.json
	if ! in_ns "$A" iperf3 -c 198.18.0.2 -p "$port" -t "$secs" -O 1 -J \
		--connect-timeout 2000 >"$out" 2>&1; then
		echo "bench-forward: iperf3 failed:" >&2
		cat "$out" >&2
		return 1
	fi
	python3 -c 'import json,sys
print("%.3f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' "$out"
}

for _ in 1 2 3 4 5 6 7 8 9 10; do
	reaches "$port" && break
	sleep 0.2
done

# The table is in the path: the denied port is reached without it and
# not with it.
empty_table
reaches "$denied" || { echo "bench-forward: no path a -> b" >&2; exit 1; }
qmgr_table
echo "table:     $netns_line"
if reaches "$denied"; then
	echo "bench-forward: tcp $denied passes the table that denies it" >&2
	exit 1
fi
reaches "$port" || { echo "bench-forward: tcp $port is blocked" >&2; exit 1; }
echo "check:     tcp $port passes, tcp $denied is dropped: yes"

# One untimed run of each, then rounds in rotating order.
empty_table; iperf >/dev/null
qmgr_table; iperf >/dev/null
nat_table; iperf >/dev/null
e=() q=() n=()
for ((i = 0; i < rounds; i++)); do
	for k in 0 1 2; do
		case $(((i + k) % 3)) in
		0)	empty_table
			e+=("$(iperf)")
			echo "round $((i + 1)): empty table  ${e[-1]} Gbit/s" ;;
		1)	qmgr_table
			q+=("$(iperf)")
			echo "round $((i + 1)): qmgr's table ${q[-1]} Gbit/s" ;;
		2)	nat_table
			n+=("$(iperf)")
			echo "round $((i + 1)): ct + NAT     ${n[-1]} Gbit/s" ;;
		esac
	done
done

python3 - "$target" "$rounds" "$secs" "$elements" "$rules" \
	"${e[*]}" "${q[*]}" "${n[*]}" <<'EOF'
import statistics, sys
target, rounds, secs, elements, rules = sys.argv[1:6]
e, q, n = ([float(x) for x in a.split()] for a in sys.argv[6:9])
me, mq, mn = statistics.median(e), statistics.median(q), statistics.median(n)
ratio = mq / me
ok = ratio >= float(target)
print("empty:     %.2f Gbit/s median (%.2f-%.2f)" % (me, min(e), max(e)))
print("qmgr:      %.2f Gbit/s median (%.2f-%.2f), %s rules, %s flows "
      "(fwd_* elements)" % (mq, min(q), max(q), rules, elements))
print("ct + NAT:  %.2f Gbit/s median (%.2f-%.2f), conntrack and masquerade "
      "only" % (mn, min(n), max(n)))
print("ratio:     qmgr / empty %.3f; target >= %s: %s" %
      (ratio, target, "met" if ok else "MISSED"))
print("           ct + NAT / empty %.3f, qmgr / ct + NAT %.3f (what the "
      "set lookups add)" % (mn / me, mq / mn))
print("RESULT empty_gbps=%.3f qmgr_gbps=%.3f ratio=%.3f target_met=%s "
      "nat_gbps=%.3f nat_ratio=%.3f qmgr_vs_nat=%.3f rules=%s elements=%s "
      "rounds=%s seconds=%s" %
      (me, mq, ratio, "yes" if ok else "no", mn, mn / me, mq / mn, rules,
       elements, rounds, secs))
EOF
