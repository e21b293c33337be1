#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds the "minimal" qmgr template from Debian packages:
#   OUTDIR/vmlinuz            Debian's linux-image-amd64 kernel (bzImage)
#   OUTDIR/vmlinux            the same kernel uncompressed, for PVH boot
#   OUTDIR/initramfs.cpio.gz  busybox + the virtio/ext4 modules; mounts the
#                             root disk and switch_roots into it
#   OUTDIR/root.img           raw ext4 image (made without mounting): busybox,
#                             init scripts, qmgr-agent with its libraries,
#                             mke2fs for the private volume
#   OUTDIR/template.conf      GKeyFile describing the above
#
# Packages are fetched with `apt-get download` into CACHEDIR (or taken from
# /var/cache/apt/archives) and unpacked with dpkg-deb: nothing is installed
# on the host.  Run by meson (templates/minimal/out/meson.build).
set -euo pipefail

usage() {
	echo "usage: $0 --srcdir DIR --outdir DIR --workdir DIR --cachedir DIR" \
		"--agent FILE --version VERSION [--name NAME] [--revision N]" \
		"[--install FILE:DEST]... [--data PATH]..." \
		"[--sign KEY --signer QVM_TEMPLATE]" \
		"[--debootstrap PKG,PKG... --root-size MIB --memory MIB" \
		"--vcpus N]" >&2
	exit 2
}

srcdir= outdir= workdir= cachedir= agent= version= name=minimal revision=1
sign_key= signer= debootstrap_pkgs= root_size= memory= vcpus=
installs=() datas=()
while [ $# -gt 0 ]; do
	case "$1" in
	--srcdir) srcdir=$2 ;;
	--outdir) outdir=$2 ;;
	--workdir) workdir=$2 ;;
	--cachedir) cachedir=$2 ;;
	--agent) agent=$2 ;;
	--version) version=$2 ;;
	--install) installs+=("$2") ;;
	# a file or directory of the host copied as it is (fonts, ...)
	--data) datas+=("$2") ;;
	--name) name=$2 ;;
	--revision) revision=$2 ;;
	# signs the outputs (MANIFEST, MANIFEST.sig) with qvm-template
	--sign) sign_key=$2 ;;
	--signer) signer=$2 ;;
	# a Debian system (debootstrap minbase with these packages) as the
	# root's base, for templates with real apps (templates/debian)
	--debootstrap) debootstrap_pkgs=$2 ;;
	--root-size) root_size=$2 ;;
	--memory) memory=$2 ;;
	--vcpus) vcpus=$2 ;;
	*) usage ;;
	esac
	shift 2 || usage
done
[ -n "$srcdir" ] && [ -n "$outdir" ] && [ -n "$workdir" ] &&
	[ -n "$cachedir" ] && [ -n "$agent" ] && [ -n "$version" ] || usage

# Size of the (sparse) root image.  A TemplateVM's root is writable, so
# leave room beyond the ~15 MiB the files take.
ROOT_SIZE_MIB=${root_size:-${QMGR_TEMPLATE_ROOT_MIB:-256}}
MEMORY_MIB=${memory:-256}
VCPUS=${vcpus:-1}
PORT_NAME=org.qmgr.agent.0
KERNEL_CMDLINE="console=ttyS0 root=/dev/vda rw quiet"

log() { echo "build-template: $*" >&2; }
die() { echo "build-template: error: $*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg-deb mkfs.ext4 ldd gzip xz readelf; do
	command -v "$tool" >/dev/null ||
		die "$tool not found (scripts/deps.sh installs what the build needs)"
done

srcdir=$(realpath "$srcdir")
mkdir -p "$outdir" "$workdir" "$cachedir"
outdir=$(realpath "$outdir")
workdir=$(realpath "$workdir")
cachedir=$(realpath "$cachedir")
agent=$(realpath "$agent")

# --- packages --------------------------------------------------------------

# linux-image-amd64 is a metapackage: the kernel is the versioned package it
# depends on (linux-image-6.1.0-NN-amd64).
kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1)
[ -n "$kernel_pkg" ] ||
	die "cannot resolve linux-image-amd64 (apt-get update needed?)"
kernel_release=${kernel_pkg#linux-image-}

# Prints the path of PKG's candidate .deb, downloading it if needed.
fetch_deb() {
	local pkg=$1 ver file
	ver=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
	[ -n "$ver" ] && [ "$ver" != "(none)" ] ||
		die "package $pkg has no installation candidate"
	# apt's file names encode the epoch colon as %3a.
	file="${pkg}_${ver//:/%3a}_amd64.deb"
	if [ -f "/var/cache/apt/archives/$file" ]; then
		echo "/var/cache/apt/archives/$file"
		return
	fi
	if [ ! -f "$cachedir/$file" ]; then
		log "downloading $pkg $ver"
		(cd "$cachedir" && apt-get download -q \
			-o APT::Sandbox::User=root "$pkg=$ver" >&2) ||
			die "apt-get download $pkg failed"
	fi
	[ -f "$cachedir/$file" ] || die "apt-get download gave no $file"
	echo "$cachedir/$file"
}

kernel_deb=$(fetch_deb "$kernel_pkg")
busybox_deb=$(fetch_deb busybox-static)

# --- kernel and modules ----------------------------------------------------

# Unpacking the kernel package takes ~10 s and 400 MB: keep only what the
# template uses, and redo it only when the package or the module list
# changes.
kdir=$workdir/kernel
mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' \
	"$srcdir/modules.list")
kstamp="$(basename "$kernel_deb") ${wanted[*]}"
if [ "$(cat "$kdir/.stamp" 2>/dev/null)" != "$kstamp" ]; then
	log "unpacking $(basename "$kernel_deb")"
	rm -rf "$kdir" "$workdir/kernel-deb"
	mkdir -p "$kdir/modules" "$workdir/kernel-deb"
	dpkg-deb -x "$kernel_deb" "$workdir/kernel-deb"
	kroot=$workdir/kernel-deb
	cp "$kroot/boot/vmlinuz-$kernel_release" "$kdir/vmlinuz"
	moddir=$kroot/lib/modules/$kernel_release/kernel

	declare -A modpath=() placed=()
	while IFS= read -r -d '' f; do
		m=$(basename "$f" .ko)
		modpath[${m//-/_}]=$f
	done < <(find "$moddir" -name '*.ko' -print0)

	# The .modinfo section is NUL-separated key=value strings; its
	# depends= is what depmod would put in modules.dep.
	modinfo_depends() {
		tr '\0' '\n' <"$1" | sed -n 's/^depends=//p' | tr ',' ' '
	}
	order=()
	place() {
		local m=${1//-/_} d
		[ -n "${placed[$m]:-}" ] && return
		[ -n "${modpath[$m]:-}" ] ||
			die "module $m not found in $kernel_pkg (built in?)"
		placed[$m]=1
		for d in $(modinfo_depends "${modpath[$m]}"); do
			place "$d"
		done
		order+=("$m")
		cp "${modpath[$m]}" "$kdir/modules/$m.ko"
	}
	for m in "${wanted[@]}"; do
		place "$m"
	done
	printf '%s\n' "${order[@]}" >"$kdir/modules/load-order"
	rm -rf "$workdir/kernel-deb"
	echo "$kstamp" >"$kdir/.stamp"
fi
log "kernel $kernel_release, modules: $(tr '\n' ' ' <"$kdir/modules/load-order")"

bbdir=$workdir/busybox
rm -rf "$bbdir"
dpkg-deb -x "$busybox_deb" "$bbdir"
busybox=$bbdir/bin/busybox
[ -x "$busybox" ] || die "no bin/busybox in $(basename "$busybox_deb")"

# Writes the ELF kernel inside a bzImage (like the kernel's
# scripts/extract-vmlinux; Debian compresses it with xz) and checks that
# it has a PVH entry point (Xen ELF note 18, XEN_ELFNOTE_PHYS32_ENTRY).
extract_vmlinux() {
	local bz=$1 out=$2 off
	off=$(LC_ALL=C grep -abo $'\xfd7zXZ' "$bz" | head -n1 | cut -d: -f1)
	[ -n "$off" ] || die "$bz: no xz-compressed payload found"
	# xz stops with an error at the bzImage's trailer; the ELF is whole.
	tail -c +$((off + 1)) "$bz" | xz -dc >"$out" 2>/dev/null || true
	[ "$(head -c 4 "$out" | od -An -c | tr -d ' ')" = 177ELF ] ||
		die "$bz: payload is not an ELF file"
	if ! readelf -n "$out" 2>/dev/null | grep -q 'Unknown note type: (0x00000012)'; then
		die "$bz: kernel has no PVH entry point (CONFIG_PVH)"
	fi
}

# --- initramfs -------------------------------------------------------------

initrd=$workdir/initramfs
rm -rf "$initrd"
mkdir -p "$initrd"/{bin,dev,proc,sys,newroot,lib/modules}
cp "$busybox" "$initrd/bin/busybox"
ln -s busybox "$initrd/bin/sh"
cp "$kdir"/modules/* "$initrd/lib/modules/"
install -m 0755 "$srcdir/initramfs-init" "$initrd/init"
# The kernel needs /dev/console to give /init its stdio before devtmpfs is
# mounted (only root can make the node; the kernel's built-in initramfs
# has one too).
if [ "$(id -u)" = 0 ]; then
	mknod -m 600 "$initrd/dev/console" c 5 1
fi
(cd "$initrd" && find . -print0 | LC_ALL=C sort -z |
	"$busybox" cpio -o -H newc -0 2>/dev/null) |
	gzip -9 -n >"$outdir/initramfs.cpio.gz.tmp"
mv "$outdir/initramfs.cpio.gz.tmp" "$outdir/initramfs.cpio.gz"

# --- root file system ------------------------------------------------------

root=$workdir/root
rm -rf "$root"
if [ -n "$debootstrap_pkgs" ]; then
	# Debian's own system, made once per package list (it takes minutes)
	# and copied for each build; busybox below only fills in what it
	# lacks (init, usleep, ...), and the overlay gives it qmgr's init.
	command -v debootstrap >/dev/null ||
		die "debootstrap not found (scripts/deps.sh installs it)"
	base=$workdir/debootstrap
	suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
	if [ "$(cat "$base.stamp" 2>/dev/null)" != "$suite $debootstrap_pkgs" ]; then
		log "debootstrap $suite with $debootstrap_pkgs (minutes)"
		rm -rf "$base"
		debootstrap --variant=minbase --include="$debootstrap_pkgs" \
			"$suite" "$base" http://deb.debian.org/debian >&2 ||
			die "debootstrap failed"
		rm -f "$base"/var/cache/apt/archives/*.deb
		echo "$suite $debootstrap_pkgs" >"$base.stamp"
	fi
	cp -a "$base" "$root"
	mkdir -p "$root"/{rw,home}
else
	# Merged /usr, like Debian 12, so ldd's paths work as they are.
	mkdir -p "$root"/usr/{bin,sbin,lib,lib64} \
		"$root"/{dev,proc,sys,run,tmp,rw,home,root,mnt,var}
	for d in bin sbin lib lib64; do
		ln -s "usr/$d" "$root/$d"
	done
	ln -s ../run "$root/var/run"
	ln -s ../tmp "$root/var/tmp"
	chmod 1777 "$root/tmp"
	chmod 0700 "$root/root"
fi

cp "$busybox" "$root/usr/bin/busybox"
for applet in $("$busybox" --list-full); do
	# --list-full gives e.g. "sbin/init", "usr/bin/awk".
	dest=$root/${applet#/}
	case "$dest" in
	"$root"/bin/*) dest=$root/usr/bin/${applet##*/} ;;
	"$root"/sbin/*) dest=$root/usr/sbin/${applet##*/} ;;
	esac
	[ -e "$dest" ] || [ -L "$dest" ] || ln -sr "$root/usr/bin/busybox" "$dest"
done

cp -a "$srcdir/rootfs/." "$root/"
chmod 0755 "$root/etc/init.d/rcS" "$root/etc/init.d/rcK"

# Copies an executable and the shared libraries (and loader) ldd names.
copy_with_libs() {
	local src=$1 dest=$2 lib
	install -D -m 0755 "$src" "$root$dest"
	for lib in $(ldd "$src" | awk '
		$2 == "=>" && $3 ~ /^\// { print $3 }
		$1 ~ /^\// { print $1 }'); do
		[ -e "$root$lib" ] && continue
		install -D -m 0755 "$(realpath "$lib")" "$root$lib"
	done
}

copy_with_libs "$agent" /usr/bin/qmgr-agent
strip --strip-unneeded "$root/usr/bin/qmgr-agent" 2>/dev/null || true
# The other guest programs (qmgr-rpc-client, the file copy's ends, ...).
for spec in "${installs[@]}"; do
	src=${spec%%:*} dest=${spec#*:}
	[ -n "$src" ] && [ "$dest" != "$spec" ] ||
		die "--install $spec: expected FILE:DEST"
	copy_with_libs "$(realpath "$src")" "$dest"
	strip --strip-unneeded "$root$dest" 2>/dev/null || true
done
for path in "${datas[@]}"; do
	[ -e "$path" ] || die "--data $path: no such file or directory"
	mkdir -p "$root$(dirname "$path")"
	cp -a "$path" "$root$(dirname "$path")/"
done
# Busybox's mke2fs only makes ext2; the private volume is ext4, made by
# the guest on first boot (e2fsprogs from the host, same Debian release).
mke2fs=$(command -v mke2fs)
copy_with_libs "$mke2fs" /usr/sbin/mke2fs
ln -sf mke2fs "$root/usr/sbin/mkfs.ext4"
cp /etc/mke2fs.conf "$root/etc/mke2fs.conf"

cat >"$root/etc/qmgr-template" <<INFO
name=$name
version=$version
kernel=$kernel_release
INFO

# ext4 made from the directory, no mount needed.  Sparse; the files
# themselves take a few MiB.
rm -f "$outdir/root.img.tmp"
truncate -s "${ROOT_SIZE_MIB}M" "$outdir/root.img.tmp"
mkfs.ext4 -q -F -L qmgr-root -m 0 -E root_owner=0:0 -d "$root" \
	"$outdir/root.img.tmp"
mv "$outdir/root.img.tmp" "$outdir/root.img"

cp "$kdir/vmlinuz" "$outdir/vmlinuz.tmp"
mv "$outdir/vmlinuz.tmp" "$outdir/vmlinuz"
# The uncompressed ELF kernel, booted through its PVH entry point: QEMU
# loads it straight into guest memory, so the guest skips the bzImage's
# real-mode set-up and decompression.  Under TCG that is more than 4 s of
# a ~10 s boot.  Sparse: much of it is zero padding.
if [ ! -f "$kdir/vmlinux" ] || [ "$kdir/vmlinux" -ot "$kdir/vmlinuz" ]; then
	extract_vmlinux "$kdir/vmlinuz" "$kdir/vmlinux.tmp"
	mv "$kdir/vmlinux.tmp" "$kdir/vmlinux"
fi
cp --sparse=always "$kdir/vmlinux" "$outdir/vmlinux.tmp"
mv "$outdir/vmlinux.tmp" "$outdir/vmlinux"

cat >"$outdir/template.conf.tmp" <<CONF
# Written by templates/minimal/build-template.sh
[Template]
name=$name
version=$version
revision=$revision
kernel_version=$kernel_release
# Uncompressed ELF with a PVH entry point: boots faster (QEMU -kernel loads
# it directly); kernel_bzimage is the same kernel as Debian ships it.
kernel=vmlinux
kernel_bzimage=vmlinuz
initramfs=initramfs.cpio.gz
root=root.img
root_format=raw
kernel_cmdline=$KERNEL_CMDLINE
memory=$MEMORY_MIB
vcpus=$VCPUS
agent_port=$PORT_NAME
CONF
mv "$outdir/template.conf.tmp" "$outdir/template.conf"

# The signature covers every file of the directory (docs/templates.md).
if [ -n "$sign_key" ]; then
	[ -n "$signer" ] || die "--sign needs --signer (qvm-template)"
	"$signer" sign "$outdir" --key "$sign_key" >&2 ||
		die "cannot sign the template"
else
	rm -f "$outdir/MANIFEST" "$outdir/MANIFEST.sig"
fi

log "done: $(du -h --apparent-size "$outdir/vmlinuz" | cut -f1) bzImage," \
	"$(du -h --apparent-size "$outdir/vmlinux" | cut -f1) vmlinux ($(du -h "$outdir/vmlinux" | cut -f1) allocated)," \
	"$(du -h "$outdir/initramfs.cpio.gz" | cut -f1) initramfs," \
	"root $(du -sh "$root" | cut -f1) of files in a" \
	"${ROOT_SIZE_MIB} MiB image ($(du -h "$outdir/root.img" | cut -f1) allocated)"
