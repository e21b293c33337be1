#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# qmgrd boots from the template store (docs/templates.md, "Installing and
# rolling back"): with the built minimal template installed by
# `qvm-template install`, a qube boots from the store's current revision;
# a new revision is used from the qube's next start (not by the running
# qube), a rollback returns to the previous one, and a disposable boots
# from it too.  A revision is marked by an option on its kernel command
# line.  Real guests, its own qmgrd.  TAP output.
#
#   test-template-store.sh BUILD_DIR TEMPLATE_OUT_DIR KEYS_DIR
set -u
B=$1
TPL=$2
KEYS=$3
LOG_KEEP=/tmp/qmgr-template-store-failed.log
. "$(dirname "$0")/lib-qmgrd.sh"
QT=$B/qvm-tools/qvm-template

echo "1..11"
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
[ $fails -eq 0 ]
