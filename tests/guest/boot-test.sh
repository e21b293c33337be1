#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Boots the minimal template as a transient libvirt domain (QEMU TCG, q35,
# direct kernel boot, like qmgrd will) and checks that qmgr-agent says
# HELLO on its virtio-serial port within 60 s, then that SHUTDOWN powers
# the guest off within 30 s.  Prints the time from `virsh create` to HELLO.
#
#   boot-test.sh TEMPLATE_DIR AGENT_CLIENT
#
# Needs root and libvirt/QEMU (installed with apt-get if missing); starts
# virtlogd and libvirtd if they are not running (there is no systemd here)
# and leaves them running.  Exit 77 (skip) when not root.
set -euo pipefail

template=${1:?usage: boot-test.sh TEMPLATE_DIR AGENT_CLIENT}
client=${2:?usage: boot-test.sh TEMPLATE_DIR AGENT_CLIENT}
uri=qemu:///system
HELLO_TIMEOUT=60
SHUTDOWN_TIMEOUT=30

log() { echo "boot-test: $*"; }
fail() { echo "boot-test: FAIL: $*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
	log "SKIP: needs root (libvirt's system instance)"
	exit 77
fi
for f in vmlinux vmlinuz initramfs.cpio.gz root.img template.conf; do
	[ -f "$template/$f" ] || fail "$template/$f missing (build with -Dtemplates=true)"
done
template=$(realpath "$template")

# --- libvirt ---------------------------------------------------------------

need=()
command -v virsh >/dev/null || need+=(libvirt-clients)
command -v libvirtd >/dev/null || need+=(libvirt-daemon-system)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null || need+=(qemu-utils)
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Without udev, /dev/kvm stays root:root 0600.  libvirt then probes QEMU
# with KVM (as root) but later finds KVM unusable for libvirt-qemu, calls
# its cached capabilities stale and probes again on every lookup: ~80 s per
# `virsh create`.  Give it udev's usual root:kvm 0660.
if [ -c /dev/kvm ] && getent group kvm >/dev/null &&
	[ "$(stat -c %G:%a /dev/kvm)" != kvm:660 ]; then
	log "/dev/kvm: setting root:kvm 0660, as udev would"
	chgrp kvm /dev/kvm
	chmod 0660 /dev/kvm
fi

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
running /run/virtlogd.pid || { log "starting virtlogd"; virtlogd -d; }
running /run/libvirtd.pid || { log "starting libvirtd"; libvirtd -d; }
for _ in $(seq 100); do
	virsh -q -c "$uri" version >/dev/null 2>&1 && break
	sleep 0.1
done
virsh -q -c "$uri" version >/dev/null || fail "libvirtd does not answer on $uri"

# --- the domain ------------------------------------------------------------

name=qmgr-boottest-$$
tmp=$(mktemp -d /tmp/qmgr-boottest.XXXXXX)
# QEMU runs as libvirt-qemu: it must reach the files libvirt hands it.
chmod 0755 "$tmp"
cleanup() {
	if virsh -q -c "$uri" domstate "$name" >/dev/null 2>&1; then
		virsh -q -c "$uri" destroy "$name" >/dev/null 2>&1 || true
	fi
	if [ "${keep:-0}" = 1 ] || [ -n "${QMGR_KEEP_TMP:-}" ]; then
		log "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

conf() { sed -n "s/^$1=//p" "$template/template.conf"; }
cmdline=$(conf kernel_cmdline)
kernel=${QMGR_BOOTTEST_KERNEL:-$(conf kernel)}
initrd=$(conf initramfs)
root_img=$(conf root)
memory=$(conf memory)
vcpus=$(conf vcpus)
port=$(conf agent_port)
qemu-img create -q -f qcow2 -b "$template/$root_img" -F raw "$tmp/root.qcow2"
qemu-img create -q -f qcow2 "$tmp/private.qcow2" 64M

cat >"$tmp/domain.xml" <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>$memory</memory>
  <vcpu>$vcpus</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$template/$kernel</kernel>
    <initrd>$template/$initrd</initrd>
    <cmdline>$cmdline qmgr.name=boottest${QMGR_BOOTTEST_CMDLINE:+ $QMGR_BOOTTEST_CMDLINE}</cmdline>
  </os>
  <features><acpi/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' discard='unmap'/>
      <source file='$tmp/root.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' discard='unmap'/>
      <source file='$tmp/private.qcow2'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <controller type='usb' model='none'/>
    <controller type='virtio-serial' index='0'/>
    <channel type='unix'>
      <source mode='bind' path='$tmp/agent.sock'/>
      <target type='virtio' name='$port'/>
    </channel>
    <serial type='file'>
      <source path='$tmp/console.log'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
XML

show_console() {
	echo "---- guest console ($tmp/console.log) ----" >&2
	tail -n 40 "$tmp/console.log" >&2 2>/dev/null || true
	echo "----" >&2
}

start_us=$(($(date +%s%N) / 1000))
virsh -q -c "$uri" create "$tmp/domain.xml" >/dev/null ||
	fail "virsh create failed"
created_us=$(($(date +%s%N) / 1000))
log "domain $name created in $(((created_us - start_us) / 1000)) ms"

if ! out=$("$client" --socket "$tmp/agent.sock" --since-us "$start_us" \
		--hello-timeout "$HELLO_TIMEOUT" --shutdown \
		--eof-timeout "$SHUTDOWN_TIMEOUT"); then
	echo "$out"
	show_console
	keep=1
	fail "the agent did not say HELLO, or did not power off on SHUTDOWN"
fi
echo "$out" | sed 's/^/boot-test: agent: /'
hello_ms=$(echo "$out" | sed -n 's/^hello .* ms=\([0-9]*\)$/\1/p')

# The channel closes when QEMU exits; libvirt then drops the transient
# domain.
for _ in $(seq $((SHUTDOWN_TIMEOUT * 10))); do
	virsh -q -c "$uri" domstate "$name" >/dev/null 2>&1 || break
	sleep 0.1
done
if virsh -q -c "$uri" domstate "$name" >/dev/null 2>&1; then
	show_console
	keep=1
	fail "domain $name still exists after SHUTDOWN"
fi

guest_hello=$(sed -n 's/.*HELLO sent.*uptime \([0-9.]*\) s.*/\1/p' \
	"$tmp/console.log" | head -n1)
grep -q 'formatting the blank private volume' "$tmp/console.log" ||
	{ show_console; fail "the guest did not format its private volume"; }
log "PASS: virsh create -> HELLO ${hello_ms} ms wall (guest uptime at HELLO: ${guest_hello:-?} s)"
