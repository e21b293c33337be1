#!/usr/bin/env bash
# Integration test of the compartment lifecycle: a qmgrd of its own (--root
# in a temp dir) on the system libvirtd, real guests booted from the minimal
# template, driven with the qvm-* tools.  TAP output.
#
#   test-lifecycle.sh BUILD_DIR TEMPLATE_OUT_DIR
set -u
B=$1
TPL=$2
LOG_KEEP=/tmp/qmgr-lifecycle-failed.log
. "$(dirname "$0")/lib-qmgrd.sh"

# --- first start imports the template, as Qubes ships it
start_qmgrd || exit 1
for _ in $(seq 100); do [ "$(state default-dvm)" = Halted ] && break; sleep 0.2; done
check "first start imports TemplateVM minimal and default-dvm" \
	bash -c '[ "$(qvm-ls --raw-list | sort | tr "\n" " ")" = "default-dvm minimal " ]'
i=$(instance)
[ "$(our_domains)" = "qmgr-$i-default-dvm qmgr-$i-minimal " ] && ok "their libvirt domains are defined" || not_ok "their libvirt domains are defined" "$(our_domains)"
check "global defaults point at them" bash -c \
	'[ "$(qvm-prefs dom0 default_template)" = minimal ] && [ "$(qvm-prefs dom0 default_dispvm)" = default-dvm ]'

# --- create, bad input
check "qvm-create work with defaults" qvm-create work
[[ "$(our_domains)" == *"qmgr-$i-work "* ]] && ok "qvm-create defines work's domain" || not_ok "qvm-create defines work's domain" "$(our_domains)"
x=$(virsh -q -c qemu:///system dumpxml "qmgr-$i-work")
if grep -q "machine='[^']*q35" <<<"$x" && grep -q '<kernel>' <<<"$x" &&
	[ "$(grep -c "bus='virtio'" <<<"$x")" = 2 ] && grep -q org.qmgr.agent.0 <<<"$x" &&
	grep -q "<memballoon model='none'" <<<"$x" && ! grep -q '<graphics' <<<"$x" &&
	grep -q "<interface type='ethernet'" <<<"$x" && grep -q 'qmgr:vm' <<<"$x"; then
	ok "domain XML: q35, direct kernel boot, virtio disks and agent channel, no emulated extras"
else
	not_ok "domain XML: q35, direct kernel boot, virtio disks and agent channel, no emulated extras" "$x"
fi
refuse "duplicate name refused" "already exists" qvm-create work
refuse "bad name refused" "must start with a letter" qvm-create 1work
refuse "reserved name refused" "reserved" qvm-create none
refuse "unknown template refused" "does not exist" qvm-create --template nosuch other
refuse "unknown label refused" "unknown label" qvm-create --label pink other
refuse "memory 0 refused" "memory must be" qvm-create -P memory=0 other
[ "$(state other)" = absent ] && ok "refused creates leave nothing" || not_ok "refused creates leave nothing"
check "prefs set memory" qvm-prefs work memory 300
refuse "prefs refuse bad value" "expected a whole number" qvm-prefs work memory lots
check "prefs value kept after refusal" bash -c '[ "$(qvm-prefs work memory)" = 300 ]'
check "prefs reset to default (template's)" bash -c 'qvm-prefs -D work memory && [ "$(qvm-prefs work memory)" = 256 ]'
check "tags add/list" bash -c 'qvm-tags work add corp && qvm-tags work list | grep -qx corp'

# --- start: the agent reports in
t0=$(date +%s%N)
qvm-start work >"$T/start.out" 2>&1 &
spid=$!
# While libvirt boots it, qmgrd keeps answering: the qube shows Transient.
seen=
for _ in $(seq 50); do
	s=$(state work)
	[ "$s" = Transient ] && { seen=1; break; }
	[ "$s" = Running ] && break
	sleep 0.05
done
[ -n "$seen" ] && ok "qmgrd answers others while a start is in progress" || not_ok "qmgrd answers others while a start is in progress" "state: $s"
wait $spid && ok "qvm-start work boots and the agent reports in" || not_ok "qvm-start work boots and the agent reports in" "$(cat "$T/start.out")"
t1=$(date +%s%N)
echo "# qvm-start work took $(((t1 - t0) / 1000000)) ms"
[ "$(state work)" = Running ] && ok "work is Running" || not_ok "work is Running" "$(state work)"
refuse "starting a running qube is refused" "already running" qvm-start work

# --- commands in the qube (qvm-run, through the agent's streams)
out=$(qvm-run -p work 'echo hello from $(hostname)' 2>&1)
[ "$out" = "hello from work" ] && ok "qvm-run -p: stdout" || not_ok "qvm-run -p: stdout" "$out"
qvm-run -p work 'exit 3'; rc=$?
[ $rc = 3 ] && ok "qvm-run -p: the command's exit code" || not_ok "qvm-run -p: the command's exit code" "rc=$rc"
qvm-run -p work 'kill -9 $$'; rc=$?
[ $rc = 137 ] && ok "qvm-run -p: killed by a signal is 128+N" || not_ok "qvm-run -p: killed by a signal is 128+N" "rc=$rc"
err=$(qvm-run -p work 'echo oops >&2' 2>&1 >/dev/null)
[ "$err" = oops ] && ok "qvm-run -p: stderr" || not_ok "qvm-run -p: stderr" "$err"
[ "$(qvm-run -p work 'id -u')" = 1000 ] && ok "qvm-run runs as user by default" || not_ok "qvm-run runs as user by default"
[ "$(qvm-run -p -u root work 'id -u')" = 0 ] && ok "qvm-run -u root" || not_ok "qvm-run -u root"
head -c 8388608 /dev/urandom >"$T/big"
want=$(sha256sum <"$T/big" | cut -d' ' -f1)
got=$(qvm-run -p work cat <"$T/big" | sha256sum | cut -d' ' -f1)
[ "$want" = "$got" ] && ok "qvm-run -p: 8 MiB through stdin and stdout intact" || not_ok "qvm-run -p: 8 MiB through stdin and stdout intact"
pids=
for k in 1 2 3 4; do qvm-run -p work "sleep 1; echo $k" >"$T/c$k" 2>&1 & pids="$pids $!"; done
wait $pids
all=$(cat "$T"/c1 "$T"/c2 "$T"/c3 "$T"/c4 | tr '\n' ' ')
[ "$all" = "1 2 3 4 " ] && ok "concurrent qvm-run calls" || not_ok "concurrent qvm-run calls" "$all"
check "qvm-run without -p starts the command and returns" qvm-run work 'echo mark >/tmp/mark'
for _ in $(seq 50); do qvm-run -p work 'test -e /tmp/mark' && break; sleep 0.1; done
qvm-run -p work 'test -e /tmp/mark' && ok "the command ran" || not_ok "the command ran"
refuse "qvm-run refuses an unknown qube" "does not exist" qvm-run -p nosuch true
check "write to the private volume (home) and the root" bash -c \
	"qvm-run -p work 'echo keep > ~/file' && qvm-run -p -u root work 'echo gone > /etc/marker'"
gs=$(qvm-prefs work gui_socket)
want_group=$(getent group qmgr >/dev/null && echo qmgr || stat -c %G "$gs" 2>/dev/null)
if [ -S "$gs" ] && [ "$(stat -c '%a %G' "$gs")" = "660 $want_group" ]; then
	ok "the GUI channel's socket exists for group qmgr ($gs)"
else
	not_ok "the GUI channel's socket exists for group qmgr" "$gs: $(stat -c '%F %a %U:%G' "$gs" 2>&1)"
fi
refuse "gui_socket is read-only" "read-only" qvm-prefs work gui_socket /tmp/x
# The shared GUI region: a sealed memfd handed out as an fd, no file in
# /dev/shm anyone could make first or open (docs/gui.md).
gm=$(qvm-prefs work gui_shm)
if [ -S "$gm" ] && [ "$(stat -c '%a %G' "$gm")" = "660 $want_group" ]; then
	ok "the shared GUI region's socket exists for group qmgr ($gm)"
else
	not_ok "the shared GUI region's socket exists for group qmgr" "$gm: $(stat -c '%F %a %U:%G' "$gm" 2>&1)"
fi
shm_files=$(ls /dev/shm | grep -F "qmgr-$i-" || true)
[ -z "$shm_files" ] && ok "no file in /dev/shm for the running qube's region" ||
	not_ok "no file in /dev/shm for the running qube's region" "$shm_files"
region=$(python3 "$(dirname "$0")/recv-region.py" "$gm" 2>&1)
if [[ "$region" == "$((64 << 20)) shrink,grow "*" /memfd:qmgr-$i-work-gui (deleted)" ]]; then
	ok "a peer of the region socket receives a sealed 64 MiB memfd ($region)"
else
	not_ok "a peer of the region socket receives a sealed 64 MiB memfd" "$region"
fi
region_ino=$(cut -d' ' -f3 <<<"$region")
qpid=$(cat "/run/libvirt/qemu/qmgr-$i-work.pid" 2>/dev/null)
if [ -n "$qpid" ] && ls -l "/proc/$qpid/fd" 2>/dev/null | grep -qF "/memfd:qmgr-$i-work-gui (deleted)"; then
	ok "QEMU holds the same region (its ivshmem-doorbell got it from qmgrd)"
else
	not_ok "QEMU holds the same region" "pid $qpid" "$(ls -l "/proc/$qpid/fd" 2>&1 | tail -n 20)"
fi
# Only QEMU's one connection was served: its server socket is gone.
qs=$(dirname "$gm")/gui-shm-qemu.sock
[ ! -e "$qs" ] && ok "the region's QEMU-side socket is gone once QEMU has it" ||
	not_ok "the region's QEMU-side socket is gone once QEMU has it" "$(stat -c '%F %a %U:%G' "$qs")"
# Someone outside group qmgr gets nothing (the GUI socket's rule).
# (the script on stdin: nobody may not read the source tree; the system's
# python3, not root's own)
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 - "$gm" \
	<"$(dirname "$0")/recv-region.py" 2>&1)
if [[ "$out" == *PermissionError* ]]; then
	ok "a user outside group qmgr cannot connect to the region socket"
else
	not_ok "a user outside group qmgr cannot connect to the region socket" "$out"
fi
refuse "gui_shm is read-only" "read-only" qvm-prefs work gui_shm /tmp/x
refuse "template cannot start while its AppVM runs" "runs on this template" qvm-start minimal
refuse "memory cannot change while running" "while it is Running" qvm-prefs work memory 400
refuse "a running qube cannot be removed" "shut it down first" qvm-remove -f work

# --- qmgrd restarts (clean and kill -9) leave the qube running and adopt it
stop_qmgrd -TERM
[ -n "$(running_domains)" ] && ok "clean qmgrd exit leaves work running" || not_ok "clean qmgrd exit leaves work running"
start_qmgrd || exit 1
wait_state work Running && ok "restarted qmgrd adopts work once its agent answers" || not_ok "restarted qmgrd adopts work once its agent answers" "$(state work)"
stop_qmgrd -KILL
start_qmgrd || exit 1
wait_state work Running && ok "qmgrd after kill -9 adopts work" || not_ok "qmgrd after kill -9 adopts work" "$(state work)"
check "commands run in the adopted qube" timeout 60 qvm-run -p work true
# The new qmgrd found the region in QEMU and serves the same one again.
region=$(python3 "$(dirname "$0")/recv-region.py" "$gm" 2>&1)
if [[ "$region" == "$((64 << 20)) shrink,grow $region_ino "* ]]; then
	ok "after qmgrd restarts the region socket hands out the same region"
else
	not_ok "after qmgrd restarts the region socket hands out the same region" \
		"$region (was inode $region_ino)" "$(grep -i region "$T/qmgrd.log" | tail -n 5)"
fi

# --- shutdown through the agent; the volatile root is discarded
if out=$(qvm-shutdown --wait --timeout 60 work 2>&1); then ok "qvm-shutdown --wait work"; else
	not_ok "qvm-shutdown --wait work" "$out" "console:" "$(tail -n 15 "$QMGR_ROOT/var/log/qmgr/console-work.log")" "qmgrd:" "$(tail -n 15 "$T/qmgrd.log")"
fi
[ "$(state work)" = Halted ] && ok "work is Halted" || not_ok "work is Halted" "$(state work)"
[ -n "$gm" ] && [ ! -e "$gm" ] && ok "its shared GUI region's socket is removed" || not_ok "its shared GUI region's socket is removed" "$gm"
[ ! -e "$QMGR_ROOT/var/lib/qmgr/vms/work/volatile.qcow2" ] && ok "volatile root discarded" || not_ok "volatile root discarded"
[ -z "$(running_domains)" ] && ok "no domain running after shutdown" || not_ok "no domain running after shutdown" "$(running_domains)"
refuse "qvm-run --no-autostart on a halted qube is refused" "autostart" qvm-run -p --no-autostart work true
[ "$(qvm-run -p work 'echo up')" = up ] && ok "qvm-run starts a halted qube (autostart)" || not_ok "qvm-run starts a halted qube (autostart)"
[ "$(qvm-run -p work 'cat ~/file')" = keep ] && ok "the private volume persists across restarts" || not_ok "the private volume persists across restarts"
qvm-run -p work 'test ! -e /etc/marker' && ok "the root resets at every start (volatile overlay)" || not_ok "the root resets at every start (volatile overlay)"
check "and it shuts down again" qvm-shutdown --wait work

# --- clone, kill, remove
check "qvm-clone work work2" qvm-clone work work2
check "clone keeps tags" bash -c 'qvm-tags work2 list | grep -qx corp'
check "qvm-start work2" qvm-start work2
check "qvm-kill work2" qvm-kill work2
[ "$(state work2)" = Halted ] && ok "killed qube is Halted" || not_ok "killed qube is Halted"
qvm-start work2 >/dev/null 2>&1 &
spid=$!
for _ in $(seq 100); do [ "$(state work2)" = Transient ] && break; sleep 0.02; done
qvm-kill work2 >/dev/null 2>&1
wait $spid
check "qvm-kill while libvirt is still starting the qube: qmgrd goes on" qvm-ls
# (the kill may also have come before libvirt had the domain running)
[ "$(state work2)" = Running ] && qvm-kill work2 >/dev/null 2>&1
wait_state work2 Halted && ok "and the qube ends Halted" || not_ok "and the qube ends Halted" "$(state work2)"
check "a named DispVM on default-dvm is created" qvm-create --class DispVM --template default-dvm named-disp
check "and boots from the TemplateVM behind default-dvm" qvm-start named-disp
check "and shuts down" qvm-shutdown --wait named-disp
refuse "template in use cannot be removed, users named" "still used by: default-dvm, work" qvm-remove -f minimal

# --- a guest that never reports in: clear error, console log, domain gone
stop_qmgrd -TERM
start_qmgrd --start-timeout 15 || exit 1
check "qube that will not boot created" qvm-create -P kernelopts="root=/dev/nonexistent qmgr.rescue" broken
refuse "a guest that never reports in times out, naming its console log" "console log is" qvm-start broken
[ "$(state broken)" = Halted ] && ok "it is left Halted" || not_ok "it is left Halted" "$(state broken)"
[ -z "$(running_domains)" ] && ok "its domain was stopped" || not_ok "its domain was stopped" "$(running_domains)"

# --- kill -9 during create leaves the previous or the new inventory
qvm-create racy >/dev/null 2>&1 &
cpid=$!
sleep 0.05
stop_qmgrd -KILL
wait $cpid 2>/dev/null
check "inventory still valid after kill -9 during create" xmllint --noout "$QMGR_ROOT/var/lib/qmgr/qmgr.xml"
start_qmgrd || exit 1
s=$(state racy)
if [ "$s" = absent ] || [ "$s" = Halted ]; then ok "racy qube is either absent or complete ($s)"; else not_ok "racy qube state" "$s"; fi
# --- disposables: made for one command, gone when it ends
out=$(qvm-run -p --dispvm 'echo in $(hostname)' 2>&1); rc=$?
if [ $rc = 0 ] && [[ $out =~ ^in\ disp[0-9]+$ ]]; then ok "qvm-run --dispvm runs in a new disposable"; else not_ok "qvm-run --dispvm runs in a new disposable" "rc=$rc" "$out"; fi
qvm-run -p --dispvm=default-dvm 'exit 5'; rc=$?
[ $rc = 5 ] && ok "qvm-run --dispvm=TEMPLATE: the command's exit code" || not_ok "qvm-run --dispvm=TEMPLATE: the command's exit code" "rc=$rc"
gone() { # no disposable left: inventory, domains, volumes
	for _ in $(seq 100); do
		[ -z "$(qvm-ls --raw-list | grep '^disp[0-9]')" ] &&
		! grep -qE -- "-disp[0-9]+( |$)" <<<"$(our_domains)" &&
		[ -z "$(ls "$QMGR_ROOT/var/lib/qmgr/vms" | grep '^disp[0-9]')" ] && return 0
		sleep 0.2
	done
	return 1
}
gone && ok "the disposables leave no qube, domain or volume behind" || not_ok "the disposables leave no qube, domain or volume behind" "$(qvm-ls --raw-list) $(our_domains)"
refuse "a disposable of a qube that is not a disposable template is refused" "not a disposable template" qvm-run -p --dispvm=work true
qvm-run -p --dispvm 'sleep 300' >/dev/null 2>&1 &
rpid=$!
for _ in $(seq 300); do qvm-ls --raw-list --running | grep -q '^disp[0-9]' && break; sleep 0.2; done
d=$(qvm-ls --raw-list | grep '^disp[0-9]' | head -n1)
stop_qmgrd -KILL
kill $rpid 2>/dev/null; wait $rpid 2>/dev/null
start_qmgrd || exit 1
[ -n "$d" ] && gone && ok "a disposable left by a qmgrd crash is destroyed at the next start" || not_ok "a disposable left by a qmgrd crash is destroyed at the next start" "disp=$d $(qvm-ls --raw-list) $(our_domains)"

for v in racy broken named-disp work2 work; do qvm-remove -f "$v" >/dev/null 2>&1; done
left=$(ls "$QMGR_ROOT/var/lib/qmgr/vms" | sort | tr '\n' ' ')
[ "$left" = "default-dvm minimal " ] && ok "removes leave no volumes behind" || not_ok "removes leave no volumes behind" "$left"
[ "$(our_domains)" = "qmgr-$i-default-dvm qmgr-$i-minimal " ] && ok "removes leave no domain behind" || not_ok "removes leave no domain behind" "$(our_domains)"

# --- a missing libvirtd is a clear error
out=$("$QMGRD" --root "$T/other" --libvirt-uri 'qemu+unix:///system?socket=/nonexistent/sock' 2>&1)
[[ $out == *"is libvirtd running"* ]] && ok "missing libvirtd: clear error" || not_ok "missing libvirtd: clear error" "$out"

echo "1..$n"
[ $fails = 0 ]
