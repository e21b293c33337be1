#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The Nix files of the repository (flake.nix, templates/nixos/) without
# nixpkgs, which is not reachable here (docs/templates.md, "NixOS templates
# and module"): every .nix file parses (`nix-instantiate --parse`, one TAP
# line each); what needs no nixpkgs is evaluated (the templates' metadata
# and their template.conf, which qvm-template must then sign and verify);
# and what package.nix assumes about the meson build is checked against
# the tree, so that a change there fails here and not only at the next
# `nix build` somewhere else.  TAP output; skipped without nix-instantiate.
#
#   test-nix.sh SRCDIR BUILDDIR [QVM_TEMPLATE]
set -u
src=$1
build=$2
qt=${3:-}

if ! command -v nix-instantiate >/dev/null 2>&1; then
	echo "1..0 # SKIP nix-instantiate is not installed (apt-get install nix-bin)"
	exit 0
fi

T=$(mktemp -d /tmp/qmgr-nix-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
# No store and no daemon are needed to parse and evaluate pure
# expressions; the dummy store lets this run as any user, without
# /nix/var.  No NIX_PATH: nothing may come from the machine.
export NIX_REMOTE=dummy:// XDG_CACHE_HOME=$T/cache HOME=$T
unset NIX_PATH

n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}
check() { # NAME COMMAND...: succeeds
	local name=$1 out; shift
	if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}
nix_eval() { # EXPR: its value as JSON
	nix-instantiate --eval --strict --json -E "$1"
}

nixdir=$src/templates/nixos

# --- every .nix file parses ---------------------------------------------------
# The build directory may be inside the source tree (scripts/ make build/).
mapfile -t files < <(find "$src" \
	\( -path "$src/.git" -o -path "$build" -o -path "$src/build*" \
	   -o -name 'result*' \) -prune -o -type f -name '*.nix' -print | sort)
if [ ${#files[@]} -lt 8 ]; then
	not_ok "found the .nix files" "only ${#files[@]}: ${files[*]}"
fi
for f in "${files[@]}"; do
	check "parse ${f#"$src"/}" nix-instantiate --parse "$f"
done

# --- pure evaluation ------------------------------------------------------------
check "metadata.nix evaluates" nix_eval "import $nixdir/metadata.nix"

# The limits of common/template-manifest.h: names [A-Za-z0-9._-] up to 64,
# versions [A-Za-z0-9.+~-] up to 32, revisions 1 .. 10^9.
if out=$(nix_eval "import $nixdir/metadata.nix" | python3 -c '
import json, re, sys
m = json.load(sys.stdin)
bad = []
for key, t in m["templates"].items():
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", t["name"]):
        bad.append(key + ": name " + t["name"])
    if not re.fullmatch(r"[A-Za-z0-9.+~-]{1,32}", t["version"]):
        bad.append(key + ": version " + t["version"])
    if not (isinstance(t["revision"], int) and 1 <= t["revision"] <= 10**9):
        bad.append(key + ": revision " + str(t["revision"]))
    if not (isinstance(t["memory"], int) and t["memory"] >= 128):
        bad.append(key + ": memory " + str(t["memory"]))
    if not (isinstance(t["vcpus"], int) and t["vcpus"] >= 1):
        bad.append(key + ": vcpus " + str(t["vcpus"]))
print("\n".join(bad))
sys.exit(1 if bad else 0)' 2>&1); then
	ok "template metadata within qvm-template's limits"
else
	not_ok "template metadata within qvm-template's limits" "$out"
fi

meson_version=$(sed -n "s/^  version : '\([^']*\)',\$/\1/p" "$src/meson.build" | head -n 1)
nix_version=$(nix_eval "(import $nixdir/metadata.nix).qmgrVersion" 2>&1 | tr -d '"')
if [ -n "$meson_version" ] && [ "$meson_version" = "$nix_version" ]; then
	ok "metadata.nix qmgrVersion = meson.build's version ($meson_version)"
else
	not_ok "metadata.nix qmgrVersion = meson.build's version" \
		"meson.build: '$meson_version', metadata.nix: '$nix_version'"
fi

# template.conf as make-template.nix renders it (with a stand-in for the
# store path of the system), then signed and verified by qvm-template.
render() { # TEMPLATE-KEY: template.conf text
	nix_eval "let m = import $nixdir/metadata.nix; in import $nixdir/template-conf.nix {
		meta = m.templates.$1;
		agentPort = m.agentPort;
		files = { kernel = \"bzImage\"; initramfs = \"initrd\"; root = \"root.erofs\"; };
		kernelCmdline = \"console=ttyS0 loglevel=4 init=/nix/store/00000000000000000000000000000000-nixos-system/init\";
		extra.kernel_version = \"6.12.0\";
	}" | python3 -c 'import json, sys; sys.stdout.write(json.load(sys.stdin))'
}
for t in minimal desktop; do
	dir=$T/$t
	mkdir -p "$dir"
	if ! render "$t" >"$dir/template.conf" 2>"$T/err"; then
		not_ok "template.conf of $t renders" "$(cat "$T/err")"
		continue
	fi
	if out=$(python3 - "$dir/template.conf" <<'PY' 2>&1
import configparser, sys
c = configparser.ConfigParser(interpolation=None)
c.optionxform = str
c.read(sys.argv[1])
need = ["name", "version", "revision", "kernel", "initramfs", "root",
        "root_format", "kernel_cmdline", "memory", "vcpus", "agent_port"]
t = c["Template"]
missing = [k for k in need if k not in t]
if missing:
    sys.exit("missing: " + " ".join(missing))
if t["root_format"] != "erofs" or t["agent_port"] != "org.qmgr.agent.0":
    sys.exit("root_format/agent_port: " + t["root_format"] + " " + t["agent_port"])
if "init=/nix/store/" not in t["kernel_cmdline"]:
    sys.exit("kernel_cmdline has no init=: " + t["kernel_cmdline"])
PY
	); then
		ok "template.conf of $t has every key qmgr reads"
	else
		not_ok "template.conf of $t has every key qmgr reads" "$out"
	fi
	if [ -z "$qt" ]; then
		continue
	fi
	printf 'kernel\n' >"$dir/bzImage"
	printf 'initrd\n' >"$dir/initrd"
	printf 'erofs\n' >"$dir/root.erofs"
	if [ ! -e "$T/keys/nixtest.key" ]; then
		mkdir -p "$T/keys"
		check "qvm-template keygen" "$qt" keygen nixtest --dir "$T/keys"
	fi
	check "qvm-template signs and verifies the $t template.conf" \
		sh -c '"$1" sign "$2" --key "$3/nixtest.key" &&
		       "$1" verify "$2" --keys-dir "$3"' sh "$qt" "$dir" "$T/keys"
done

# A value with a line break would start another key in the GKeyFile.
if nix_eval "import $nixdir/template-conf.nix {
	meta = (import $nixdir/metadata.nix).templates.minimal;
	agentPort = \"org.qmgr.agent.0\";
	files = { kernel = \"bzImage\"; initramfs = \"initrd\"; root = \"root.erofs\"; };
	kernelCmdline = \"quiet\nroot_format=raw\";
}" >"$T/out" 2>&1; then
	not_ok "template-conf.nix refuses a line break in a value" "$(cat "$T/out")"
elif grep -q "contains a line break" "$T/out"; then
	ok "template-conf.nix refuses a line break in a value"
else
	not_ok "template-conf.nix refuses a line break in a value" "$(cat "$T/out")"
fi

# flake.nix is a flake: description, inputs.nixpkgs, outputs { self, nixpkgs }.
check "flake.nix has the shape of a flake" nix_eval "
	let f = import $src/flake.nix; in
	assert builtins.isString f.description;
	assert builtins.isString f.inputs.nixpkgs.url;
	assert builtins.functionArgs f.outputs == { self = false; nixpkgs = false; };
	true"
for m in guest host-module minimal desktop; do
	check "$m.nix is a NixOS module (a function of the module arguments)" \
		nix_eval "let f = import $nixdir/$m.nix; in
			assert builtins.isFunction f;
			assert builtins.functionArgs f ? pkgs || builtins.functionArgs f ? lib;
			true"
done

# --- what package.nix assumes about the tree ------------------------------------
# postPatch rewrites this line (--replace-fail: the build stops if it is gone).
check "policy/meson.build has the install_dir package.nix replaces" \
	grep -qF "install_dir : sysconfdir / 'qmgr' / 'policy.d'" "$src/policy/meson.build"
# postInstall copies these from the build directory.
for spec in guest-agent:qmgr-agent guest-agent:qmgr-gui-agent \
	guest-agent:qmgr-rpc-client filecopy:qmgr-filecopy-send \
	filecopy:qmgr-filecopy-receive; do
	d=${spec%%:*} exe=${spec#*:}
	check "$d/meson.build builds $exe (package.nix copies $d/$exe)" \
		grep -qF "executable('$exe'" "$src/$d/meson.build"
done
for p in templates/minimal/rootfs/usr/bin/qvm-copy \
	templates/minimal/rootfs/usr/bin/qvm-open-in-dvm \
	templates/minimal/rootfs/usr/lib/qmgr/qmgr-open-send \
	templates/minimal/rootfs/usr/lib/qmgr/rpc/qmgr.OpenInVM; do
	check "$p exists (package.nix copies it)" test -e "$src/$p"
done
check "meson_options.txt has the options package.nix sets" sh -c \
	'grep -q "option(.templates." "$1" && grep -q "option(.tests." "$1" &&
	 grep -q "option(.rundir." "$1"' sh "$src/meson_options.txt"

echo "1..$n"
[ "$fails" -eq 0 ]
