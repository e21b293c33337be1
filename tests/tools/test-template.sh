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

# --- the store: install, list, rollback, remove
S=$T/store
K=(--keys-dir "$T/trusted" --store "$S")
rev() { # DIR REVISION: re-version a fresh template and sign it
	fresh "$1"; sed -i "s/^revision=.*/revision=$2/" "$1/template.conf"
	"$QT" sign "$1" --key "$T/keys/release.key" >/dev/null
}
state() { tr '\n' ' ' <"$S/minimal/state"; }
rev "$T/r3" 3; rev "$T/r4" 4; rev "$T/r5" 5
refuse "install refuses an unsigned template" "not signed" "$QT" install "$T/x" "${K[@]}"
[ ! -e "$S/minimal" ] && [ -z "$(ls -A "$S" 2>/dev/null)" ] && ok "nothing is left in the store" || not_ok "nothing is left in the store" "$(ls -la "$S")"
check "install revision 3" "$QT" install "$T/r3" "${K[@]}"
same_list() { # WANT: the list's line for minimal
	local got; got=$("$QT" list --store "$S" | awk '$1 == "minimal"' | tr -s ' ')
	[ "$got" = "$1" ] || { echo "got: $got"; return 1; }
}
check "list shows revision 3, signed by release" same_list "minimal 0.1.0 3 release"
check "install revision 4 keeps 3" "$QT" install "$T/r4" "${K[@]}"
check "list shows 4 with 3 as previous" same_list "minimal 0.1.0 4 release (previous: 0.1.0 revision 3)"
refuse "an older revision is refused" "not newer than the installed revision 4" "$QT" install "$T/r3" "${K[@]}"
before=$(state)
cp -r "$T/r5" "$T/bad5"; printf 'x' >>"$T/bad5/root.img"
refuse "a tampered revision is refused" "root.img: does not match the signed manifest" "$QT" install "$T/bad5" "${K[@]}"
[ "$(state)" = "$before" ] && [ "$(ls "$S/minimal" | tr '\n' ' ')" = "3 4 state " ] && [ -z "$(ls -A "$S" | grep incoming)" ] \
	&& ok "a refused install changes nothing in the store" || not_ok "a refused install changes nothing in the store" "$(state)" "$(ls -la "$S" "$S/minimal")"
cp -r "$T/r5" "$T/ln5"; ln -s /etc/passwd "$T/ln5/extra"
refuse "a template directory holding a link is refused" "not a regular file" "$QT" install "$T/ln5" "${K[@]}"
check "rollback returns to revision 3" "$QT" rollback minimal --store "$S"
check "list after rollback: 3, previous 4" same_list "minimal 0.1.0 3 release (previous: 0.1.0 revision 4)"
check "rollback again returns to 4" "$QT" rollback minimal --store "$S"
check "install revision 5: 4 is kept, 3 goes" "$QT" install "$T/r5" "${K[@]}"
[ "$(ls "$S/minimal" | tr '\n' ' ')" = "4 5 state " ] && ok "two revisions on disk" || not_ok "two revisions on disk" "$(ls "$S/minimal")"
# the installed copy keeps the root image's holes
alloc=$(du -k "$S/minimal/5/root.img" | cut -f1)
[ "$alloc" -lt 400 ] && ok "the copy of the root image is sparse" || not_ok "the copy of the root image is sparse" "${alloc} KiB"

# a crash mid-install: a half copy and a complete but unswitched revision
mkdir -p "$S/.incoming-crash1" "$S/minimal/6"; printf 'half' >"$S/.incoming-crash1/root.img"
cp "$T/r5"/* "$S/minimal/6/"
check "list after a crash" same_list "minimal 0.1.0 5 release (previous: 0.1.0 revision 4)"
[ ! -e "$S/.incoming-crash1" ] && [ ! -e "$S/minimal/6" ] && ok "what a crash left is cleaned up, the state stays" || not_ok "what a crash left is cleaned up, the state stays" "$(ls -la "$S" "$S/minimal")"
# kill -9 during installs: the store is always the old or the new state
fresh "$T/big"; sed -i "s/^revision=.*/revision=9/" "$T/big/template.conf"
head -c 40000000 /dev/urandom >"$T/big/root.img"
"$QT" sign "$T/big" --key "$T/keys/release.key" >/dev/null
good=0
for delay in 0.02 0.05 0.1 0.2 0.4; do
	"$QT" install "$T/big" "${K[@]}" >/dev/null 2>&1 & p=$!
	sleep "$delay"; kill -9 $p 2>/dev/null; wait $p 2>/dev/null
	s=$(state)
	case "$s" in
	"[Store] current=5 previous=4 "|"[Store] current=9 previous=5 ") good=$((good + 1)) ;;
	*) echo "# after kill at $delay s: $s" ;;
	esac
	"$QT" list --store "$S" >/dev/null || echo "# list fails after kill at $delay s"
	if [ "$s" = "[Store] current=9 previous=5 " ]; then
		"$QT" rollback minimal --store "$S" >/dev/null
		"$QT" remove minimal --store "$S" >/dev/null
		"$QT" install "$T/r4" "${K[@]}" >/dev/null
		"$QT" install "$T/r5" "${K[@]}" >/dev/null
	fi
done
[ $good = 5 ] && ok "kill -9 during install leaves the old or the new state, 5 of 5" || not_ok "kill -9 during install leaves the old or the new state, 5 of 5" "good: $good"
check "verify the current revision in the store" "$QT" verify "$S/minimal/5" --keys-dir "$T/trusted"

fresh "$T/u"; sed -i "s/^revision=.*/revision=7/" "$T/u/template.conf"
if out=$("$QT" install "$T/u" --allow-unsigned "${K[@]}" 2>&1) && [[ $out == *"warning"*"not signed"* ]]; then
	ok "--allow-unsigned installs an unsigned template with a warning"
else
	not_ok "--allow-unsigned installs an unsigned template with a warning" "$out"
fi
check "list shows it UNSIGNED" same_list "minimal 0.1.0 7 UNSIGNED (previous: 0.1.0 revision 5)"
check "remove" "$QT" remove minimal --store "$S"
[ ! -e "$S/minimal" ] && ok "removed from the store" || not_ok "removed from the store"
refuse "rollback of an absent template" "not installed" "$QT" rollback minimal --store "$S"
refuse "remove refuses a path" "bad template name" "$QT" remove ../etc --store "$S"

# --- tarballs
S=$T/tstore
K=(--keys-dir "$T/trusted" --store "$S")
rev "$T/tr" 3
tar czf "$T/t.tgz" -C "$T" tr
check "install a gzip tarball of a template directory" "$QT" install "$T/t.tgz" "${K[@]}"
rev "$T/tr" 4
tar cf "$T/t.tar" -C "$T/tr" .
check "install a plain tarball made with tar -C DIR ." "$QT" install "$T/t.tar" "${K[@]}"
check "the tarball's template is current" same_list "minimal 0.1.0 4 release (previous: 0.1.0 revision 3)"
before=$(state)
rev "$T/tr" 5
tar czf "$T/t5.tgz" -C "$T" tr
head -c $(( $(stat -c %s "$T/t5.tgz") * 2 / 3 )) "$T/t5.tgz" >"$T/trunc.tgz"
refuse "a truncated gzip tarball is refused" "tarball" "$QT" install "$T/trunc.tgz" "${K[@]}"
tar cf "$T/t5.tar" -C "$T" tr
head -c 200000 "$T/t5.tar" >"$T/trunc.tar"
refuse "a truncated tarball is refused" "truncated" "$QT" install "$T/trunc.tar" "${K[@]}"
# hostile tarballs, made member by member
python3 - "$T" "$T/tr" <<'PY'
import io, os, sys, tarfile
T, src = sys.argv[1], sys.argv[2]
def make(name, members, fmt=tarfile.GNU_FORMAT):
    with tarfile.open(os.path.join(T, name), "w", format=fmt) as t:
        for m in members:
            if isinstance(m, str):
                t.add(os.path.join(src, m), arcname=m)
            else:
                info, data = m
                t.addfile(info, io.BytesIO(data) if data is not None else None)
files = sorted(os.listdir(src))
def info(name, type=tarfile.REGTYPE, size=0, link=""):
    i = tarfile.TarInfo(name); i.type = type; i.size = size; i.linkname = link
    return i
make("dotdot.tar", files + [(info("../evil", size=4), b"evil")])
make("absolute.tar", files + [(info("/tmp/evil", size=4), b"evil")])
make("symlink.tar", files + [(info("evil", tarfile.SYMTYPE, link="/etc/passwd"), None)])
make("hardlink.tar", files + [(info("evil", tarfile.LNKTYPE, link="root.img"), None)])
make("nested.tar", [(info("a/b/c", size=1), b"x")] + files)
make("twodirs.tar", [(info("a/x", size=1), b"x"), (info("b/y", size=1), b"y")])
make("duplicate.tar", files + [(info("vmlinux", size=1), b"x")])
make("device.tar", files + [(info("dev", tarfile.CHRTYPE), None)])
make("pax.tar", files, fmt=tarfile.PAX_FORMAT)
PY
refuse "a tarball member with .. is refused" "../evil" "$QT" install "$T/dotdot.tar" "${K[@]}"
refuse "an absolute member is refused" "/tmp/evil" "$QT" install "$T/absolute.tar" "${K[@]}"
refuse "a symlink member is refused" "type '2'" "$QT" install "$T/symlink.tar" "${K[@]}"
refuse "a hard link member is refused" "type '1'" "$QT" install "$T/hardlink.tar" "${K[@]}"
refuse "a nested path is refused" "a/b/c" "$QT" install "$T/nested.tar" "${K[@]}"
refuse "files of two directories are refused" "more than one directory" "$QT" install "$T/twodirs.tar" "${K[@]}"
refuse "a name twice is refused" "vmlinux\" twice" "$QT" install "$T/duplicate.tar" "${K[@]}"
refuse "a device member is refused" "type '3'" "$QT" install "$T/device.tar" "${K[@]}"
refuse "pax extended headers are refused" "extended headers" "$QT" install "$T/pax.tar" "${K[@]}"
cp "$T/t5.tar" "$T/badsum.tar"; printf 'X' | dd of="$T/badsum.tar" bs=1 seek=10 conv=notrunc status=none
refuse "a damaged header is refused" "checksum" "$QT" install "$T/badsum.tar" "${K[@]}"
[ "$(state)" = "$before" ] && [ ! -e /tmp/evil ] && [ -z "$(ls -A "$S" | grep -v minimal)" ] && [ "$(ls "$S/minimal" | tr '\n' ' ')" = "3 4 state " ] \
	&& ok "refused tarballs change nothing and write nothing outside the store" || not_ok "refused tarballs change nothing and write nothing outside the store" "$(state)" "$(ls -la "$S" "$S/minimal")"

echo "1..$n"
[ "$fails" = 0 ]
