# SPDX-License-Identifier: LGPL-2.1-or-later
#
# qmgr built with meson, for NixOS hosts and guests (flake output
# packages.x86_64-linux.qmgr).  Call it with pkgs.callPackage; `src` is the
# repository (the flake passes `self`).
#
# Two outputs:
#   out    the host side, as `meson install` puts it: qmgrd, the qvm-*
#          tools, gui-proxy, man pages, the shipped policy (in
#          share/qmgr/policy.d, see postPatch), the file copy's ends in
#          libexec/qmgr;
#   guest  what a NixOS guest needs, laid out like /usr of the Debian-built
#          template: bin/ (qmgr-agent, qmgr-gui-agent, qmgr-rpc-client,
#          qvm-copy and friends) and lib/qmgr/ (the file copy's sender and
#          the RPC services the template ships).  meson does not install
#          these (install : false, they never run on a host), so postInstall
#          copies them from the build directory.  A guest's closure holds
#          only this output and its libraries, not libvirt.
{
  lib,
  stdenv,
  meson,
  ninja,
  pkg-config,
  scdoc,
  python3,
  wayland-scanner,
  glib,
  libvirt,
  libxml2,
  libsodium,
  libnftnl,
  libmnl,
  wayland,
  wayland-protocols,
  libxkbcommon,
  src,
}:

stdenv.mkDerivation {
  pname = "qmgr";
  version = (import ./metadata.nix).qmgrVersion;
  inherit src;

  outputs = [ "out" "guest" ];

  strictDeps = true;
  # wayland-scanner is looked up with dependency(..., native : true): a tool
  # run at build time, so it belongs with the build machine's pkg-config
  # (as nixpkgs' Wayland compositors do it).
  depsBuildBuild = [ pkg-config ];
  nativeBuildInputs = [
    meson
    ninja
    pkg-config
    scdoc
    # bench/ and docs/ look up scripts whose interpreter meson resolves
    python3
    wayland-scanner
  ];
  buildInputs = [
    glib
    libvirt
    libxml2
    libsodium
    libnftnl
    libmnl
    wayland
    wayland-protocols
    libxkbcommon
  ];

  mesonFlags = [
    # The Debian template builder fetches .debs with apt: not for Nix.
    # NixOS templates are the flake's template-* outputs.
    "-Dtemplates=false"
    "-Dtests=false"
    # qmgrd and the tools compile these paths in (config.h): they must be
    # the system's, not the store's.
    "--sysconfdir=/etc"
    "--localstatedir=/var"
    "-Drundir=/run"
    # meson.build sets werror=true for development on Debian 12's gcc 12.
    # nixpkgs' compiler is newer (new warnings) and its hardening wrapper
    # already defines _FORTIFY_SOURCE, which meson.build defines again: a
    # "redefined" warning.  A distribution build must not fail on either.
    "-Dwerror=false"
  ];

  # The shipped policy would be installed into sysconfdir, i.e. /etc,
  # which a Nix build cannot write; install it as data instead.  The host
  # module (host-module.nix) links it into /etc/qmgr/policy.d.
  # tests/nix checks that this line still exists in policy/meson.build.
  postPatch = ''
    substituteInPlace policy/meson.build \
      --replace-fail "install_dir : sysconfdir / 'qmgr' / 'policy.d'" \
                     "install_dir : get_option('datadir') / 'qmgr' / 'policy.d'"
  '';

  # Runs in meson's build directory.
  postInstall = ''
    # qmgrd is installed to sbindir; keep every program in bin/ so that
    # the module's ExecStart does not depend on nixpkgs' sbindir choice.
    if [ -d "$out/sbin" ]; then
      mv "$out"/sbin/* "$out/bin/"
      rmdir "$out/sbin"
    fi

    install -D -m 0755 guest-agent/qmgr-agent "$guest/bin/qmgr-agent"
    install -D -m 0755 guest-agent/qmgr-gui-agent "$guest/bin/qmgr-gui-agent"
    install -D -m 0755 guest-agent/qmgr-rpc-client "$guest/bin/qmgr-rpc-client"
    install -D -m 0755 filecopy/qmgr-filecopy-send \
      "$guest/lib/qmgr/qmgr-filecopy-send"
    install -D -m 0755 filecopy/qmgr-filecopy-receive \
      "$guest/lib/qmgr/rpc/qmgr.Filecopy"
    # The guest's scripts, as the Debian template ships them (qvm-copy,
    # qvm-open-in-dvm, the qmgr.OpenInVM/OpenURL services).  Not
    # gui-session: it is busybox init's; NixOS guests use systemd units.
    cp -a "$src/templates/minimal/rootfs/usr/bin/." "$guest/bin/"
    cp -a "$src/templates/minimal/rootfs/usr/lib/qmgr/qmgr-open-send" \
      "$guest/lib/qmgr/"
    cp -a "$src/templates/minimal/rootfs/usr/lib/qmgr/rpc/." \
      "$guest/lib/qmgr/rpc/"
    chmod -R u+w "$guest"
  '';

  meta = {
    description = "Qubes-style compartments on KVM, libvirt and QEMU";
    license = lib.licenses.lgpl21Plus;
    platforms = lib.platforms.linux;
    mainProgram = "qvm-ls";
  };
}
