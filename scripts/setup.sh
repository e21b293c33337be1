#!/usr/bin/env bash
# The first set-up command (README): on a fresh Debian 12 machine, as root,
# installs what qmgr needs, builds and installs it, and runs the main job
# end to end with what exists today.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
qmgr_install_packages "${QMGR_BUILD_PACKAGES[@]}" "${QMGR_RUN_PACKAGES[@]}"

if [ ! -f build/build.ninja ]; then
	meson setup build --prefix=/usr/local --sysconfdir=/etc \
		--localstatedir=/var --buildtype=debugoptimized -Dtests=false
fi
ninja -C build
meson install -C build --quiet

echo "== qmgr: the shipped policy is valid"
qvm-policy check
echo "== qmgr: deciding calls against it and an example policy"
demo=$(mktemp -d)
trap 'rm -rf "$demo"' EXIT
cp /etc/qmgr/policy.d/*.policy "$demo/"
cat >"$demo/30-user.policy" <<'POL'
qmgr.Filecopy  *  @tag:work  @anyvm   ask default_target=personal
qmgr.OpenURL   *  @anyvm     @dispvm  allow
POL
cat >"$demo/vms" <<'VMS'
[work]
tags=work
default_dispvm=default-dvm
[personal]
default_dispvm=default-dvm
[default-dvm]
template_for_dispvms=true
VMS
printf '%s\n' "qmgr.Filecopy work personal" "qmgr.OpenURL work @dispvm" \
	"qmgr.VMShell personal work" |
	while read -r q; do
		printf '%-32s -> %s\n' "$q" \
			"$(qvm-policy eval --policy-dir "$demo" --vms "$demo/vms" $q)"
	done
echo "== qmgr: starting libvirt and qmgrd"
bash scripts/libvirt-up.sh
getent group qmgr >/dev/null || groupadd --system qmgr
if ! qvm-ls >/dev/null 2>&1; then
	mkdir -p /var/log/qmgr
	nohup qmgrd >>/var/log/qmgr/qmgrd.log 2>&1 &
	for _ in $(seq 100); do qvm-ls >/dev/null 2>&1 && break; sleep 0.1; done
fi
# On first start qmgrd imports the installed template as 'minimal'.
for _ in $(seq 300); do qvm-ls --raw-list | grep -qx default-dvm && break; sleep 0.2; done

echo "== qmgr: a compartment, end to end"
qvm-ls --raw-list | grep -qx work || qvm-create --label blue work
qvm-ls
qvm-start --skip-if-running work
qvm-ls --running
echo "== qmgr: a command in it"
qvm-run -p work 'echo "hello from $(hostname): $(uname -sr)"'
echo "== qmgr: a command in a disposable (made, used once, destroyed)"
qvm-run -p --dispvm 'echo "hello from disposable $(hostname)"'
qvm-shutdown --wait work
qvm-ls
echo "== qmgr: set up. qmgrd runs (log: /var/log/qmgr/qmgrd.log)."
