#!/usr/bin/env bash
# Integration test of network isolation (docs/network.md): qmgrd compiles
# the qmgr.Network policy and its running qubes into its nftables table.
# An "internet" is a network namespace behind a veth pair whose host end
# is the uplink (sys-net): TCP servers and dnsmasq run in it.  Real guests
# from the minimal template; qmgrd of its own, with a range of its own.
# TAP output.
#
#   test-network.sh BUILD_DIR TEMPLATE_OUT_DIR
set -u
B=$1
TPL=$2
LOG_KEEP=/tmp/qmgr-network-failed.log
RANGE=10.199.78.0/24
NS=qmnt$$
UP=qtup$$           # the uplink's host end (not a qm* name: those are taps)
NET_HOST=198.51.100.1
NET_SRV=198.51.100.2
. "$(dirname "$0")/lib-qmgrd.sh"

net_cleanup() {
	[ -n "${srv_pid:-}" ] && kill "$srv_pid" 2>/dev/null
	[ -f "$T/dnsmasq.pid" ] && kill "$(cat "$T/dnsmasq.pid")" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	ip link del "$UP" 2>/dev/null
	nft delete table inet qmtest_other$$ 2>/dev/null
	# (the table the last check leaves on purpose goes in cleanup)
}
trap 'net_cleanup; cleanup' EXIT

table() { echo "qmgr_$(instance)"; }
has_table() { nft list tables 2>/dev/null | grep -qx "table inet $(table)"; }
policy_file=$QMGR_ROOT/etc/qmgr/policy.d/30-test.policy
# the shipped default, as installed in /etc/qmgr/policy.d
mkdir -p "${policy_file%/*}"
cp "$(dirname "$0")/../../policy/policy.d/90-default.policy" "${policy_file%/*}/"
set_policy() { # TEXT: installed atomically, as an editor or qvm-policy would
	mkdir -p "${policy_file%/*}"
	printf '%s\n' "$@" >"$policy_file.tmp" && mv "$policy_file.tmp" "$policy_file"
}
# waits (up to 5 s) until qmgrd's log shows another table load after line $1
wait_load() {
	for _ in $(seq 50); do
		[ "$(grep -c 'network: table .* loaded' "$T/qmgrd.log")" -gt "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
loads() { grep -c 'network: table .* loaded' "$T/qmgrd.log"; }
# tcp VM PORT [HOST]: what the server answers, or "" (3 s connect timeout)
tcp() { qvm-run -p "$1" "echo hi | timeout 5 nc -w 3 ${3:-$NET_SRV} $2" 2>/dev/null </dev/null; }

# --- the "internet": a namespace with TCP servers and a resolver
ip netns add "$NS"
ip link add "$UP" type veth peer name inet0 netns "$NS"
ip addr add $NET_HOST/24 dev "$UP"
ip link set "$UP" up
ip -n "$NS" link set lo up
ip -n "$NS" addr add $NET_SRV/24 dev inet0
ip -n "$NS" link set inet0 up
ip -n "$NS" route add default via $NET_HOST
# Each port answers "hello-PORT"; 8080 then sends a tick every 0.2 s for as
# long as the connection lives (the established flow that a revoked rule
# must cut).
cat >"$T/servers.py" <<'PY'
import socket, sys, threading, time
def serve(port):
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port)); ls.listen(16)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=talk, args=(c, port), daemon=True).start()
def talk(c, port):
    try:
        c.sendall(b"hello-%d\n" % port)
        n = 0
        while port == 8080:
            n += 1; c.sendall(b"tick %d\n" % n); time.sleep(0.2)
        time.sleep(1)
    except OSError:
        pass
    c.close()
def count_syns(path):
    # TCP SYNs to port 9999 (nobody listens) that reach the internet:
    # whether a packet got out at all, whatever happens to its answer.
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    n = 0
    while True:
        d = r.recv(65535)
        ihl = (d[0] & 15) * 4
        if int.from_bytes(d[ihl + 2:ihl + 4], "big") == 9999 and d[ihl + 13] & 2:
            n += 1
            open(path, "w").write("%d\n" % n)
for p in (80, 443, 8080):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
threading.Thread(target=count_syns, args=(sys.argv[1],), daemon=True).start()
while True:
    time.sleep(60)
PY
echo 0 >"$T/syns"
ip netns exec "$NS" python3 "$T/servers.py" "$T/syns" & srv_pid=$!
syns() { cat "$T/syns"; }
ip netns exec "$NS" dnsmasq --no-resolv --no-hosts --bind-interfaces \
	--listen-address=$NET_SRV --address=/example.test/198.51.100.7 \
	--pid-file="$T/dnsmasq.pid" --user=root 2>"$T/dnsmasq.err" ||
	echo "# dnsmasq: $(cat "$T/dnsmasq.err")"
nft add table inet qmtest_other$$

start_qmgrd --ip-range "$RANGE" --uplink "$UP" --dns-upstream $NET_SRV || exit 1
for _ in $(seq 100); do [ "$(state default-dvm)" = Halted ] && break; sleep 0.2; done

# n1 gets a narrow policy, n2 the shipped default (everything to sys-net,
# nothing to other qubes).
set_policy 'qmgr.Network  +tcp-443   n1  sys-net  allow' \
	'qmgr.Network  +tcp-8080  n1  sys-net  allow' \
	'qmgr.Network  +udp-53    n1  sys-net  allow' \
	'qmgr.Network  +tcp-53    n1  sys-net  allow' \
	'qmgr.Network  *          n1  sys-net  deny'
has_table && not_ok "no table while no networked qube runs" "$(nft list tables)" || ok "no table while no networked qube runs"
check "qvm-create n1, n2 and a vault with netvm none" bash -c \
	'qvm-create n1 && qvm-create n2 && qvm-create -P netvm=none vault'
check "qvm-start n1 n2 vault" bash -c 'qvm-start n1 && qvm-start n2 && qvm-start vault'
ip1=$(qvm-prefs n1 ip) ip2=$(qvm-prefs n2 ip)
for _ in $(seq 50); do has_table && break; sleep 0.1; done
has_table && ok "qmgrd's table is loaded once networked qubes run ($(table))" || not_ok "qmgrd's table is loaded" "$(nft list tables)"
nft list table inet $(table) >"$T/ruleset.txt" 2>&1
grep -q "$ip1" "$T/ruleset.txt" && grep -q "$ip2" "$T/ruleset.txt" &&
	ok "the table lists both qubes' addresses (antispoofing)" || not_ok "the table lists both qubes' addresses" "$(cat "$T/ruleset.txt")"

# --- outbound per port
same "test_net_allowed_port: n1 reaches tcp/443 on the internet" hello-443 "$(tcp n1 443)"
same "test_net_denied_port: n1 does not reach tcp/80 (its policy denies it)" "" "$(tcp n1 80)"
same "test_net_default_allows_uplink: n2 reaches tcp/80 (shipped default)" hello-80 "$(tcp n2 80)"
out=$(qvm-run -p n1 'nslookup example.test 10.139.1.1' 2>&1 </dev/null)
[[ $out == *198.51.100.7* ]] && ok "test_net_dns: DNS through 10.139.1.1 works when allowed" || not_ok "test_net_dns: DNS works when allowed" "$out"

# --- UDP per port: n2 (all allowed) resolves; denied udp/53 it does not,
# while tcp/80 still passes
out=$(qvm-run -p n2 'nslookup example.test 10.139.1.1' 2>&1 </dev/null)
[[ $out == *198.51.100.7* ]] && ok "n2 resolves through 10.139.1.1 (udp/53 under the default)" || not_ok "n2 resolves under the default" "$out"
before=$(loads)
set_policy 'qmgr.Network  +udp-53    n2  sys-net  deny' \
	'qmgr.Network  +tcp-53    n2  sys-net  deny' \
	'qmgr.Network  +tcp-443   n1  sys-net  allow' \
	'qmgr.Network  +tcp-8080  n1  sys-net  allow' \
	'qmgr.Network  +udp-53    n1  sys-net  allow' \
	'qmgr.Network  +tcp-53    n1  sys-net  allow' \
	'qmgr.Network  *          n1  sys-net  deny'
wait_load "$before"
out=$(qvm-run -p n2 'timeout 10 nslookup example.test 10.139.1.1' 2>&1 </dev/null)
[[ $out != *198.51.100.7* ]] && ok "test_net_denied_udp_port: n2 denied udp/53 gets no answer" || not_ok "test_net_denied_udp_port" "$out"
same "n2 still reaches tcp/80 (only udp/53 and tcp/53 are denied)" hello-80 "$(tcp n2 80)"

# --- qube to qube: denied by default, allowed by an edit without restarts
qvm-run -u root n2 'setsid sh -c "while :; do echo from-n2 | nc -l -p 7000; done" </dev/null >/dev/null 2>&1 &' </dev/null
sleep 1
same "test_net_vm_to_vm_denied: n1 cannot reach n2 by default" "" "$(tcp n1 7000 "$ip2")"
before=$(loads)
set_policy 'qmgr.Network  +tcp-7000  n1  n2       allow' \
	'qmgr.Network  +tcp-443   n1  sys-net  allow' \
	'qmgr.Network  +tcp-8080  n1  sys-net  allow' \
	'qmgr.Network  +udp-53    n1  sys-net  allow' \
	'qmgr.Network  +tcp-53    n1  sys-net  allow' \
	'qmgr.Network  *          n1  sys-net  deny'
wait_load "$before" && ok "a policy edit reloads the table within 5 s" || not_ok "a policy edit reloads the table"
# Up to three tries: under TCG one try (nc with a 5 s limit, the listener's
# loop in n2) was seen to come back empty once in a loaded CI run; what is
# checked is that the edit lets the flow through, not the first SYN's luck.
got=
for _ in 1 2 3; do
	got=$(tcp n1 7000 "$ip2")
	[ "$got" = from-n2 ] && break
	sleep 1
done
same "test_net_vm_to_vm_allowed_after_edit: n1 reaches n2:7000 once allowed" from-n2 "$got"
same "n2 still cannot reach n1 (the rule is one way)" "" "$(tcp n2 22 "$ip1")"

# --- an established flow is cut when its rule goes
qvm-run n1 'setsid sh -c "nc '$NET_SRV' 8080 > /tmp/ticks" </dev/null >/dev/null 2>&1 &' </dev/null
sleep 3
t1=$(qvm-run -p n1 'wc -l < /tmp/ticks' </dev/null)
before=$(loads)
set_policy 'qmgr.Network  +tcp-443   n1  sys-net  allow' \
	'qmgr.Network  +udp-53    n1  sys-net  allow' \
	'qmgr.Network  +tcp-53    n1  sys-net  allow' \
	'qmgr.Network  *          n1  sys-net  deny'
wait_load "$before"
sleep 1
t2=$(qvm-run -p n1 'wc -l < /tmp/ticks' </dev/null)
sleep 2
t3=$(qvm-run -p n1 'wc -l < /tmp/ticks' </dev/null)
[ "${t1:-0}" -gt 3 ] && [ "$t3" = "$t2" ] &&
	ok "test_net_revoke_cuts_established: the flow stops once its allow is removed ($t1, $t2, $t3 ticks)" ||
	not_ok "test_net_revoke_cuts_established" "ticks: $t1 then $t2 then $t3"

# --- an invalid policy closes the network; fixing it reopens
before=$(loads)
set_policy 'qmgr.Network  +tcp-443   n1  sys-net  ask'
wait_load "$before"
grep -q "network is closed" "$T/qmgrd.log" && ok "an invalid policy is reported and closes the network" || not_ok "an invalid policy is reported"
same "test_net_invalid_policy_fails_closed: n2 reaches nothing" "" "$(tcp n2 80)"
before=$(loads)
set_policy '# nothing of our own'
wait_load "$before"
same "fixing the policy reopens it: n2 reaches tcp/80 again" hello-80 "$(tcp n2 80)"

# --- spoofing: n2 (as root) takes n1's address, then its MAC.  Its
# packets to port 9999 are counted where they would arrive: a spoofed one
# must not get out at all (answers to a spoofed address would go to n1
# anyway, so "no answer" would prove nothing).
mac1=$(qvm-prefs n1 mac) mac2=$(qvm-prefs n2 mac) gw=$(qvm-prefs n2 gateway)
routes="ip route add $gw dev eth0; ip route add default via $gw dev eth0"
probe="timeout 4 nc -w 2 $NET_SRV 9999 </dev/null >/dev/null 2>&1"
s0=$(syns)
qvm-run -p -u root n2 "$probe" </dev/null
s1=$(syns)
[ "$s1" -gt "$s0" ] && ok "control: n2's own SYNs to port 9999 reach the internet ($s0 -> $s1)" ||
	not_ok "control: n2's SYNs reach the internet" "$s0 -> $s1"
qvm-run -p -u root n2 "ip addr flush dev eth0; ip addr add $ip1/32 dev eth0; $routes;
	$probe; ip addr flush dev eth0; ip addr add $ip2/32 dev eth0; $routes" </dev/null
s2=$(syns)
same "test_net_spoofed_address_dropped: n2 using n1's address gets no packet out" "$s1" "$s2"
qvm-run -p -u root n2 "ip link set eth0 down; ip link set eth0 address $mac1; ip link set eth0 up; $routes;
	$probe; ip link set eth0 down; ip link set eth0 address $mac2; ip link set eth0 up; $routes" </dev/null
s3=$(syns)
same "test_net_spoofed_mac_dropped: n2 using n1's MAC gets no packet out" "$s1" "$s3"
same "n2 with its own address and MAC again reaches tcp/80" hello-80 "$(tcp n2 80)"

# --- a paused and resumed qube keeps its network (libvirt 9.0 re-adding
# its own host-side address broke every resume, see network-plumbing)
dom2=qmgr-$(instance)-n2
check "virsh suspend and resume n2" bash -c "virsh -q -c qemu:///system suspend $dom2 && virsh -q -c qemu:///system resume $dom2"
wait_state n2 Running
same "test_net_resume_keeps_network: n2 reaches tcp/80 after a resume" hello-80 "$(tcp n2 80)"

# --- netvm none, and no IPv6
out=$(qvm-run -p vault 'ls /sys/class/net' </dev/null 2>&1)
same "test_net_netvm_none_has_no_interface: vault has lo only" lo "$(echo $out)"
grep -q "meta nfproto != ipv4 drop" "$T/ruleset.txt" && ok "IPv6 from or to a tap is dropped" || not_ok "IPv6 is dropped" "$(cat "$T/ruleset.txt")"

# --- the table goes with the last networked qube, others' tables stay
check "qvm-shutdown --wait n1 n2" bash -c 'qvm-shutdown --wait n1 && qvm-shutdown --wait n2'
for _ in $(seq 50); do has_table || break; sleep 0.1; done
has_table && not_ok "the table is removed when the last networked qube stops" "$(nft list tables)" || ok "the table is removed when the last networked qube stops"
nft list tables | grep -qx "table inet qmtest_other$$" && ok "a table qmgrd does not own is untouched" || not_ok "a table qmgrd does not own is untouched" "$(nft list tables)"
check "qvm-start n1 again" qvm-start n1
for _ in $(seq 50); do has_table && break; sleep 0.1; done
has_table && ok "starting a networked qube rebuilds it" || not_ok "starting a networked qube rebuilds it"
stop_qmgrd
has_table && ok "qmgrd exiting while a networked qube runs keeps its rules" || not_ok "qmgrd exiting keeps the table while qubes run"

echo "1..$n"
[ "$fails" = 0 ]
