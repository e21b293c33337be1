#!/usr/bin/env bash
# Installs the Debian 12 packages qmgr builds, tests and runs with.
# Sourced or run by scripts/setup.sh and scripts/test.sh; idempotent.
set -euo pipefail

QMGR_BUILD_PACKAGES=(
	meson ninja-build gcc pkg-config python3
	libglib2.0-dev libvirt-dev libxml2-dev libsodium-dev
	libnftnl-dev libmnl-dev
	# the GUI: guest compositor, host proxy (docs/gui.md)
	libwayland-dev wayland-protocols libxkbcommon-dev
	# qmgr-tray writes the menu's label-colour PNGs with zlib
	zlib1g-dev
	scdoc
	# the minimal template is built from Debian packages with these
	apt e2fsprogs xz-utils gzip binutils
	# the opt-in desktop template (-Ddesktop_template=true)
	debootstrap
)
QMGR_RUN_PACKAGES=(
	libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils
	libxml2-utils
)
QMGR_TEST_PACKAGES=(
	# nft lists the ruleset qmgrd loads; ip makes test namespaces
	nftables iproute2 dnsmasq-base
	# bench/net measures forwarding through the table with it
	iperf3
	# the GUI tests: a headless compositor, screenshots, typed keys, real apps
	sway grim wtype foot weston
	# the tray test and the notices of dropped guests: a session bus, a
	# panel with a tray, a notification server, and D-Bus calls from the
	# shell (gdbus; busctl, which makoctl runs, is systemd's)
	dbus-daemon waybar mako-notifier libglib2.0-bin systemd
	clang-14 libclang-rt-14-dev libfuzzer-14-dev
	nix-bin # tests/nix: nix-instantiate parses and evaluates the Nix files
)

qmgr_install_packages() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		return 0
	fi
	echo "qmgr: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	qmgr_install_packages "${QMGR_BUILD_PACKAGES[@]}" \
		"${QMGR_RUN_PACKAGES[@]}" "${QMGR_TEST_PACKAGES[@]}"
fi
