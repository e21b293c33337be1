#!/usr/bin/env bash
# bench/run: commands in qubes and disposables, in one run.
#
#   bench-run.sh BUILD_DIR TEMPLATE_OUT_DIR [CALLS] [ROUNDS] [POOL_ROUNDS]
#
# 1. call: `qvm-run -p bench true` to a running qube, CALLS (default 50)
#    calls after 3 warm-up calls: p50 and p99.  Absolute figures only: there
#    is no way to make the same round trip without qmgrd's command machinery.
# 2. disposable: cold `qvm-run -p --dispvm true` (create from default-dvm,
#    boot, run, destroy) against `qvm-start plain; qvm-run -p plain true;
#    qvm-kill plain` for an AppVM on the same template, alternating, ROUNDS
#    (default 3) each after one untimed warm-up of each: medians and ratio
#    (target <= 1.15).
# 2b. preloaded: `qvm-run -p --dispvm true` with default-dvm's
#    preload_dispvm 1, POOL_ROUNDS (default 10) calls, each once the pool
#    holds a paused member again (the refill is not timed): p50 and p99
#    (target p50 <= 250 ms), against the cold disposable (2) and against
#    a call to a running qube (1).
# 3. throughput: 256 MiB dom0->VM (`head -c | qvm-run -p bench 'cat >
#    /dev/null'`) and VM->dom0 (`qvm-run -p bench 'dd if=/dev/zero bs=65536
#    count=4096' >/dev/null`: busybox's `head -c` copies byte by byte, which
#    under TCG would measure head, not the channel),
#    against the same bytes pushed raw through the same kind of virtio-serial
#    channel: a second domain started directly with libvirt from a qube's
#    live XML (renamed, fresh volatile overlay), whose guest runs a raw
#    sink/source (busybox dd on the port) in place of qmgr-agent; the
#    host side is a small python3 client on the channel's unix socket.
#    Alternating, ROUNDS each; also a plain local pipe for scale.  Target
#    >= 0.8x raw.
#
# Runs its own qmgrd (--root in a temporary directory) on the system
# libvirtd; removes all its domains and the directory at exit.  Needs root.
set -euo pipefail
B=$1
TPL=$2
CALLS=${3:-50}
ROUNDS=${4:-3}
POOL_ROUNDS=${5:-10}
SIZE=268435456   # 256 MiB
if [ "$(id -u)" != 0 ]; then
	echo "bench-run: SKIP: needs root (libvirt's system instance)"
	exit 0
fi
command -v python3 >/dev/null || { echo "bench-run: SKIP: needs python3"; exit 0; }
bash "$(dirname "$0")/../../scripts/libvirt-up.sh"

T=$(mktemp -d /tmp/qmgr-bench-run.XXXXXX)
chmod 0755 "$T"
export QMGR_ROOT=$T/root
mkdir -p "$QMGR_ROOT" "$T/templates"
ln -s "$(realpath "$TPL")" "$T/templates/minimal"
PATH=$B/qvm-tools:$PATH
"$B/qmgrd/qmgrd" --root "$QMGR_ROOT" --template-dir "$T/templates" \
	>"$T/qmgrd.log" 2>&1 &
pid=$!
uri=qemu:///system
direct=qmgr-bench-run-direct-$$
cleanup() {
	virsh -q -c $uri destroy "$direct" >/dev/null 2>&1 || true
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	# the qubes of this qmgrd (disposables included) are persistent
	# domains: remove them all
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
inst=$(cat "$QMGR_ROOT/var/lib/qmgr/instance-id")
vmdir=$QMGR_ROOT/var/lib/qmgr/vms

now_us() { echo $(($(date +%s%N) / 1000)); }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
# nearest-rank percentile P of the arguments
pct() { local p=$1; shift; printf '%s\n' "$@" | sort -n | awk -v p="$p" '{a[NR]=$1} END {i=int((p*NR+99)/100); if (i<1) i=1; print a[i]}'; }

# --- 2. cold disposable against a plain start (nothing else running) ---
qvm-create --label green plain
# untimed: format the private volumes of default-dvm (which disposables
# copy) and of plain on their first boot, and warm the page cache
qvm-start default-dvm
qvm-shutdown --wait default-dvm
qvm-run -p --dispvm true </dev/null
qvm-start plain; qvm-run -p plain true </dev/null; qvm-kill plain
dvm_ms=()
plain_ms=()
for r in $(seq "$ROUNDS"); do
	t0=$(now_us)
	qvm-run -p --dispvm true </dev/null
	t1=$(now_us)
	dvm_ms+=($(((t1 - t0) / 1000)))
	sleep 1
	t0=$(now_us)
	qvm-start plain
	qvm-run -p plain true </dev/null
	qvm-kill plain
	t1=$(now_us)
	plain_ms+=($(((t1 - t0) / 1000)))
	sleep 1
	echo "round $r: dispvm ${dvm_ms[-1]} ms, start+run+kill ${plain_ms[-1]} ms"
done
leftover=$(virsh -q -c $uri list --all --name | grep -c "^qmgr-$inst-disp" || true)

# --- 2b. disposables from a warm preloaded pool ---
# "disp12=Paused disp34=Running ": the disposables and their states
disps() { qvm-ls --json | python3 -c "import json,sys; print(''.join(f\"{v['name']}={v['state']} \" for v in sorted(json.load(sys.stdin), key=lambda v: v['name']) if v['class'] == 'DispVM'))"; }
# until the pool holds one paused member and nothing else (the last one
# used is destroyed, the refill booted and paused)
pool_ready() {
	for _ in $(seq 900); do
		[[ $(disps) =~ ^disp[0-9]+=Paused\ $ ]] && return 0
		sleep 0.2
	done
	echo "bench-run: the pool did not refill: $(disps)"
	exit 1
}
qvm-prefs default-dvm preload_dispvm 1
pool_ms=()
for r in $(seq "$POOL_ROUNDS"); do
	pool_ready
	sleep 1   # let the refill's last steps (and the old one's removal) settle
	m=$(disps)
	m=${m%%=*}
	t0=$(now_us)
	qvm-run -p --dispvm true </dev/null
	t1=$(now_us)
	pool_ms+=($(((t1 - t0) / 1000)))
	grep -q "$m: taken from the pool" "$T/qmgrd.log" ||
		{ echo "bench-run: the call did not use the preloaded $m"; exit 1; }
	echo "round $r: preloaded dispvm ${pool_ms[-1]} ms ($m)"
done
qvm-prefs default-dvm preload_dispvm 0
for _ in $(seq 300); do [ -z "$(disps)" ] && break; sleep 0.2; done
pool_left=$(virsh -q -c $uri list --all --name | grep -c "^qmgr-$inst-disp" || true)

# --- 1. calls to a running qube ---
qvm-create --label green bench
qvm-start bench
for _ in 1 2 3; do qvm-run -p bench true </dev/null; done
call_ms=()
for _ in $(seq "$CALLS"); do
	t0=$(now_us)
	qvm-run -p bench true </dev/null
	t1=$(now_us)
	call_ms+=($(((t1 - t0) / 1000)))
done
echo "calls: ${call_ms[*]}"

# --- 3. throughput, qvm-run against raw virtio-serial ---
# The raw side: a second qube's private volume gets an rc.local that puts
# a raw sink/source in place of qmgr-agent (init respawns it); the qube's
# live XML is then started directly, as bench-lifecycle does.
cat >"$T/raw-agent" <<'EOF'
#!/bin/sh
# bench-run's raw sink/source on the agent's virtio-serial port:
#   "sink N\n" then N bytes -> reads them, answers "done\n"
#   "source N\n"            -> writes N zero bytes
#   "sinkpipe N\n", "sourcepipe N\n": the same through one pipe, with the
#   commands qvm-run's rounds run at the other end of theirs (cat >
#   /dev/null reading, dd writing): what any agent that gives a command
#   pipes, as qvm-run does, could do at best
#   "hello\n"               -> "hello\n"
port=
while [ -z "$port" ]; do
	for d in /sys/class/virtio-ports/vport*; do
		[ "$(cat "$d/name" 2>/dev/null)" = org.qmgr.agent.0 ] && port=/dev/${d##*/}
	done
	[ -n "$port" ] || sleep 0.1
done
exec 3<>"$port"
while :; do
	# EOF while the host side is not connected: wait for it
	read -r cmd n <&3 || { sleep 0.1; continue; }
	case $cmd in
	sink) dd bs=65536 count=$((n / 65536)) iflag=fullblock <&3 >/dev/null 2>&1
	      echo done >&3 ;;
	source) dd if=/dev/zero bs=65536 count=$((n / 65536)) >&3 2>/dev/null ;;
	sinkpipe) dd bs=65536 count=$((n / 65536)) iflag=fullblock <&3 2>/dev/null |
		  cat >/dev/null
	      echo done >&3 ;;
	sourcepipe) dd if=/dev/zero bs=65536 count=$((n / 65536)) 2>/dev/null |
		    dd bs=65536 iflag=fullblock >&3 2>/dev/null ;;
	hello) echo hello >&3 ;;
	esac
done
EOF
cat >"$T/rc.local" <<'EOF'
#!/bin/sh
mount --bind /rw/config/raw-agent /usr/bin/qmgr-agent
EOF
cat >"$T/raw-client.py" <<'EOF'
import socket, sys, time
path, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
def line():
    b = b""
    while not b.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            sys.exit("raw-client: EOF")
        b += c
    return b
if mode == "hello":
    s.settimeout(float(sys.argv[3]))
    s.sendall(b"hello\n")
    assert line() == b"hello\n"
    sys.exit(0)
n = int(sys.argv[3])
t0 = time.monotonic()
if mode in ("sink", "sinkpipe"):
    s.sendall(b"%s %d\n" % (mode.encode(), n))
    buf = bytes(65536)
    for _ in range(n // 65536):
        s.sendall(buf)
    assert line() == b"done\n"
else:
    s.sendall(b"%s %d\n" % (mode.encode(), n))
    got = 0
    while got < n:
        c = len(s.recv(262144))
        if c == 0:
            sys.exit("raw-client: EOF after %d bytes" % got)
        got += c
t1 = time.monotonic()
print(int((t1 - t0) * 1000))
EOF
qvm-create --label green raw
qvm-start raw
qvm-run -p -u root raw 'mkdir -p /rw/config' </dev/null
qvm-run -p -u root raw 'cat > /rw/config/raw-agent' <"$T/raw-agent"
qvm-run -p -u root raw 'cat > /rw/config/rc.local' <"$T/rc.local"
qvm-run -p -u root raw 'chmod 0755 /rw/config/raw-agent /rw/config/rc.local' </dev/null
rdom=qmgr-$inst-raw
virsh -q -c $uri dumpxml "$rdom" >"$T/live.xml"
qvm-shutdown --wait raw
sock=$(sed -n "s/.*<source mode='bind' path='\([^']*agent.sock\)'.*/\1/p" "$T/live.xml")
sed -e "s|<name>$rdom</name>|<name>$direct</name>|" \
	-e '/<uuid>/d' -e '/<seclabel/,/<\/seclabel>/d' \
	"$T/live.xml" >"$T/direct.xml"
qemu-img create -q -f qcow2 -F qcow2 -b "$vmdir/minimal/root.qcow2" \
	"$vmdir/raw/volatile.qcow2"
rm -f "$sock"
virsh -q -c $uri create "$T/direct.xml" >/dev/null
for i in $(seq 120); do
	[ -S "$sock" ] && python3 "$T/raw-client.py" "$sock" hello 2 2>/dev/null && break
	[ "$i" -lt 120 ] || { echo "bench-run: the raw domain never answered"; exit 1; }
	sleep 1
done

# VM->VM: a second qube `peer`, reached from bench through the policy.
mkdir -p "$QMGR_ROOT/etc/qmgr/policy.d"
printf '%s\n' 'qmgr.VMExec    *  bench  peer  allow' \
	'qmgr.Filecopy  *  bench  peer  allow' \
	>"$QMGR_ROOT/etc/qmgr/policy.d/30-bench.policy"
qvm-create --label green peer
qvm-start peer
qvm-run -p bench "dd if=/dev/zero of=/home/user/big bs=1048576 count=$((SIZE / 1048576)) 2>/dev/null" </dev/null
head -c $SIZE /dev/zero >"$T/big"
export QMGR_FILECOPY_SEND=$B/filecopy/qmgr-filecopy-send
# dd of=/dev/null bs=65536, as qmgr.VMExec's argument
SINK=qmgr.VMExec+dd+of-3d-2fdev-2fnull+bs-3d65536

mibs() { awk -v ms="$1" -v n="$SIZE" 'BEGIN {printf "%.1f", n / 1048576 / (ms / 1000)}'; }
q_in=(); q_out=(); r_in=(); r_out=(); rp_in=(); rp_out=(); p_ms=(); v_call=(); c_in=(); c_vv=()
for r in $(seq "$ROUNDS"); do
	t0=$(now_us)
	head -c $SIZE /dev/zero | qvm-run -p bench 'cat > /dev/null'
	t1=$(now_us)
	q_in+=($(((t1 - t0) / 1000)))
	r_in+=($(python3 "$T/raw-client.py" "$sock" sink $SIZE))
	t0=$(now_us)
	qvm-run -p bench "dd if=/dev/zero bs=65536 count=$((SIZE / 65536)) 2>/dev/null" \
		</dev/null >/dev/null
	t1=$(now_us)
	q_out+=($(((t1 - t0) / 1000)))
	r_out+=($(python3 "$T/raw-client.py" "$sock" source $SIZE))
	rp_in+=($(python3 "$T/raw-client.py" "$sock" sinkpipe $SIZE))
	rp_out+=($(python3 "$T/raw-client.py" "$sock" sourcepipe $SIZE))
	t0=$(now_us)
	head -c $SIZE /dev/zero | cat >/dev/null
	t1=$(now_us)
	p_ms+=($(((t1 - t0) / 1000)))
	t0=$(now_us)
	qvm-run -p bench "dd if=/dev/zero bs=65536 count=$((SIZE / 65536)) 2>/dev/null | qmgr-rpc-client peer $SINK" </dev/null
	t1=$(now_us)
	v_call+=($(((t1 - t0) / 1000)))
	t0=$(now_us)
	qvm-copy-to-vm peer "$T/big"
	t1=$(now_us)
	c_in+=($(((t1 - t0) / 1000)))
	qvm-run -p peer 'rm -rf /home/user/Incoming' </dev/null
	t0=$(now_us)
	qvm-run -p bench 'qvm-copy-to-vm peer /home/user/big' </dev/null
	t1=$(now_us)
	c_vv+=($(((t1 - t0) / 1000)))
	qvm-run -p peer 'rm -rf /home/user/Incoming' </dev/null
	echo "round $r: dom0->VM qvm-run ${q_in[-1]} ms, raw ${r_in[-1]} ms;" \
		"VM->dom0 qvm-run ${q_out[-1]} ms, raw ${r_out[-1]} ms;" \
		"raw+pipe in ${rp_in[-1]} ms, out ${rp_out[-1]} ms; pipe ${p_ms[-1]} ms;" \
		"VM->VM call ${v_call[-1]} ms; copy dom0->VM ${c_in[-1]} ms, VM->VM ${c_vv[-1]} ms"
done

accel=$(grep -o 'using [A-Z]*' "$T/qmgrd.log" | head -n1 || true)
p50=$(pct 50 "${call_ms[@]}")
p99=$(pct 99 "${call_ms[@]}")
dvm=$(median "${dvm_ms[@]}")
plain=$(median "${plain_ms[@]}")
dratio=$(awk -v a="$dvm" -v b="$plain" 'BEGIN {printf "%.2f", a / b}')
dmet=$(awk -v r="$dratio" 'BEGIN {print (r <= 1.15) ? "met" : "missed"}')
pp50=$(pct 50 "${pool_ms[@]}")
pp99=$(pct 99 "${pool_ms[@]}")
pmet=$(awk -v p="$pp50" 'BEGIN {print (p <= 250) ? "met" : "missed"}')
pcold=$(awk -v a="$pp50" -v b="$dvm" 'BEGIN {printf "%.3f", a / b}')
pcall=$(awk -v a="$pp50" -v b="$p50" 'BEGIN {printf "%.2f", a / b}')
qi=$(median "${q_in[@]}"); ri=$(median "${r_in[@]}")
qo=$(median "${q_out[@]}"); ro=$(median "${r_out[@]}")
rpi=$(median "${rp_in[@]}"); rpo=$(median "${rp_out[@]}")
pm=$(median "${p_ms[@]}")
# throughput ratio qvm-run / raw = raw time / qvm-run time
iratio=$(awk -v q="$qi" -v r="$ri" 'BEGIN {printf "%.2f", r / q}')
oratio=$(awk -v q="$qo" -v r="$ro" 'BEGIN {printf "%.2f", r / q}')
# the floor for a command behind a pipe, against raw and against qvm-run
rpiratio=$(awk -v q="$rpi" -v r="$ri" 'BEGIN {printf "%.2f", r / q}')
rporatio=$(awk -v q="$rpo" -v r="$ro" 'BEGIN {printf "%.2f", r / q}')
ipratio=$(awk -v q="$qi" -v r="$rpi" 'BEGIN {printf "%.2f", r / q}')
opratio=$(awk -v q="$qo" -v r="$rpo" 'BEGIN {printf "%.2f", r / q}')
tmet=$(awk -v a="$iratio" -v b="$oratio" 'BEGIN {print (a >= 0.8 && b >= 0.8) ? "met" : "missed"}')
# VM->VM crosses two channels; raw, a pipelined chain of the two would go
# no faster than the slower one, so that is its baseline.
vc=$(median "${v_call[@]}"); ci=$(median "${c_in[@]}"); cv=$(median "${c_vv[@]}")
rslow=$((ri > ro ? ri : ro))
vratio=$(awk -v q="$vc" -v r="$rslow" 'BEGIN {printf "%.2f", r / q}')
ciratio=$(awk -v q="$ci" -v r="$ri" 'BEGIN {printf "%.2f", r / q}')
cvratio=$(awk -v q="$cv" -v r="$rslow" 'BEGIN {printf "%.2f", r / q}')
cmet=$(awk -v a="$ciratio" -v b="$cvratio" 'BEGIN {print (a >= 0.8 && b >= 0.8) ? "met" : "missed"}')
echo "call qvm-run -p bench true: p50 ${p50} ms, p99 ${p99} ms over $CALLS calls (absolute: no baseline)"
echo "cold dispvm: median ${dvm} ms (${dvm_ms[*]})"
echo "start+run+kill: median ${plain} ms (${plain_ms[*]})"
echo "ratio dispvm / plain: ${dratio} (target <= 1.15: ${dmet}); disposables left: ${leftover}"
echo "preloaded dispvm: p50 ${pp50} ms, p99 ${pp99} ms over $POOL_ROUNDS calls (${pool_ms[*]});" \
	"target p50 <= 250 ms: ${pmet}; ÷ cold dispvm ${pcold}, ÷ call to a running qube ${pcall}; disposables left: ${pool_left}"
echo "dom0->VM 256 MiB: qvm-run ${qi} ms ($(mibs "$qi") MiB/s), raw ${ri} ms ($(mibs "$ri") MiB/s), ratio ${iratio}"
echo "VM->dom0 256 MiB: qvm-run ${qo} ms ($(mibs "$qo") MiB/s), raw ${ro} ms ($(mibs "$ro") MiB/s), ratio ${oratio}"
echo "raw+pipe (channel and one pipe, the floor for a command): dom0->VM ${rpi} ms ($(mibs "$rpi") MiB/s)" \
	"= ${rpiratio}x raw, qvm-run = ${ipratio}x it; VM->dom0 ${rpo} ms ($(mibs "$rpo") MiB/s) = ${rporatio}x raw," \
	"qvm-run = ${opratio}x it"
echo "VM->VM 256 MiB call (qmgr-rpc-client): ${vc} ms ($(mibs "$vc") MiB/s), ratio to the slower raw hop ${vratio}"
echo "file copy 256 MiB: dom0->VM (qvm-copy-to-vm) ${ci} ms ($(mibs "$ci") MiB/s), ratio ${ciratio};" \
	"VM->VM (qvm-copy-to-vm in bench) ${cv} ms ($(mibs "$cv") MiB/s), ratio ${cvratio}; target >= 0.8x raw: ${cmet}"
echo "local pipe 256 MiB: ${pm} ms ($(mibs "$pm") MiB/s); throughput target >= 0.8x raw: ${tmet}; ${accel#using }"
echo "RESULT call_p50_ms=$p50 call_p99_ms=$p99 calls=$CALLS dispvm_ms=$dvm plain_ms=$plain" \
	"dispvm_ratio=$dratio dispvm_target_met=$dmet dispvms_left=$leftover" \
	"pool_p50_ms=$pp50 pool_p99_ms=$pp99 pool_rounds=$POOL_ROUNDS" \
	"pool_target_met=$pmet pool_vs_cold=$pcold pool_vs_call=$pcall pool_left=$pool_left" \
	"in_mibs=$(mibs "$qi") in_raw_mibs=$(mibs "$ri") in_ratio=$iratio" \
	"out_mibs=$(mibs "$qo") out_raw_mibs=$(mibs "$ro") out_ratio=$oratio" \
	"in_rawpipe_mibs=$(mibs "$rpi") in_rawpipe_vs_raw=$rpiratio in_vs_rawpipe=$ipratio" \
	"out_rawpipe_mibs=$(mibs "$rpo") out_rawpipe_vs_raw=$rporatio out_vs_rawpipe=$opratio" \
	"vm2vm_call_mibs=$(mibs "$vc") vm2vm_call_ratio=$vratio" \
	"copy_in_mibs=$(mibs "$ci") copy_in_ratio=$ciratio copy_vm2vm_mibs=$(mibs "$cv")" \
	"copy_vm2vm_ratio=$cvratio copy_target_met=$cmet" \
	"pipe_mibs=$(mibs "$pm") throughput_target_met=$tmet rounds=$ROUNDS"
