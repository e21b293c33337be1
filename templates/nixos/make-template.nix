# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A NixOS system (the result of nixpkgs.lib.nixosSystem with guest.nix) as
# a qmgr template directory (docs/templates.md):
#
#   bzImage        the system's kernel (config.boot.kernelPackages.kernel)
#   initrd         its stage-1 initrd
#   root.erofs     an erofs image of the system's closure, the contents of
#                  /nix/store (guest.nix mounts it there read-only)
#   template.conf  [Template] name, version, revision, kernel_version,
#                  kernel, initramfs, root, root_format=erofs,
#                  kernel_cmdline (with init=<system>/init), memory, vcpus,
#                  agent_port
#
# All regular files, as `qvm-template sign` and `install` require (a
# symlink is refused).  Unsigned: MANIFEST and MANIFEST.sig are made
# outside Nix, on a copy, by `qvm-template sign` (a secret key must not
# enter the world-readable store).
#
# The kernel is the bzImage, not an uncompressed vmlinux booted through
# its PVH note as the Debian template does: whether nixpkgs' kernel build
# keeps a PVH-capable vmlinux is unverified here (docs/templates.md).
{
  lib,
  stdenvNoCC,
  closureInfo,
  erofs-utils,
  nixos,
  # one entry of metadata.nix's `templates`
  info,
  agentPort,
}:
let
  inherit (nixos) config;
  toplevel = config.system.build.toplevel;
  kernel = config.boot.kernelPackages.kernel;
  kernelImage = "${kernel}/${config.system.boot.loader.kernelFile}";
  initrd = "${config.system.build.initialRamdisk}/${config.system.boot.loader.initrdFile}";
  closure = closureInfo { rootPaths = [ toplevel ]; };
  # Stage 1 mounts / (tmpfs) and /nix/store (the erofs on vda), then runs
  # the stage-2 init named by init=.  qmgrd appends qmgr.name= and the
  # network to this line.
  kernelCmdline = lib.concatStringsSep " "
    (config.boot.kernelParams ++ [ "init=${toplevel}/init" ]);
  templateConf = import ./template-conf.nix {
    inherit agentPort kernelCmdline;
    meta = info;
    files = {
      kernel = "bzImage";
      initramfs = "initrd";
      root = "root.erofs";
    };
    extra.kernel_version = kernel.modDirVersion;
  };
in
stdenvNoCC.mkDerivation {
  name = "qmgr-template-${info.name}-${info.version}-${toString info.revision}";
  nativeBuildInputs = [ erofs-utils ];
  inherit templateConf;
  passAsFile = [ "templateConf" ];

  # The store paths are copied into one tree, as microvm.nix does for its
  # erofs store disks, and packed from there (the copy keeps the store's
  # read-only modes, which is what the image should say; it goes away
  # with the build directory).  Fixed timestamps (-T 0), a
  # fixed UUID and root ownership make the image reproducible.  LZ4HC
  # compression roughly halves it; the kernel decompresses LZ4 cheaply
  # even under TCG.
  buildCommand = ''
    mkdir -p store "$out"
    while read -r path; do
      cp -a "$path" store/
    done <${closure}/store-paths
    mkfs.erofs -zlz4hc -T 0 -U 6d1c4f0e-3b8a-4e55-9f4e-0a7c2b5d9e11 \
      --all-root -L nix-store "$out/root.erofs" store

    cp ${kernelImage} "$out/bzImage"
    cp ${initrd} "$out/initrd"
    cp "$templateConfPath" "$out/template.conf"
    chmod 0444 "$out"/*
  '';

  passthru = {
    inherit toplevel templateConf;
    nixosSystem = nixos;
  };

  meta = {
    description = "qmgr template ${info.name}: NixOS kernel, initrd and erofs store";
    platforms = [ "x86_64-linux" ];
  };
}
