#!/usr/bin/env bash
# Drives the real qvm-firewall on a copy of the shipped policy (--policy-dir,
# and QMGR_ROOT): rules written as qmgr.Network lines and read back, refusals
# with their messages and the file left byte for byte as it was, hand-edited
# blocks, and the written policy loaded and queried with the policy library
# (fw-policy-query).  No qmgrd needed.  TAP output.
set -u
FW=$1
QUERY=$2
SHIPPED=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# an empty root: no qmgrd listens under it
export QMGR_ROOT=$T/root
P=$T/p
FILE=$P/30-qvm-firewall.policy
n=0
fails=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do printf "%s\n" "$l" | sed "s/^/# /"; done; }
fresh() { rm -rf "$P"; mkdir -p "$P"; cp "$SHIPPED"/*.policy "$P"/; }
fw() { "$FW" --policy-dir "$P" "$@" >"$T/out" 2>"$T/err" </dev/null; rc=$?; }
# expect NAME RC ARGS...: exit status RC
expect() {
	local name=$1 want=$2; shift 2
	fw "$@"
	if [ "$rc" = "$want" ]; then ok "$name"; else not_ok "$name" "exit $rc, want $want" "$(cat "$T/out" "$T/err")"; fi
}
# refused NAME RC MESSAGE ARGS...: exit RC, MESSAGE on stderr, file unchanged
refused() {
	local name=$1 want=$2 msg=$3; shift 3
	local before=absent
	[ -e "$FILE" ] && cp "$FILE" "$T/before" && before=present
	fw "$@"
	if [ "$rc" != "$want" ]; then
		not_ok "$name" "exit $rc, want $want" "$(cat "$T/out" "$T/err")"
	elif ! grep -qxF -- "$msg" "$T/err"; then
		not_ok "$name" "stderr lacks the line: $msg" "$(cat "$T/err")"
	elif [ $before = present ] && ! cmp -s "$FILE" "$T/before"; then
		not_ok "$name" "the file changed" "$(diff "$T/before" "$FILE")"
	elif [ $before = absent ] && [ -e "$FILE" ]; then
		not_ok "$name" "the file was created"
	elif ls -A "$P" | grep -q '^\.'; then
		not_ok "$name" "a temporary file was left: $(ls -A "$P")"
	else
		ok "$name"
	fi
}
# same NAME FILE-WITH-EXPECTED-CONTENT ACTUAL
same() {
	if cmp -s "$2" "$3"; then ok "$1"; else not_ok "$1" "$(diff "$2" "$3")"; fi
}
# decides NAME "SRC TGT PROTO PORT" WANT...: one query per WANT line
decides() {
	local name=$1; shift
	local q=() want=()
	while [ $# -gt 0 ]; do read -r -a f <<<"$1"; q+=("${f[@]}"); want+=("$2"); shift 2; done
	local got
	got=$("$QUERY" "$P" "${q[@]}" 2>&1)
	if [ "$got" = "$(printf '%s\n' "${want[@]}")" ]; then ok "$name"; else
		not_ok "$name" "got:" "$got" "want:" "${want[@]}"; fi
}

"$FW" --help >"$T/out" 2>"$T/err"
if [ $? = 0 ] && grep -q '^usage: qvm-firewall' "$T/out" && grep -q 'See qvm-firewall(1)' "$T/out" && [ ! -s "$T/err" ]; then
	ok "--help"; else not_ok "--help" "$(cat "$T/out" "$T/err")"; fi

# where the shipped rules are (that file may gain lines)
UPLINK=90-default.policy:$(grep -n '^qmgr.Network .*@anyvm  *sys-net  *allow' "$SHIPPED/90-default.policy" | cut -d: -f1)
BETWEEN=90-default.policy:$(grep -n '^qmgr.Network .*@anyvm  *@anyvm  *deny' "$SHIPPED/90-default.policy" | cut -d: -f1)

fresh
# --- nothing yet: an empty table, no file written by list
expect "list of a qube without rules" 0 work list
printf 'NO  ACTION  HOST  PROTOCOL  PORT(S)  SPECIAL TARGET  COMMENT\n' >"$T/want"
same "an empty table has the header only" "$T/want" "$T/out"
[ ! -e "$FILE" ] && ok "list writes no file" || not_ok "list writes no file"
decides "shipped policy: sys-net allowed, qubes denied" \
	"work sys-net tcp 443" "allow $UPLINK" \
	"work personal tcp 22" "deny $BETWEEN"

# --- add, in both of Qubes' syntaxes
expect "add tcp 443 with a comment" 0 work add action=accept proto=tcp dstports=443 "comment=the web"
expect "add specialtarget=dns" 0 work add action=accept specialtarget=dns
expect "add a port range to another qube" 0 work add action=accept proto=udp dstports=1200-1400 target=personal
expect "add a final drop (positional action)" 0 work add drop
expect "add --before 0" 0 work add --before 0 action=drop proto=tcp dstports=25
expect "add icmp for another qube" 0 personal add action=drop proto=icmp
[ -z "$(cat "$T/out" "$T/err")" ] && ok "add is silent" || not_ok "add is silent" "$(cat "$T/out" "$T/err")"

cat >"$T/want" <<'W'
# qvm-firewall: work
qmgr.Network  +tcp-25  work  sys-net  deny
# comment: the web
qmgr.Network  +tcp-443  work  sys-net  allow
# specialtarget=dns
qmgr.Network  +udp-53  work  sys-net  allow
qmgr.Network  +tcp-53  work  sys-net  allow
qmgr.Network  +udp-1200-1400  work  personal  allow
qmgr.Network  *  work  sys-net  deny

# qvm-firewall: personal
qmgr.Network  +icmp  personal  sys-net  deny

W
sed -n '/^# qvm-firewall:/,$p' "$FILE" >"$T/got"
same "the file holds the rules as qmgr.Network lines" "$T/want" "$T/got"
grep -q '^## ' "$FILE" && ok "the file starts with an explaining header" || not_ok "header"
[ "$(stat -c %a "$FILE")" = 644 ] && ok "the file is mode 644" || not_ok "mode" "$(stat -c %a "$FILE")"

expect "list" 0 work list
cat >"$T/want" <<'W'
NO  ACTION  HOST      PROTOCOL  PORT(S)    SPECIAL TARGET  COMMENT
0   drop    sys-net   tcp       25         -               -
1   accept  sys-net   tcp       443        -               the web
2   accept  sys-net   -         -          dns             -
3   accept  personal  udp       1200-1400  -               -
4   drop    sys-net   -         -          -               -
W
same "list prints a numbered table read back from the file" "$T/want" "$T/out"
fw work
same "list is the default command" "$T/want" "$T/out"
expect "list --raw" 0 work list --raw
cat >"$T/want" <<'W'
action=drop proto=tcp dstports=25
action=accept proto=tcp dstports=443 comment=the web
action=accept specialtarget=dns
action=accept proto=udp dstports=1200-1400 target=personal
action=drop
W
same "list --raw prints RULE syntax" "$T/want" "$T/out"

decides "the written policy decides as asked" \
	"work sys-net tcp 25" "deny 30-qvm-firewall.policy:8" \
	"work sys-net tcp 443" "allow 30-qvm-firewall.policy:10" \
	"work sys-net udp 53" "allow 30-qvm-firewall.policy:12" \
	"work sys-net tcp 53" "allow 30-qvm-firewall.policy:13" \
	"work sys-net tcp 80" "deny 30-qvm-firewall.policy:15" \
	"work personal udp 1300" "allow 30-qvm-firewall.policy:14" \
	"work personal udp 1401" "deny $BETWEEN" \
	"personal sys-net icmp 0" "deny 30-qvm-firewall.policy:18" \
	"personal sys-net tcp 80" "allow $UPLINK" \
	"other sys-net tcp 25" "allow $UPLINK"

# --- refusals: exact message, exit status, file byte for byte the same
refused "dsthost= is refused" 2 "qvm-firewall: dsthost=1.2.3.4: destination hosts are not supported: qmgr's network policy knows the uplink (sys-net) and qubes (target=VM), not addresses or names; narrow the rule with proto= and dstports= instead" \
	work add action=accept dsthost=1.2.3.4
refused "a positional host is refused" 2 "qvm-firewall: dsthost=example.com (the word after the action names the host, as in Qubes): destination hosts are not supported: qmgr's network policy knows the uplink (sys-net) and qubes (target=VM), not addresses or names; narrow the rule with proto= and dstports= instead" \
	work add accept example.com
refused "dst4= is dsthost=" 2 "qvm-firewall: dsthost=10.0.0.0/8: destination hosts are not supported: qmgr's network policy knows the uplink (sys-net) and qubes (target=VM), not addresses or names; narrow the rule with proto= and dstports= instead" \
	work add action=drop dst4=10.0.0.0/8
refused "expire= is refused" 2 "qvm-firewall: expire=+300: rules that expire are not supported; remove the rule with 'qvm-firewall work del' when it should end" \
	work add action=accept expire=+300
refused "icmptype= is refused" 2 "qvm-firewall: icmptype=8: ICMP types are not supported: a rule accepts or drops all of ICMP (proto=icmp)" \
	work add action=accept proto=icmp icmptype=8
refused "port 0 is refused" 2 "qvm-firewall: dstports=0: ports are 1 to 65535" \
	work add action=accept proto=tcp dstports=0
refused "port 65536 is refused" 2 "qvm-firewall: dstports=65536: ports are 1 to 65535" \
	work add action=accept proto=tcp dstports=65536
refused "a range up to 65536 is refused" 2 "qvm-firewall: dstports=1-65536: ports are 1 to 65535" \
	work add action=accept proto=tcp dstports=1-65536
refused "an open range is refused" 2 "qvm-firewall: dstports=1-: expected a port or a range LOW-HIGH (e.g. 443 or 1200-1400)" \
	work add action=accept proto=tcp dstports=1-
refused "a reversed range is refused" 2 "qvm-firewall: dstports=500-400: the range's LOW is above its HIGH" \
	work add action=accept proto=udp dstports=500-400
refused "ports without tcp/udp are refused" 2 "qvm-firewall: dstports= needs proto=tcp or proto=udp" \
	work add action=accept dstports=80
refused "an unknown keyword is refused" 2 "qvm-firewall: unknown rule element 'frob=1' (known: action, proto, dstports, specialtarget, target, comment)" \
	work add action=accept frob=1
refused "action=ask is refused" 2 "qvm-firewall: action=ask: a network rule is action=accept or action=drop (traffic cannot wait for a question)" \
	work add action=ask
refused "action=allow is refused" 2 "qvm-firewall: action=allow: a network rule is action=accept or action=drop" \
	work add action=allow
refused "a rule without action is refused" 2 "qvm-firewall: a rule needs action=accept or action=drop" \
	work add proto=tcp
refused "a repeated keyword is refused" 2 "qvm-firewall: proto= given twice" \
	work add action=accept proto=tcp proto=udp
refused "an unknown proto is refused" 2 "qvm-firewall: proto=sctp: expected tcp, udp or icmp" \
	work add action=accept proto=sctp
refused "specialtarget other than dns is refused" 2 "qvm-firewall: specialtarget=ntp: only specialtarget=dns is supported" \
	work add action=accept specialtarget=ntp
refused "specialtarget=dns with proto= is refused" 2 "qvm-firewall: specialtarget=dns means udp and tcp port 53 to sys-net: do not combine it with proto=, dstports= or target=" \
	work add action=accept specialtarget=dns proto=udp
refused "target=dom0 is refused" 2 "qvm-firewall: target=dom0: invalid qube name: the name is reserved (the target is sys-net, the default, or a qube)" \
	work add action=accept target=dom0
refused "a target of the qube itself is refused" 2 "qvm-firewall: target=work: a qube's traffic to itself does not pass the firewall" \
	work add action=accept target=work
refused "an invalid qube name is refused" 2 "qvm-firewall: invalid qube name '1bad': the name must start with a letter" \
	1bad add action=accept
refused "sys-net is not a qube with rules" 2 "qvm-firewall: invalid qube name 'sys-net': the name is reserved: sys-net is built in, it stands for the host's network uplink (the default netvm)" \
	sys-net add action=accept
refused "--before past the end is refused" 1 "qvm-firewall: --before 6: expected a rule number from 0 to 5 ('list' shows them)" \
	work add --before 6 action=accept
refused "--before that is not a number is refused" 1 "qvm-firewall: --before -1: expected a rule number from 0 to 5 ('list' shows them)" \
	work add --before=-1 action=accept
refused "del --rule-no past the end is refused" 1 "qvm-firewall: --rule-no 5: expected a rule number from 0 to 4 ('list' shows them)" \
	work del --rule-no 5
refused "del of a rule the qube lacks is refused" 1 "qvm-firewall: work has no such rule ('qvm-firewall work list' shows its rules)" \
	work del action=accept proto=tcp dstports=444
refused "del for a qube without rules is refused" 1 "qvm-firewall: other has no rules" \
	other del --rule-no 0
refused "del with both a number and a rule is refused" 2 "qvm-firewall: del needs either --rule-no N or a RULE" \
	work del --rule-no 0 action=drop
refused "add without a rule is refused" 2 "qvm-firewall: add needs a RULE, e.g. action=accept proto=tcp dstports=443" \
	work add
refused "--before is only for add" 2 "qvm-firewall: --before is for add" \
	work del --before 1 action=drop
refused "an unknown command is refused" 2 "qvm-firewall: unknown command 'flush' (list, add, del or reset)" \
	work flush
refused "a control character in a comment is refused" 2 "qvm-firewall: comment= may not contain control characters" \
	work add action=accept $'comment=a\nb'

# --- del
expect "del RULE removes the first equal rule" 0 work del action=accept proto=udp dstports=1200-1400 target=personal
expect "del --rule-no 0" 0 work del --rule-no 0
fw work list --raw
printf '%s\n' "action=accept proto=tcp dstports=443 comment=the web" "action=accept specialtarget=dns" "action=drop" >"$T/want"
same "del removed those two" "$T/want" "$T/out"
expect "del ignores the comment unless given" 0 work del action=accept proto=tcp dstports=443
expect "del of the dns rule" 0 work del action=accept specialtarget=dns
expect "del of the last rule" 0 work del --rule-no 0
grep -q '^# qvm-firewall: work$' "$FILE" && not_ok "a qube without rules has no block" "$(cat "$FILE")" || ok "a qube without rules has no block"

# --- the same port range written as N-N reads back as N
expect "dstports=8080-8080 is port 8080" 0 work add action=accept proto=tcp dstports=8080-8080
grep -qx 'qmgr.Network  +tcp-8080  work  sys-net  allow' "$FILE" && ok "written as +tcp-8080" || not_ok "written as +tcp-8080" "$(cat "$FILE")"
expect "full port range" 0 work add action=accept proto=udp dstports=1-65535
grep -qx 'qmgr.Network  +udp-1-65535  work  sys-net  allow' "$FILE" && ok "written as +udp-1-65535" || not_ok "+udp-1-65535" "$(cat "$FILE")"

# --- reset
expect "reset" 0 work reset
grep -q '^# qvm-firewall: work$' "$FILE" && not_ok "reset removes the block" "$(cat "$FILE")" || ok "reset removes the block"
cp "$FILE" "$T/before"
expect "reset of a qube without rules" 0 work reset
same "reset of a qube without rules changes nothing" "$T/before" "$FILE"

# --- hand edits
fresh
"$FW" --policy-dir "$P" work add action=accept proto=tcp dstports=443
"$FW" --policy-dir "$P" personal add action=drop proto=icmp
line=$(grep -n '^qmgr.Network  +tcp-443  work' "$FILE" | cut -d: -f1)
sed -i 's/^qmgr.Network  +tcp-443  work  sys-net  allow$/qmgr.Network  +tcp-443  work  sys-net  allow notify=yes/' "$FILE"
refused "an unparsable line names FILE:LINE" 1 "$FILE:$line: not a line qvm-firewall writes (expected 'qmgr.Network ARGUMENT VM TARGET allow|deny')" \
	work list
grep -qxF "qvm-firewall: cannot read work's rules back (correct the file with 'qvm-policy edit --policy-dir $P 30-qvm-firewall.policy', or drop work's rules with 'qvm-firewall --policy-dir $P work reset')" "$T/err" &&
	ok "the error says how to fix it" || not_ok "the error says how to fix it" "$(cat "$T/err")"
refused "add to a block that cannot be read is refused" 1 "qvm-firewall: cannot read work's rules back (correct the file with 'qvm-policy edit --policy-dir $P 30-qvm-firewall.policy', or drop work's rules with 'qvm-firewall --policy-dir $P work reset')" \
	work add action=drop
cp "$FILE" "$T/before"
expect "another qube's block can still be changed" 0 personal add action=accept
diff "$T/before" "$FILE" | grep '^[<>]' >"$T/got"
printf '%s\n' '> qmgr.Network  *  personal  sys-net  allow' >"$T/want"
same "the hand-edited block is kept byte for byte" "$T/want" "$T/got"
printf '# a note of mine\n' >>"$FILE"
refused "a foreign comment in a block is refused" 1 "$FILE:$(wc -l <"$FILE"): a comment qvm-firewall does not write (it keeps only '# comment: TEXT' before a rule)" \
	personal list
sed -i '$d' "$FILE"
sed -i 's/notify=yes/ask/' "$FILE"
refused "a change that leaves the policy invalid is refused" 1 "qvm-firewall: the policy would be invalid; $FILE is unchanged" \
	personal add action=drop
grep -qF "$FILE:$line: " "$T/err" && ok "with the policy's own error" || not_ok "with the policy's own error" "$(cat "$T/err")"
expect "reset drops a block that cannot be read" 0 work reset
grep -q '^# qvm-firewall: work$' "$FILE" && not_ok "reset dropped the block" "$(cat "$FILE")" || ok "reset dropped the block"
printf '# qvm-firewall: personal\nqmgr.Network  +tcp  personal  sys-net  deny\n' >>"$FILE"
refused "two blocks for one qube are refused" 1 "$FILE:$(($(wc -l <"$FILE") - 1)): a second block for 'personal' (the first is at line 7)" \
	personal list
expect "reset removes both" 0 personal reset
fresh
printf '# qvm-firewall: work\n# specialtarget=dns\nqmgr.Network  +udp-53  work  sys-net  allow\nqmgr.Network  +tcp-53  work  sys-net  deny\n' >"$FILE"
refused "a dns rule whose two lines disagree is refused" 1 "$FILE:4: expected the dns rule's second line, 'qmgr.Network +tcp-53 VM sys-net' with the same action" \
	work list
printf '# qvm-firewall: work\nqmgr.Network  +tcp-80  personal  sys-net  allow\n' >"$FILE"
refused "a rule of another qube in a block is refused" 1 "$FILE:2: the rule's source 'personal' is not the block's qube 'work'" \
	work list

# --- where the file is: QMGR_ROOT, missing directories, shadowing
mkdir -p "$QMGR_ROOT/etc/qmgr/policy.d"
cp "$SHIPPED"/*.policy "$QMGR_ROOT/etc/qmgr/policy.d/"
"$FW" work add action=drop proto=tcp >"$T/out" 2>"$T/err"
rc=$?
if [ $rc = 0 ] && grep -q '^qmgr.Network  +tcp  work  sys-net  deny$' "$QMGR_ROOT/etc/qmgr/policy.d/30-qvm-firewall.policy"; then
	ok "without --policy-dir: QMGR_ROOT/etc/qmgr/policy.d"; else not_ok "QMGR_ROOT" "exit $rc" "$(cat "$T/err")"; fi
grep -qF "qvm-firewall: warning: did not check that qube 'work' exists: cannot reach qmgrd at $QMGR_ROOT/run/qmgr/qmgrd.sock" "$T/err" &&
	ok "warns when qmgrd cannot say whether the qube exists" || not_ok "warning" "$(cat "$T/err")"
mkdir -p "$QMGR_ROOT/run/qmgr/policy.d"
cp "$QMGR_ROOT/etc/qmgr/policy.d/30-qvm-firewall.policy" "$QMGR_ROOT/run/qmgr/policy.d/"
"$FW" work list >"$T/out" 2>"$T/err"
grep -qxF "qvm-firewall: warning: $QMGR_ROOT/run/qmgr/policy.d/30-qvm-firewall.policy shadows the file qvm-firewall writes; its rules are the ones in force" "$T/err" &&
	ok "warns about a shadowing file in /run" || not_ok "shadow warning" "$(cat "$T/err")"
"$FW" --policy-dir "$T/nonexistent" work add drop >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 1 ] && grep -qxF "qvm-firewall: $T/nonexistent: no such directory" "$T/err" &&
	ok "a missing policy directory is an error" || not_ok "missing dir" "exit $rc" "$(cat "$T/err")"

echo "1..$n"
[ $fails = 0 ]
