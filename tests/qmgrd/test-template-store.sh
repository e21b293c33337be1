#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# qmgrd boots from the template store (docs/templates.md, "Installing and
# rolling back"): with the built minimal template installed by
# `qvm-template install`, a qube boots from the store's current revision;
# a new revision is used from the qube's next start (not by the running
# qube), a rollback returns to the previous one, and a disposable boots
# from it too.  A revision is marked by an option on its kernel command
# line.  Then a template new to qmgrd: `qvm-template install` (qmgrd's
# store, no --store) makes its TemplateVM, qubes boot from it, a clone of
# it copies the revision, `qvm-template remove` removes the TemplateVM
# first and is refused while qubes use it, and a TemplateVM whose template
# left the store says so at start.  Real guests, its own qmgrd.  TAP
# output.
#
#   test-template-store.sh BUILD_DIR TEMPLATE_OUT_DIR KEYS_DIR
set -u
B=$1
TPL=$2
KEYS=$3
LOG_KEEP=/tmp/qmgr-template-store-failed.log
. "$(dirname "$0")/lib-qmgrd.sh"
QT=$B/qvm-tools/qvm-template

echo "1..30"
start_qmgrd || exit 1
for _ in $(seq 100); do [ "$(state default-dvm)" = Halted ] && break; sleep 0.2; done
STORE=$QMGR_ROOT/var/lib/qmgr/template-store
check "install the built template (revision 1) into qmgrd's store" \
	"$QT" install "$TPL" --keys-dir "$KEYS" --store "$STORE"
# revision 2: the same files, a marker on the kernel command line
mkdir "$T/rev2"
cp --sparse=always "$TPL"/* "$T/rev2/"
sed -i -e 's/^revision=.*/revision=2/' \
	-e 's/^kernel_cmdline=.*/& qmgr.revision=2/' "$T/rev2/template.conf"
check "sign revision 2 with the build's key" "$QT" sign "$T/rev2" --key "$KEYS/qmgr-build.key"

check "qvm-create work" qvm-create --label blue work
check "work starts from the store" timeout 180 qvm-start work
dom=qmgr-$(instance)-work
xml=$(virsh -c qemu:///system dumpxml "$dom")
[[ $xml == *"$STORE/minimal/1/"* ]] && ok "its kernel and root come from revision 1 in the store" || not_ok "its kernel and root come from revision 1 in the store" "$(echo "$xml" | grep -E 'kernel|source file')"
check "install revision 2" "$QT" install "$T/rev2" --keys-dir "$KEYS" --store "$STORE"
cmd=$(qvm-run -p work 'cat /proc/cmdline')
[[ $cmd != *qmgr.revision=2* ]] && ok "the running qube keeps revision 1" || not_ok "the running qube keeps revision 1" "$cmd"
qvm-shutdown --wait --timeout 60 work >/dev/null 2>&1
timeout 180 qvm-start work >/dev/null 2>&1
cmd=$(qvm-run -p work 'cat /proc/cmdline')
[[ $cmd == *qmgr.revision=2* ]] && ok "after a restart it boots revision 2" || not_ok "after a restart it boots revision 2" "$cmd"
out=$(qvm-run -p --dispvm=default-dvm 'cat /proc/cmdline' 2>&1)
[[ $out == *qmgr.revision=2* ]] && ok "a disposable boots revision 2" || not_ok "a disposable boots revision 2" "$out"
check "rollback" "$QT" rollback minimal --store "$STORE"
qvm-shutdown --wait --timeout 60 work >/dev/null 2>&1
timeout 180 qvm-start work >/dev/null 2>&1
cmd=$(qvm-run -p work 'cat /proc/cmdline')
[[ $cmd != *qmgr.revision=2* ]] && [[ -n $cmd ]] && ok "after rollback and a restart it boots revision 1 again" || not_ok "after rollback and a restart it boots revision 1 again" "$cmd"
qvm-shutdown --wait --timeout 60 work >/dev/null 2>&1

# A template qmgrd does not know yet, installed into its store (QMGR_ROOT's)
mkdir "$T/other"
cp --sparse=always "$TPL"/* "$T/other/"
sed -i -e 's/^name=.*/name=other/' -e 's/^memory=.*/memory=320/' "$T/other/template.conf"
"$QT" sign "$T/other" --key "$KEYS/qmgr-build.key" >/dev/null
out=$("$QT" install "$T/other" --keys-dir "$KEYS" 2>&1)
[[ $out == *"created TemplateVM other"* ]] && ok "qvm-template install makes TemplateVM other" || not_ok "qvm-template install makes TemplateVM other" "$out"
cls=$(qvm-ls --json | python3 -c "import json,sys; print({v['name']: v['class'] for v in json.load(sys.stdin)}.get('other', 'absent'))")
same "it is a TemplateVM" TemplateVM "$cls"
same "its memory is the template's" 320 "$(qvm-prefs other memory)"
[ ! -e "$QMGR_ROOT/var/lib/qmgr/vms/other/root.qcow2" ] && ok "it has no root of its own" || not_ok "it has no root of its own"
check "qvm-create --template other app2" qvm-create --template other --label green app2
check "app2 starts" timeout 180 qvm-start app2
xml=$(virsh -c qemu:///system dumpxml "qmgr-$(instance)-app2")
[[ $xml == *"$STORE/other/1/"* ]] && ok "app2 boots other's revision 1 from the store" || not_ok "app2 boots other's revision 1 from the store" "$(echo "$xml" | grep -E 'kernel|source file')"
refuse "qvm-template remove is refused while app2 uses the TemplateVM" "app2" "$QT" remove other
"$QT" list | grep -q '^other ' && ok "the refused remove left the store alone" || not_ok "the refused remove left the store alone" "$("$QT" list)"
check "qvm-clone other other2 (halted source)" qvm-clone other other2
info=$(qemu-img info "$QMGR_ROOT/var/lib/qmgr/vms/other2/root.qcow2" 2>&1)
[[ $info == *"file format: qcow2"* ]] && [ -s "$QMGR_ROOT/var/lib/qmgr/vms/other2/kernel" ] && ok "the clone has its own root and kernel, copied from the store" || not_ok "the clone has its own root and kernel, copied from the store" "$info"
qvm-shutdown --wait --timeout 60 app2 >/dev/null 2>&1
check "qvm-remove app2" qvm-remove -f app2
out=$("$QT" remove other 2>&1)
[[ $out == *"removed TemplateVM other"* ]] && [[ $out == *"removed template other"* ]] && ok "qvm-template remove removes the TemplateVM, then the template" || not_ok "qvm-template remove removes the TemplateVM, then the template" "$out"
same "other is gone from qvm-ls" absent "$(state other)"
"$QT" list | grep -q '^other ' && not_ok "and from the store" "$("$QT" list)" || ok "and from the store"
check "installing it again makes it again" "$QT" install "$T/other" --keys-dir "$KEYS"
check "remove with --store takes only the store's copy" "$QT" remove other --store "$STORE"
refuse "a TemplateVM whose template left the store says so at start" "qvm-template install" qvm-start other
check "qvm-remove other other2" qvm-remove -f other other2
[ $fails -eq 0 ]
