#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# meson install script: `meson install` copies files whole, so the sparse
# root image (256 MiB, ~20 MiB used) and vmlinux would take their full size.
# Punch the zero runs back into holes.  $1: the template's install dir.
dir=$1
case "$dir" in
/*) dir=${MESON_INSTALL_DESTDIR_PREFIX%"$MESON_INSTALL_PREFIX"}$dir ;;
*) dir=$MESON_INSTALL_DESTDIR_PREFIX/$dir ;;
esac
for f in root.img vmlinux; do
	[ -f "$dir/$f" ] && fallocate --dig-holes "$dir/$f" 2>/dev/null
done
exit 0
