#!/usr/bin/env bash
# Starts virtlogd and libvirtd when they are not running (these machines
# have no systemd), and gives /dev/kvm the group and mode udev would: with
# root:root 0600, libvirt re-probes QEMU on every lookup and each domain
# start takes over a minute.  Idempotent; waits until libvirtd answers.
set -euo pipefail

if [ -c /dev/kvm ] && getent group kvm >/dev/null &&
	[ "$(stat -c %G:%a /dev/kvm)" != kvm:660 ]; then
	chgrp kvm /dev/kvm
	chmod 0660 /dev/kvm
fi
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
running /run/virtlogd.pid || virtlogd -d
running /run/libvirtd.pid || libvirtd -d
for _ in $(seq 200); do
	virsh -q -c qemu:///system version >/dev/null 2>&1 && exit 0
	sleep 0.1
done
echo "libvirt-up: libvirtd does not answer on qemu:///system" >&2
exit 1
