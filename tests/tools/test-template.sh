#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# qvm-template keygen, sign and verify (docs/templates.md, "Signing") on a
# small template directory: what is signed verifies, and every kind of
# tampering, a wrong or untrusted key, a missing signature and a directory
# holding more than files is refused with a message naming the problem.
# TAP output.
#
#   test-template.sh QVM_TEMPLATE
set -u
QT=$1
T=$(mktemp -d /tmp/qmgr-template-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
check() { # NAME COMMAND...: succeeds
	local name=$1; shift
	if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}
refuse() { # NAME EXPECTED-SUBSTRING COMMAND...: fails saying that
	local name=$1 want=$2; shift 2
	if out=$("$@" 2>&1); then not_ok "$name" "succeeded: $out"
	elif [[ $out == *"$want"* ]]; then ok "$name"
	else not_ok "$name" "want: $want" "got: $out"; fi
}

# a template: small stand-ins for the kernel, initramfs and root
fresh() { # DIR
	rm -rf "$1"; mkdir -p "$1"
	printf 'kernel\n' >"$1/vmlinux"
	printf 'initramfs\n' >"$1/initramfs.cpio.gz"
	head -c 300000 /dev/urandom >"$1/root.img"
	cat >"$1/template.conf" <<CONF
[Template]
name=minimal
version=0.1.0
revision=3
kernel=vmlinux
initramfs=initramfs.cpio.gz
root=root.img
CONF
}

mkdir "$T/keys" "$T/other" "$T/trusted"
check "keygen writes a key pair" "$QT" keygen release --dir "$T/keys"
[ "$(stat -c %a "$T/keys/release.key")" = 600 ] && ok "the secret key is mode 0600" || not_ok "the secret key is mode 0600" "$(stat -c %a "$T/keys/release.key")"
refuse "keygen does not overwrite a key" "not overwriting" "$QT" keygen release --dir "$T/keys"
refuse "keygen refuses a bad name" "bad key name" "$QT" keygen ../x --dir "$T/keys"
cp "$T/keys/release.pub" "$T/trusted/"

fresh "$T/t"
refuse "an unsigned template is refused" "not signed" "$QT" verify "$T/t" --keys-dir "$T/trusted"
refuse "signing needs the secret key" "secret key" "$QT" sign "$T/t" --key "$T/keys/release.pub"
check "sign" "$QT" sign "$T/t" --key "$T/keys/release.key"
if out=$("$QT" verify "$T/t" --keys-dir "$T/trusted" 2>&1) &&
	[[ $out == *"template minimal 0.1.0 revision 3, 4 files, signed by release"* ]]; then
	ok "a signed template verifies (name, version, revision, key)"
else
	not_ok "a signed template verifies (name, version, revision, key)" "$out"
fi
refuse "a key not in the trusted directory is refused" "not trusted here" "$QT" verify "$T/t" --keys-dir "$T/other"

# another key under the same name
"$QT" keygen release --dir "$T/other" >/dev/null
refuse "a different key of the same name is refused" "does not match key" "$QT" verify "$T/t" --keys-dir "$T/other"

for f in vmlinux initramfs.cpio.gz root.img template.conf; do
	fresh "$T/x"; "$QT" sign "$T/x" --key "$T/keys/release.key" >/dev/null
	printf 'x' >>"$T/x/$f"
	refuse "tampered $f is refused" "$f: does not match the signed manifest" "$QT" verify "$T/x" --keys-dir "$T/trusted"
done
fresh "$T/x"; "$QT" sign "$T/x" --key "$T/keys/release.key" >/dev/null
printf 'X' | dd of="$T/x/root.img" bs=1 seek=1000 conv=notrunc status=none
refuse "one changed byte inside the root image is refused" "root.img: does not match the signed manifest (content)" "$QT" verify "$T/x" --keys-dir "$T/trusted"

fresh "$T/x"; "$QT" sign "$T/x" --key "$T/keys/release.key" >/dev/null
sed -i 's/^revision 3$/revision 4/' "$T/x/MANIFEST"
refuse "an edited manifest is refused" "signature of MANIFEST does not match" "$QT" verify "$T/x" --keys-dir "$T/trusted"
fresh "$T/x"; "$QT" sign "$T/x" --key "$T/keys/release.key" >/dev/null
printf 'extra\n' >"$T/x/extra"
refuse "a file not in the manifest is refused" "extra: not in the signed manifest" "$QT" verify "$T/x" --keys-dir "$T/trusted"
fresh "$T/x"; "$QT" sign "$T/x" --key "$T/keys/release.key" >/dev/null
rm "$T/x/vmlinux"
refuse "a missing file is refused" "vmlinux" "$QT" verify "$T/x" --keys-dir "$T/trusted"
fresh "$T/x"; "$QT" sign "$T/x" --key "$T/keys/release.key" >/dev/null
mv "$T/x/vmlinux" "$T/vmlinux.real"; ln -s "$T/vmlinux.real" "$T/x/vmlinux"
refuse "a symlink in place of a file is refused" "not a regular file" "$QT" verify "$T/x" --keys-dir "$T/trusted"
fresh "$T/x"; mkdir "$T/x/sub"
refuse "signing refuses a directory holding a directory" "not a regular file" "$QT" sign "$T/x" --key "$T/keys/release.key"
fresh "$T/x"; "$QT" sign "$T/x" --key "$T/keys/release.key" >/dev/null
sed -i 's/ release / ..\/keys\/release /' "$T/x/MANIFEST.sig"
refuse "a key name with a path in the signature is refused" "bad key name" "$QT" verify "$T/x" --keys-dir "$T/trusted"
fresh "$T/x"; sed -i '/^revision=/d' "$T/x/template.conf"
refuse "signing needs a revision in template.conf" "needs name, version and revision" "$QT" sign "$T/x" --key "$T/keys/release.key"

echo "1..$n"
[ "$fails" = 0 ]
