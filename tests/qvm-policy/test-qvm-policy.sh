#!/usr/bin/env bash
# Drives the real qvm-policy binary: check, eval (single and batch), explain
# and edit, against policy directories made here.  TAP output.
set -u
QP=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
fails=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
# expect NAME EXPECTED-OUTPUT COMMAND...
expect() {
	local name=$1 want=$2; shift 2
	local got
	got=$("$@" 2>&1)
	if [ "$got" = "$want" ]; then ok "$name"; else not_ok "$name" "want: $want" "got:  $got"; fi
}
# expect_rc NAME RC COMMAND...
expect_rc() {
	local name=$1 want=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" = "$want" ]; then ok "$name"; else not_ok "$name" "exit $rc, want $want" "$(cat "$T/out" "$T/err")"; fi
}

mkdir -p "$T/etc" "$T/run"
cat >"$T/vms" <<'VMS'
[dom0]
class=AdminVM
[work]
tags=work
default_dispvm=default-dvm
state=running
uuid=c9024a97-9b15-46cc-8341-38d75d5d421b
[personal]
default_dispvm=default-dvm
[vault]
[default-dvm]
template_for_dispvms=true
default_dispvm=default-dvm
VMS
cat >"$T/etc/30-user.policy" <<'POL'
qmgr.Filecopy  *      @tag:work  @default  ask default_target=personal
qmgr.Filecopy  *      @anyvm     @anyvm    ask
qmgr.OpenURL   *      @anyvm     @dispvm   allow
qmgr.VMShell   +root  work       personal  allow user=root
POL
cp "$SRC/policy/policy.d/90-default.policy" "$T/etc/"
D=(--policy-dir "$T/etc" --policy-dir "$T/run")

# --- check
expect_rc "shipped policy is valid" 0 "$QP" check --policy-dir "$SRC/policy/policy.d"
expect_rc "check valid dirs" 0 "$QP" check "${D[@]}"
expect_rc "check missing --policy-dir is a usage error" 1 "$QP" check --policy-dir "$T/nope"
printf 'qmgr.X * @anyvmm work allow\nqmgr.Y * work work alow\n' >"$T/run/20-bad.policy"
expect "check reports every error as FILE:LINE" \
"$T/run/20-bad.policy:1: source: unknown token '@anyvmm' (did you mean @anyvm?)
$T/run/20-bad.policy:2: invalid action 'alow' (did you mean allow?)" "$QP" check "${D[@]}"
expect_rc "check invalid exits 2" 2 "$QP" check "${D[@]}"
expect_rc "eval on an invalid policy exits 2 without answering" 2 \
	"$QP" eval "${D[@]}" --vms "$T/vms" qmgr.OpenURL work @dispvm
if [ ! -s "$T/out" ]; then ok "invalid policy: nothing on stdout"; else not_ok "invalid policy: nothing on stdout" "$(cat "$T/out")"; fi
rm "$T/run/20-bad.policy"

# /run shadows a same-named /etc file
printf 'qmgr.Filecopy * @anyvm @anyvm deny\n' >"$T/run/30-user.policy"
expect "run dir shadows etc file" "deny" "$QP" eval "${D[@]}" --vms "$T/vms" qmgr.Filecopy work personal
rm "$T/run/30-user.policy"

# --- eval
E=("$QP" eval "${D[@]}" --vms "$T/vms")
expect "eval ask with default" "ask targets=@dispvm:default-dvm,default-dvm,personal,vault default_target=personal" "${E[@]}" qmgr.Filecopy work @default
expect "eval @dispvm resolves via default_dispvm" "allow target=@dispvm:default-dvm" "${E[@]}" qmgr.OpenURL personal @dispvm
expect "eval user= is printed" "allow target=personal user=root" "${E[@]}" qmgr.VMShell+root work personal
expect "eval other argument falls to default deny" "deny" "${E[@]}" qmgr.VMShell+x work personal
expect "eval uuid source" "allow target=personal user=root" "${E[@]}" qmgr.VMShell+root uuid:c9024a97-9b15-46cc-8341-38d75d5d421b personal
expect "eval invalid intended target denies" "deny" "${E[@]}" qmgr.OpenURL work @anyvm
expect "eval unknown source denies" "deny" "${E[@]}" qmgr.OpenURL nosuchvm @dispvm
printf 'qmgr.Filecopy work @default\nonly two\n\nqmgr.OpenURL personal @dispvm\n' >"$T/q"
expect "eval --batch answers every line" \
"ask targets=@dispvm:default-dvm,default-dvm,personal,vault default_target=personal
deny
deny
allow target=@dispvm:default-dvm" "${E[@]}" --batch "$T/q"
expect "eval --batch from stdin" "allow target=@dispvm:default-dvm" \
	bash -c '"$@" <<<"qmgr.OpenURL personal @dispvm"' _ "${E[@]}" --batch -
expect_rc "eval without --vms is a usage error" 1 "$QP" eval "${D[@]}" qmgr.OpenURL work @dispvm
printf '[work]\nclas=AppVM\n' >"$T/badvms"
expect "bad --vms file names the key" \
"qvm-policy: --vms: $T/badvms: [work]: unknown key 'clas' (did you mean class?)" \
	"$QP" eval "${D[@]}" --vms "$T/badvms" qmgr.OpenURL work @dispvm

# --- explain
expect "explain names the deciding rule" \
"$T/etc/30-user.policy:3
  rule: qmgr.OpenURL * @anyvm @dispvm allow
  result: allow target=@dispvm:default-dvm
  why: $T/etc/30-user.policy:3 allows it; the call goes to @dispvm:default-dvm" \
	"$QP" explain "${D[@]}" --vms "$T/vms" qmgr.OpenURL work @dispvm
out=$("$QP" explain "${D[@]}" --vms "$T/vms" qmgr.Nothing work personal)
first=$(head -n1 <<<"$out")
case "$first" in
*90-default.policy:*) ok "explain falls through to the shipped default deny" ;;
*) not_ok "explain falls through to the shipped default deny" "$out" ;;
esac

# --- edit: valid change is installed atomically with the file's mode
chmod 0640 "$T/etc/30-user.policy"
cat >"$T/ed-append" <<'ED'
#!/bin/sh
echo 'qmgr.OpenInVM * @anyvm @dispvm allow' >> "$1"
ED
chmod +x "$T/ed-append"
EDITOR="$T/ed-append" "$QP" edit "${D[@]}" 30-user.policy >"$T/out" 2>&1 </dev/null
rc=$?
if [ $rc = 0 ] && grep -q OpenInVM "$T/etc/30-user.policy"; then ok "edit installs a valid change"; else not_ok "edit installs a valid change" "rc=$rc" "$(cat "$T/out")"; fi
mode=$(stat -c %a "$T/etc/30-user.policy")
[ "$mode" = 640 ] && ok "edit keeps the file mode" || not_ok "edit keeps the file mode" "mode $mode"
left=$(find "$T/etc" -name '.*' | wc -l)
[ "$left" = 0 ] && ok "edit leaves no temporary file" || not_ok "edit leaves no temporary file" "$(ls -a "$T/etc")"

# invalid change: refused, file unchanged, exit 2 (stdin is not a terminal)
cp "$T/etc/30-user.policy" "$T/before"
cat >"$T/ed-bad" <<'ED'
#!/bin/sh
echo 'qmgr.Bad * @anyvm @nothing allow' >> "$1"
ED
chmod +x "$T/ed-bad"
VISUAL="$T/ed-bad" "$QP" edit "${D[@]}" 30-user.policy >"$T/out" 2>&1 </dev/null
rc=$?
if [ $rc = 2 ] && cmp -s "$T/before" "$T/etc/30-user.policy"; then ok "edit refuses an invalid policy"; else not_ok "edit refuses an invalid policy" "rc=$rc" "$(cat "$T/out")"; fi
grep -q "30-user.policy:6: target: unknown token '@nothing'" "$T/out" && ok "edit reports the error with FILE:LINE" || not_ok "edit reports the error with FILE:LINE" "$(cat "$T/out")"

# a new file that would break the policy (an include of a missing file)
cat >"$T/ed-new" <<'ED'
#!/bin/sh
echo '!include include/missing' > "$1"
ED
chmod +x "$T/ed-new"
EDITOR="$T/ed-new" "$QP" edit "${D[@]}" 10-new.policy >"$T/out" 2>&1 </dev/null
rc=$?
if [ $rc = 2 ] && [ ! -e "$T/etc/10-new.policy" ]; then ok "edit validates a new file before creating it"; else not_ok "edit validates a new file before creating it" "rc=$rc" "$(cat "$T/out")"; fi

# the file changed on disk while being edited: not overwritten
cat >"$T/ed-race" <<ED
#!/bin/sh
echo '# edited' >> "\$1"
echo '# someone else' >> "$T/etc/30-user.policy"
ED
chmod +x "$T/ed-race"
EDITOR="$T/ed-race" "$QP" edit "${D[@]}" 30-user.policy >"$T/out" 2>&1 </dev/null
rc=$?
if [ $rc = 1 ] && grep -q "changed while you were editing" "$T/out" && ! grep -q '# edited' "$T/etc/30-user.policy"; then
	ok "edit does not overwrite concurrent changes"
else
	not_ok "edit does not overwrite concurrent changes" "rc=$rc" "$(cat "$T/out")"
fi

echo "1..$n"
[ $fails = 0 ]
