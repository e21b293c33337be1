#!/usr/bin/env bash
# Integration test of the qubes' network plumbing (docs/network.md):
# netvm and the read-only ip/mac/gateway/dns properties, one routed tap
# per networked qube, eth0 configured in the guest, no device for netvm
# none.  A qmgrd of its own with a range of its own (so that its routes
# do not meet another qmgrd's), real guests from the minimal template.
# What may cross is test-network.sh's part: here no policy allows
# anything, so the checks that packets flow are in that test.  TAP output.
#
#   test-network-plumbing.sh BUILD_DIR TEMPLATE_OUT_DIR
set -u
B=$1
TPL=$2
LOG_KEEP=/tmp/qmgr-network-plumbing-failed.log
RANGE=10.199.77.0/24
GW=10.199.77.1
. "$(dirname "$0")/lib-qmgrd.sh"

prefs() { qvm-prefs "$1" "$2" 2>&1; }
# qm + 6 characters of the instance id + v + the address's low 16 bits
tap_of() {
	local IFS=. a
	read -r -a a <<<"$1"
	echo "qm$(instance | cut -c1-6)v$((a[2] * 256 + a[3]))"
}
# ICMP echo from the host (no ping(8) here): exit 0 on a reply.
host_ping() {
	python3 - "$1" <<'PY'
import os, socket, struct, sys, time
dst = sys.argv[1]
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident = os.getpid() & 0xffff
for seq in range(1, 6):
    body = b"qmgr-net"
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + body), ident, seq) + body
    s.sendto(pkt, (dst, 0))
    end = time.time() + 1
    while time.time() < end:
        s.settimeout(max(end - time.time(), 0.01))
        try:
            data, addr = s.recvfrom(1500)
        except socket.timeout:
            break
        ihl = (data[0] & 0xf) * 4
        t, _, _, i, _ = struct.unpack("!BBHHH", data[ihl:ihl + 8])
        if addr[0] == dst and t == 0 and i == ident:
            sys.exit(0)
sys.exit(1)
PY
}

# --- the option
out=$("$QMGRD" --root "$T/bad" --ip-range 10.137.0.0/12 2>&1); rc=$?
[ $rc = 2 ] && [[ $out == *"prefix length must be 16 to 28"* ]] && ok "--ip-range refuses a prefix outside 16..28" || not_ok "--ip-range refuses a prefix outside 16..28" "rc=$rc $out"
out=$("$QMGRD" --root "$T/bad" --ip-range 10.137.0.5/16 2>&1); rc=$?
[ $rc = 2 ] && [[ $out == *"host bits are set"* ]] && ok "--ip-range refuses host bits" || not_ok "--ip-range refuses host bits" "rc=$rc $out"

start_qmgrd --ip-range "$RANGE" || exit 1
for _ in $(seq 100); do [ "$(state default-dvm)" = Halted ] && break; sleep 0.2; done

# --- properties
check "qvm-create two AppVMs and one with netvm none" bash -c \
	'qvm-create n1 && qvm-create n2 && qvm-create -P netvm=none vault'
same "an AppVM's netvm is sys-net by default" sys-net "$(prefs n1 netvm)"
same "a TemplateVM has no netvm" "" "$(prefs minimal netvm)"
same "netvm none is empty" "" "$(prefs vault netvm)"
ip1=$(prefs n1 ip) ip2=$(prefs n2 ip)
[[ $ip1 == 10.199.77.* ]] && [[ $ip2 == 10.199.77.* ]] && [ "$ip1" != "$ip2" ] && [ "$ip1" != "$GW" ] &&
	ok "each networked qube has its own address from --ip-range ($ip1, $ip2)" || not_ok "each networked qube has its own address" "$ip1 $ip2"
dvm_ip=$(prefs default-dvm ip)
[[ $dvm_ip == 10.199.77.* ]] && [ "$dvm_ip" != "$ip1" ] && [ "$dvm_ip" != "$ip2" ] &&
	ok "default-dvm (made at first start) has one too" || not_ok "default-dvm has an address" "$dvm_ip"
same "netvm none: no address" "" "$(prefs vault ip)"
same "netvm none: no gateway" "" "$(prefs vault gateway)"
same "gateway is the range's first address" "$GW" "$(prefs n1 gateway)"
same "dns is 10.139.1.1" 10.139.1.1 "$(prefs n1 dns)"
IFS=. read -r _ _ o3 o4 <<<"$ip1"
same "mac is 00:16:3e and the address's low bytes" "$(printf '00:16:3e:c7:%02x:%02x' "$o3" "$o4")" "$(prefs n1 mac)"
same "qvm-ls shows the netvm" "sys-net -" "$(qvm-ls | awk '$1 == "n1" || $1 == "vault" { print $NF }' | tr '\n' ' ' | sed 's/ $//')"
refuse "ip is read-only" "read-only" qvm-prefs n1 ip 10.199.77.99
refuse "ip cannot be given at create" "read-only" qvm-create -P ip=10.199.77.99 other
refuse "qvm-create sys-net is refused: it is built in" "sys-net is built in" qvm-create sys-net
refuse "a netvm that does not exist is refused" "does not exist" qvm-prefs vault netvm nonexistent
refuse "a netvm without provides_network is refused" "does not provide network" qvm-prefs vault netvm n2
refuse "a qube cannot be its own netvm" "its own netvm" bash -c 'qvm-prefs n2 provides_network True && qvm-prefs n2 netvm n2'
qvm-prefs -D n2 provides_network >/dev/null 2>&1
check "a qube with provides_network can be a netvm" bash -c \
	'qvm-create -P provides_network=True router && qvm-prefs vault netvm router'
[[ $(prefs vault ip) == 10.199.77.* ]] && ok "and its client gets an address" || not_ok "and its client gets an address" "$(prefs vault ip)"
refuse "routing through a qube: start refused with a clear message" "not implemented yet" qvm-start vault
refuse "provides_network stays while it is someone's netvm" "is the netvm of: vault" qvm-prefs router provides_network False
refuse "a netvm in use cannot be removed" "still used by: vault" qvm-remove -f router
vault_ip=$(prefs vault ip)
check "netvm none again" qvm-prefs vault netvm none
same "setting netvm none releases the address" "" "$(prefs vault ip)"
check "qvm-create takes the released address" bash -c 'qvm-create n3 && qvm-remove -f router'
same "the lowest free address is reused" "$vault_ip" "$(prefs n3 ip)"
check "qvm-remove releases the address" bash -c \
	'qvm-remove -f n3 && [ -z "$(qvm-ls --raw-list | while read -r v; do qvm-prefs "$v" ip; done | grep -Fx '"$vault_ip"')" ]'
c=$(qvm-clone n2 n2c 2>&1 && qvm-prefs n2c ip)
[[ $c == 10.199.77.* ]] && [ "$c" != "$ip2" ] && ok "a clone gets an address of its own" || not_ok "a clone gets an address of its own" "$c"
qvm-remove -f n2c >/dev/null 2>&1
x=$(virsh -q -c qemu:///system dumpxml "qmgr-$(instance)-n1")
if grep -q "<interface type='ethernet'>" <<<"$x" &&
	grep -q "<target dev='$(tap_of "$ip1")' managed='yes'/>" <<<"$x" &&
	grep -q "<mac address='$(prefs n1 mac)'/>" <<<"$x" &&
	grep -q "<model type='virtio'/>" <<<"$x"; then
	ok "n1's domain: a virtio NIC with its MAC on its own managed tap"
else
	not_ok "n1's domain XML" "$x"
fi
x=$(virsh -q -c qemu:///system dumpxml "qmgr-$(instance)-vault")
! grep -q '<interface' <<<"$x" && ok "netvm none: no <interface> at all" || not_ok "netvm none: no <interface> at all" "$x"

# --- started: taps on the host, eth0 in the guests
for v in n1 n2 vault; do
	if out=$(qvm-start "$v" 2>&1); then ok "qvm-start $v"; else not_ok "qvm-start $v" "$out"; fi
done
for v in n1 n2; do
	ip=$(prefs "$v" ip)
	tap=$(tap_of "$ip")
	a=$(ip -4 addr show dev "$tap" 2>&1)
	[[ $a == *"inet $GW peer $ip/32"* ]] && ok "$v: tap $tap has $GW with peer $ip" || not_ok "$v: tap $tap has the gateway" "$a"
	r=$(ip -4 route show "$ip/32" 2>&1)
	[[ $r == *"dev $tap"* ]] && ok "$v: the host routes $ip/32 to $tap" || not_ok "$v: the host routes $ip/32 to $tap" "$r" "$(ip -4 route)"
	same "$v: no IPv6 on the host side of $tap" 1 "$(cat "/proc/sys/net/ipv6/conf/$tap/disable_ipv6" 2>&1)"
	g=$(qvm-run -p "$v" 'ip -4 addr show dev eth0; ip route; cat /etc/resolv.conf' 2>&1)
	if [[ $g == *"inet $ip/32"* ]] && [[ $g == *"default via $GW dev eth0"* ]] &&
		[[ $g == *"nameserver 10.139.1.1"* ]]; then
		ok "$v: eth0 has $ip/32, default route via $GW, resolver 10.139.1.1"
	else
		not_ok "$v: eth0 configured in the guest" "$g"
	fi
	# qmgrd's table (test-network.sh) lets a qube talk to nobody but
	# what the policy allows; the host itself is never one of them
	host_ping "$ip" && not_ok "$v: the host's own packets to it are dropped" "$ip answered" ||
		ok "$v: the host's own packets to it are dropped ($ip does not answer ICMP echo)"
	out=$(qvm-run -p -u root "$v" "ping -c 1 -W 3 $GW" 2>&1)
	[ $? != 0 ] && ok "$v: it cannot reach the host (its gateway address)" || not_ok "$v: it cannot reach the host" "$out"
done
# libvirt 9.0's own host-side address would break every resume
dom2=qmgr-$(instance)-n2
if out=$(virsh -q -c qemu:///system suspend "$dom2" 2>&1 && virsh -q -c qemu:///system resume "$dom2" 2>&1); then
	a=$(ip -4 addr show dev "$(tap_of "$ip2")" 2>&1)
	[[ $a == *"inet $GW peer $ip2/32"* ]] && ok "test_net_resume_keeps_tap: a paused and resumed qube keeps its tap address" ||
		not_ok "test_net_resume_keeps_tap: tap after resume" "$a"
else
	not_ok "test_net_resume_keeps_tap: suspend and resume" "$out"
fi
wait_state n2 Running || not_ok "n2 Running again after resume" "$(state n2)"
same "IPv4 forwarding is on" 1 "$(cat /proc/sys/net/ipv4/ip_forward)"
same "netvm none: the guest has only lo" "lo" "$(qvm-run -p vault 'ls /sys/class/net' 2>&1 | tr -s ' \n' ' ' | sed 's/ $//')"
refuse "netvm cannot change while the qube runs" "while it is Running" qvm-prefs n1 netvm none
d=$(qvm-run -p --dispvm 'ip -4 addr show dev eth0' 2>&1)
[[ $d == *"inet 10.199.77."* ]] && ok "a disposable inherits default-dvm's netvm and gets an address" || not_ok "a disposable has a network" "$d"

# --- stopped: its tap is gone
tap1=$(tap_of "$ip1")
check "qvm-shutdown n1" qvm-shutdown --wait n1
! ip link show "$tap1" >/dev/null 2>&1 && ok "n1's tap is gone once it stopped" || not_ok "n1's tap is gone once it stopped" "$(ip link show "$tap1")"
check "qvm-kill n2 vault" bash -c 'qvm-kill n2 && qvm-kill vault'

# --- a new range: addresses outside it are given anew at the next start
stop_qmgrd -TERM
start_qmgrd --ip-range 10.199.78.0/28 || exit 1
[[ $(prefs n1 ip) == 10.199.78.* ]] && [ "$(prefs n1 gateway)" = 10.199.78.1 ] &&
	ok "an address outside a new --ip-range is replaced at start" || not_ok "address in the new range" "$(prefs n1 ip) $(prefs n1 gateway)"
grep -q "n1: address $ip1 is outside the range" "$T/qmgrd.log" && ok "and the change is logged" || not_ok "and the change is logged" "$(grep n1 "$T/qmgrd.log")"
a=$(qvm-ls --raw-list | while read -r v; do qvm-prefs "$v" ip; done | grep . | sort)
[ "$(uniq <<<"$a")" = "$a" ] && ok "addresses stay unique" || not_ok "addresses stay unique" "$a"

echo "1..$n"
[ $fails = 0 ]
