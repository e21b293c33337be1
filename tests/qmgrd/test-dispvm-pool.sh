#!/usr/bin/env bash
# Integration test of preloaded disposables (qvm-prefs TEMPLATE
# preload_dispvm N): a qmgrd of its own (--root in a temp dir) on the
# system libvirtd, real guests from the minimal template.  TAP output.
#
#   test-dispvm-pool.sh BUILD_DIR TEMPLATE_OUT_DIR
set -u
B=$1
TPL=$2
LOG_KEEP=/tmp/qmgr-dispvm-pool-failed.log
. "$(dirname "$0")/lib-qmgrd.sh"
VMS=$QMGR_ROOT/var/lib/qmgr/vms

# The disposables with their states, "disp12=Paused disp34=Running ".
disps() { qvm-ls --json | python3 -c "import json,sys; print(''.join(f\"{v['name']}={v['state']} \" for v in sorted(json.load(sys.stdin), key=lambda v: v['name']) if v['class'] == 'DispVM'))"; }
# The one paused member, once the pool holds exactly that (up to 120 s:
# a boot under TCG with a sanitizer build takes 5 to 15 s).
ready_member() {
	local d
	for _ in $(seq 600); do
		d=$(disps)
		if [[ $d =~ ^(disp[0-9]+)=Paused\ $ ]]; then echo "${BASH_REMATCH[1]}"; return 0; fi
		sleep 0.2
	done
	echo "none: $d"
	return 1
}
# No trace of a qube: inventory entry, domain, volumes.
gone() {
	for _ in $(seq 150); do
		[ "$(state "$1")" = absent ] && [[ " $(our_domains)" != *"-$1 "* ]] &&
			[ ! -e "$VMS/$1" ] && return 0
		sleep 0.2
	done
	return 1
}

start_qmgrd || exit 1
for _ in $(seq 100); do [ "$(state default-dvm)" = Halted ] && break; sleep 0.2; done
i=$(instance)

# --- the property
check "preload_dispvm defaults to 0" bash -c '[ "$(qvm-prefs default-dvm preload_dispvm)" = 0 ]'
refuse "preload_dispvm is refused on a qube that is not a disposable template" \
	"qvm-prefs minimal template_for_dispvms True first" qvm-prefs minimal preload_dispvm 1
refuse "preload_dispvm above 16 is refused" "between 0 and 16" qvm-prefs default-dvm preload_dispvm 17
check "preload_dispvm 1 on default-dvm" qvm-prefs default-dvm preload_dispvm 1

# --- a member boots, reports in and is paused
if m1=$(ready_member); then ok "the pool holds one paused disposable ($m1)"; else not_ok "the pool holds one paused disposable" "$m1"; fi
[ "$(virsh -q -c qemu:///system domstate "qmgr-$i-$m1" 2>&1)" = paused ] && ok "its domain is paused in libvirt" || not_ok "its domain is paused in libvirt" "$(virsh -q -c qemu:///system domstate "qmgr-$i-$m1" 2>&1)"
check "it is marked is_preload" bash -c "[ \"\$(qvm-prefs $m1 is_preload)\" = True ] && [ \"\$(qvm-prefs $m1 auto_cleanup)\" = True ]"
refuse "a pool member cannot be started by name" "preloaded disposable waiting in the pool of 'default-dvm'" qvm-start "$m1"
refuse "template_for_dispvms stays while a pool is wanted" "preload_dispvm 0 first" qvm-prefs default-dvm template_for_dispvms False

# --- qvm-run --dispvm takes it: the command runs in the preloaded qube
t0=$(date +%s%N)
out=$(qvm-run --dispvm -p 'echo $(hostname)' </dev/null 2>&1); rc=$?
t1=$(date +%s%N)
echo "# qvm-run --dispvm with a preloaded member took $(((t1 - t0) / 1000000)) ms"
[ $rc = 0 ] && [ "$out" = "$m1" ] && ok "qvm-run --dispvm runs in the preloaded disposable" || not_ok "qvm-run --dispvm runs in the preloaded disposable" "rc=$rc out=$out member=$m1"
gone "$m1" && ok "the used one is destroyed: no qube, domain or volume left" || not_ok "the used one is destroyed: no qube, domain or volume left" "$(disps) $(our_domains) $(ls "$VMS")"
if m2=$(ready_member) && [ "$m2" != "$m1" ]; then ok "the pool refills with another disposable ($m2)"; else not_ok "the pool refills with another disposable" "$m2"; fi

# --- the agent channel survives the pause: streams work both ways
sleep 3
head -c 1048576 /dev/urandom >"$T/in"
want=$(sha256sum <"$T/in" | cut -d' ' -f1)
got=$(qvm-run --dispvm=default-dvm -p 'cat; echo $(hostname) >&2; date +%s >&2' <"$T/in" 2>"$T/err" | sha256sum | cut -d' ' -f1)
host_now=$(date +%s)
guest_now=$(sed -n 2p "$T/err")
skew=$((host_now - ${guest_now:-0}))
[ "${skew#-}" -le 3 ] && ok "a taken member's clock is set on resume (skew ${skew} s)" || not_ok "a taken member's clock is set on resume" "host $host_now guest $guest_now"
sed -i 2d "$T/err"
[ "$want" = "$got" ] && [ "$(cat "$T/err")" = "$m2" ] && ok "1 MiB through stdin and stdout of a resumed member ($m2) intact" || not_ok "1 MiB through stdin and stdout of a resumed member intact" "member $m2, ran in $(cat "$T/err")"
qvm-run --dispvm -p 'exit 7' </dev/null; rc=$?
[ $rc = 7 ] && ok "a command's exit code from a disposable (pool empty or refilled)" || not_ok "a command's exit code from a disposable" "rc=$rc"
gone "$m2" && ok "every used disposable is destroyed" || not_ok "every used disposable is destroyed" "$(disps)"

# --- a changed template setting replaces a waiting member
m3=$(ready_member) || not_ok "the pool refills" "$m3"
check "memory of default-dvm changed" qvm-prefs default-dvm memory 300
if gone "$m3" && m4=$(ready_member) && [ "$m4" != "$m3" ]; then ok "a stale member is replaced ($m3 -> $m4)"; else not_ok "a stale member is replaced" "$m3 -> $m4"; fi
check "memory back to default" qvm-prefs -D default-dvm memory

# --- starting the disposable template lets the pool go first (their
# volumes are overlays of its private volume, which QEMU locks)
m5=$(ready_member)
if out=$(qvm-start default-dvm 2>&1); then ok "default-dvm starts while its pool holds $m5"; else not_ok "default-dvm starts while its pool holds a member" "$out"; fi
gone "$m5" && ok "the member was destroyed first" || not_ok "the member was destroyed first" "$(disps)"
sleep 2
[ -z "$(disps)" ] && ok "no member is made while default-dvm runs" || not_ok "no member is made while default-dvm runs" "$(disps)"
check "default-dvm shuts down" qvm-shutdown --wait default-dvm
if m6=$(ready_member); then ok "the pool refills once it is halted ($m6)"; else not_ok "the pool refills once it is halted" "$m6"; fi

# --- a qmgrd killed with a member in the pool: the next one destroys it
# (it is a disposable) and fills the pool anew
stop_qmgrd -KILL
start_qmgrd || exit 1
gone "$m6" && ok "after kill -9 of qmgrd, the old member is destroyed" || not_ok "after kill -9 of qmgrd, the old member is destroyed" "$(disps) $(our_domains)"
if m7=$(ready_member) && [ "$m7" != "$m6" ]; then ok "and the pool is filled anew ($m7)"; else not_ok "and the pool is filled anew" "$m7"; fi
[ "$(qvm-run --dispvm -p hostname </dev/null 2>&1)" = "$m7" ] && ok "the new member serves qvm-run --dispvm" || not_ok "the new member serves qvm-run --dispvm"

# --- libvirt's suspend and resume events, from outside qmgrd
wait_state() { # NAME STATE: up to 30 s
	for _ in $(seq 150); do [ "$(state "$1")" = "$2" ] && return 0; sleep 0.2; done
	return 1
}
m8=$(ready_member)
qvm-run --dispvm -p 'sleep 6; echo done' </dev/null >"$T/bg" 2>&1 &
bg=$!
if wait_state "$m8" Running && virsh -q -c qemu:///system suspend "qmgr-$i-$m8" >/dev/null &&
	wait_state "$m8" Paused; then ok "virsh suspend of a running qube shows it Paused"; else not_ok "virsh suspend of a running qube shows it Paused" "$(state "$m8")"; fi
if virsh -q -c qemu:///system resume "qmgr-$i-$m8" >/dev/null && wait_state "$m8" Running; then ok "virsh resume makes it Running again"; else not_ok "virsh resume makes it Running again" "$(state "$m8")"; fi
wait $bg
[ "$(cat "$T/bg")" = done ] && ok "its command went on across the pause" || not_ok "its command went on across the pause" "$(cat "$T/bg")"
m9=$(ready_member)
virsh -q -c qemu:///system resume "qmgr-$i-$m9" >/dev/null
gone "$m9" && grep -q "letting '$m9' go: it is no longer paused" "$T/qmgrd.log" &&
	ok "a member resumed behind qmgrd's back is never handed out: destroyed" || not_ok "a member resumed behind qmgrd's back is never handed out: destroyed" "$(disps)"
m10=$(ready_member)
check "qvm-shutdown of a paused member resumes it and shuts it down" qvm-shutdown --wait "$m10"
gone "$m10" && ok "and it is destroyed" || not_ok "and it is destroyed" "$(disps)"

# --- preload_dispvm 0 empties the pool
m8=$(ready_member)
check "preload_dispvm 0" qvm-prefs default-dvm preload_dispvm 0
gone "$m8" && ok "the pool is emptied" || not_ok "the pool is emptied" "$(disps)"
sleep 2
[ -z "$(disps)" ] && [ "$(ls "$VMS" | sort | tr '\n' ' ')" = "default-dvm minimal " ] &&
	[ "$(our_domains)" = "qmgr-$i-default-dvm qmgr-$i-minimal " ] &&
	ok "no disposable, volume or domain is left" || not_ok "no disposable, volume or domain is left" "$(disps) $(ls "$VMS") $(our_domains)"
out=$(qvm-run --dispvm -p 'echo cold' </dev/null 2>&1)
[ "$out" = cold ] && ok "without a pool, disposables are made on demand" || not_ok "without a pool, disposables are made on demand" "$out"

echo "1..$n"
[ $fails = 0 ]
