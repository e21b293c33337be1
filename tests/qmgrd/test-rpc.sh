#!/usr/bin/env bash
# Integration test of calls between qubes (issue #4): real guests, a qmgrd
# of its own, the policy in its --root.  Calls are made inside `work` with
# qmgr-rpc-client, through qvm-run.  TAP output.
#
#   test-rpc.sh BUILD_DIR TEMPLATE_OUT_DIR
set -u
B=$1
TPL=$2
LOG_KEEP=/tmp/qmgr-rpc-failed.log
. "$(dirname "$0")/lib-qmgrd.sh"

# qmgr.VMExec's argument: arguments joined with '+', other bytes as -XX.
vmexec() {
	python3 -c 'import sys
print("qmgr.VMExec+" + "+".join("".join(c if c.isalnum() and c.isascii() or c in "_." else "-%02x" % ord(c) for c in a) for a in sys.argv[1:]))' "$@"
}
in_work() { qvm-run -p work "$@"; }

POL=$QMGR_ROOT/etc/qmgr/policy.d
mkdir -p "$POL"
cat >"$POL/30-test.policy" <<'EOF'
qmgr.VMExec     *  work      personal  allow
qmgr.VMExec     *  work      @dispvm   allow
qmgr.VMShell    *  work      personal  allow autostart=no
test.Echo       *  work      personal  allow
test.Echo       *  work      @default  allow target=personal
test.Ask        *  work      @anyvm    ask default_target=personal
admin.vm.List   *  work      @adminvm  allow target=dom0
*               *  @anyvm    @anyvm    deny
EOF

start_qmgrd || exit 1
for _ in $(seq 100); do [ "$(state default-dvm)" = Halted ] && break; sleep 0.2; done
check "qvm-create work and personal" bash -c 'qvm-create --label blue work && qvm-create --label green personal'
check "qvm-start work" qvm-start work
same "personal is halted" Halted "$(state personal)"

# --- allowed calls, autostart, stdio and status
out=$(in_work "qmgr-rpc-client personal $(vmexec echo hello)" 2>&1)
same "call work -> personal: the service's stdout comes back" hello "$out"
same "the target was started for it (autostart)" Running "$(state personal)"
in_work "qmgr-rpc-client personal $(vmexec sh -c 'exit 7')"; rc=$?
same "the service's exit status is the caller's" 7 "$rc"
out=$(in_work "printf 'to the service' | qmgr-rpc-client personal $(vmexec cat)" 2>&1)
same "the caller's stdin reaches the service" "to the service" "$out"
out=$(in_work "head -c 4194304 /dev/urandom | tee /tmp/sent | qmgr-rpc-client personal $(vmexec cat) | md5sum; md5sum </tmp/sent" 2>&1)
same "4 MiB through a call and back, intact" 1 "$(sort -u <<<"$out" | wc -l)"
out=$(in_work "qmgr-rpc-client personal $(vmexec sh -c 'echo out; echo err >&2')" 2>/dev/null)
same "the service's stderr stays in the target" out "$out"
out=$(in_work 'for k in 1 2 3 4 5 6; do qmgr-rpc-client personal '"$(vmexec sh -c 'sleep 1; echo $QREXEC_REMOTE_DOMAIN')"' >/tmp/c$k & done; wait; cat /tmp/c1 /tmp/c2 /tmp/c3 /tmp/c4 /tmp/c5 /tmp/c6 | tr "\n" " "' 2>&1)
same "six concurrent calls, each told the caller's name" "work work work work work work " "$out"
out=$(in_work "qmgr-rpc-client personal $(vmexec sh -c 'echo $QREXEC_SERVICE_FULL_NAME')" 2>&1)
same "QREXEC_SERVICE_FULL_NAME" "$(vmexec sh -c 'echo $QREXEC_SERVICE_FULL_NAME')" "$out"

# --- a slow reader stalls only its own call
qvm-run work "qmgr-rpc-client personal $(vmexec cat /dev/zero) | sleep 30" &
sleep 3
t0=$(date +%s%N)
out=$(timeout 30 qvm-run -p work "qmgr-rpc-client personal $(vmexec echo through)" 2>&1)
t1=$(date +%s%N)
same "a call beside one whose reader stalls goes through" through "$out"
echo "# it took $(((t1 - t0) / 1000000)) ms"
out=$(timeout 30 qvm-run -p personal 'echo dom0 too' 2>&1)
same "and dom0's commands to the target too" "dom0 too" "$out"

# --- services from files, with Qubes' environment; qvm-run --service
check "install test.Echo in personal" qvm-run -p -u root personal \
	'mkdir -p /etc/qmgr/rpc && printf "#!/bin/sh\necho \"from=\$QREXEC_REMOTE_DOMAIN arg=\$QREXEC_SERVICE_ARGUMENT argv1=\$1 target=\$QREXEC_REQUESTED_TARGET\"\n" >/etc/qmgr/rpc/test.Echo && chmod +x /etc/qmgr/rpc/test.Echo'
out=$(in_work "qmgr-rpc-client personal test.Echo+xyz" 2>&1)
same "a service file, argument as \$1 and in the environment" "from=work arg=xyz argv1=xyz target=personal" "$out"
out=$(in_work "qmgr-rpc-client @default test.Echo+d" 2>&1)
same "@default resolved by the policy's target=" "from=work arg=d argv1=d target=@default" "$out"
in_work "qmgr-rpc-client personal qmgr.VMExec+-zz" >/dev/null 2>&1; rc=$?
same "a service that cannot start ends the call with 127" 127 "$rc"
out=$(in_work "qmgr-rpc-client personal $(vmexec echo still there)" 2>&1)
same "and leaves the target's channel working" "still there" "$out"
out=$(qvm-run -p --service personal test.Echo+abc 2>&1)
same "qvm-run --service from dom0" "from=dom0 arg=abc argv1=abc target=personal" "$out"
refuse "qvm-run --service refuses a command line" "not a command line" qvm-run -p --service personal 'test.Echo abc'

# --- refusals: the caller learns it was refused, not which rule
refuse "an unknown service is refused" "Request refused" in_work "qmgr-rpc-client personal test.Nope"
in_work "qmgr-rpc-client personal test.Nope" >/dev/null 2>&1; rc=$?
same "a refused call exits 126" 126 "$rc"
refuse "calls the policy does not name are refused (personal -> work)" "Request refused" \
	qvm-run -p personal "qmgr-rpc-client work $(vmexec echo no)"
refuse "the source is the channel's qube, not a name it claims" "Request refused" \
	qvm-run -p personal "QREXEC_REMOTE_DOMAIN=work qmgr-rpc-client personal test.Echo"
refuse "a malformed request is refused by the agent" "malformed" \
	in_work "qmgr-rpc-client 'bad target!' test.Echo"
check "shut personal down" qvm-shutdown --wait personal
refuse "autostart=no leaves a halted target halted" "Request refused" \
	in_work "echo true | qmgr-rpc-client personal qmgr.VMShell"
same "personal stayed halted" Halted "$(state personal)"

# --- ask: the prompt agent decides
refuse "ask without a prompt agent is refused, saying so" "prompt agent" \
	in_work "qmgr-rpc-client personal test.Ask"
check "install test.Ask in personal" qvm-run -p -u root personal \
	'mkdir -p /etc/qmgr/rpc && printf "#!/bin/sh\necho asked-ok\n" >/etc/qmgr/rpc/test.Ask && chmod +x /etc/qmgr/rpc/test.Ask'
echo personal | timeout 60 qvm-prompt --once >"$T/prompt.out" 2>&1 &
ppid=$!
sleep 1
out=$(in_work "qmgr-rpc-client @default test.Ask" 2>&1)
wait $ppid
same "ask answered with a target by the prompt agent" asked-ok "$out"
grep -q "test.Ask" "$T/prompt.out" && ok "the prompt showed the service" || not_ok "the prompt showed the service" "$(cat "$T/prompt.out")"
echo n | timeout 60 qvm-prompt --once >/dev/null 2>&1 &
ppid=$!
sleep 1
refuse "ask refused by the user" "Request refused" in_work "qmgr-rpc-client @default test.Ask"
wait $ppid

# --- disposables as targets
out=$(in_work "qmgr-rpc-client @dispvm $(vmexec hostname)" 2>&1)
[[ $out == disp* ]] && ok "a call to @dispvm runs in a new disposable ($out)" || not_ok "a call to @dispvm runs in a new disposable" "$out"
for _ in $(seq 100); do qvm-ls --raw-list | grep -q '^disp' || break; sleep 0.2; done
left=$(qvm-ls --raw-list | grep '^disp'; our_domains | tr ' ' '\n' | grep -- '-disp'; ls "$QMGR_ROOT/var/lib/qmgr/vms" | grep '^disp')
same "the disposable is gone when the call ends (inventory, domain, volumes)" "" "$left"

# --- admin.* calls, where the policy allows them
out=$(in_work "qmgr-rpc-client @adminvm admin.vm.List | tr '\0' '|'" 2>&1)
[[ $out == "0|"*"work class=AppVM state=Running"* ]] && ok "admin.vm.List from work (allowed)" || not_ok "admin.vm.List from work (allowed)" "$out"
refuse "admin.vm.List from personal (not allowed)" "Request refused" \
	qvm-run -p personal "qmgr-rpc-client @adminvm admin.vm.List"

# --- file copy: dom0 -> qube, qube -> qube, hostile streams
export QMGR_FILECOPY_SEND=$B/filecopy/qmgr-filecopy-send
mkdir -p "$T/tree/sub/deeper"
head -c 3000000 /dev/urandom >"$T/tree/big"
: >"$T/tree/empty"
echo hello >"$T/tree/sub/deeper/note"
ln -s sub/deeper/note "$T/tree/link"
check "qvm-copy-to-vm personal TREE (dom0 -> qube)" qvm-copy-to-vm personal "$T/tree"
want=$(cd "$T/tree" && find . | sort && md5sum big empty sub/deeper/note && readlink link)
got=$(qvm-run -p personal 'cd ~/Incoming/dom0/tree && find . | sort && md5sum big empty sub/deeper/note && readlink link' 2>&1)
same "the tree arrived in ~/Incoming/dom0, byte for byte, symlink kept" "$want" "$got"
refuse "copying it again does not overwrite" "exists" qvm-copy-to-vm personal "$T/tree"
cat >>"$POL/30-test.policy.new" <<'EOF2'
qmgr.Filecopy   *  work      personal  allow
qmgr.Filecopy   *  work      @default  ask default_target=personal
EOF2
cat "$POL/30-test.policy" >>"$POL/30-test.policy.new" && mv "$POL/30-test.policy.new" "$POL/30-test.policy"
check "make a file in work" in_work 'mkdir -p ~/out && head -c 1000000 /dev/urandom >~/out/data && md5sum <~/out/data >~/out/sum'
check "qvm-copy-to-vm personal inside work (qube -> qube, policy allows)" in_work 'qvm-copy-to-vm personal ~/out/data'
same "it arrived in ~/Incoming/work" "$(in_work 'cat ~/out/sum')" "$(qvm-run -p personal 'md5sum <~/Incoming/work/data')"
echo personal | timeout 60 qvm-prompt --once >/dev/null 2>&1 &
ppid=$!
sleep 1
check "qvm-move inside work: the destination asked for" in_work 'cd ~/out && cp data moved && qvm-move moved'
wait $ppid
check "qvm-move removed the source once it arrived" in_work 'test ! -e ~/out/moved'
check "and personal has it" qvm-run -p personal 'cmp ~/Incoming/work/data ~/Incoming/work/moved'
refuse "qvm-copy to a qube the policy does not allow" "Request refused" qvm-run -p personal 'echo x >/tmp/x && qvm-copy-to-vm work /tmp/x'
python3 - "$T/hostile" <<'EOF2'
import struct, sys
name = b"../escaped"
body = b"pwned\n"
s = struct.pack("<II", 0x43464d51, 1)
s += struct.pack("<IIQqII", 0o100644, len(name), len(body), 0, 0, 0) + name + body
s += struct.pack("<IIQqII", 0, 0, 0, 0, 0, 0)
open(sys.argv[1], "wb").write(s)
EOF2
qvm-run -p --service personal qmgr.Filecopy <"$T/hostile" >/dev/null 2>&1
check "a hostile stream ('../escaped') writes nothing outside Incoming" \
	qvm-run -p personal 'test ! -e ~/Incoming/escaped && test ! -e ~/escaped && test ! -e ~/Incoming/dom0/../escaped'

# --- qvm-open-in-dvm: a copy opened in a disposable, changes taken back
cat >>"$POL/30-test.policy.new" <<'EOF2'
qmgr.OpenInVM   *  work      @dispvm   allow
EOF2
cat "$POL/30-test.policy" >>"$POL/30-test.policy.new" && mv "$POL/30-test.policy.new" "$POL/30-test.policy"
check "default-dvm gets an open handler that edits the file" qvm-run -p default-dvm \
	'mkdir -p ~/.config/qmgr && printf "#!/bin/sh\necho \"edited in \$(hostname)\" >>\"\$1\"\n" >~/.config/qmgr/open-handler && chmod +x ~/.config/qmgr/open-handler'
check "shut default-dvm down" qvm-shutdown --wait default-dvm
out=$(in_work 'echo original >~/doc.txt && qvm-open-in-dvm ~/doc.txt && cat ~/doc.txt' 2>&1)
[[ $out == *original*"edited in disp"* ]] && ok "qvm-open-in-dvm: opened in a disposable, the change came back" ||
	not_ok "qvm-open-in-dvm: opened in a disposable, the change came back" "$out"

# --- the audit log: every decision, hash-chained
LOG=$QMGR_ROOT/var/log/qmgr/audit.log
check "qvm-audit verify: the chain is intact" qvm-audit verify --log "$LOG"
out=$(qvm-audit show --log "$LOG")
grep -q "test.Nope" <<<"$out" && grep -q "deny" <<<"$out" && grep -q "ask" <<<"$out" &&
	grep -q "30-test.policy:" <<<"$out" && ok "qvm-audit show lists allow, deny and ask with their rules" ||
	not_ok "qvm-audit show lists allow, deny and ask with their rules" "$out"
cp "$LOG" "$T/tampered.log"
sed -i '3s/test\.Echo/test.Ech0/; 3s/qmgr\.VMExec/qmgr.VMExeC/' "$T/tampered.log"
refuse "an edited record is detected" "hash mismatch" qvm-audit verify --log "$T/tampered.log"
sed '2d' "$LOG" >"$T/removed.log"
refuse "a removed record is detected" "prev mismatch" qvm-audit verify --log "$T/removed.log"

echo "1..$n"
[ "$fails" = 0 ]
