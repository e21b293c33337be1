# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The `nixos-desktop` template (flake output packages.x86_64-linux.template-
# desktop): the minimal template plus foot, Firefox and fonts, so that
# `qvm-run --dispvm=<dvm on it> firefox` opens Firefox through gui-proxy.
# Apps reach qmgr-gui-agent, the qube's compositor, through the
# XDG_RUNTIME_DIR and WAYLAND_DISPLAY that qmgr-agent gives them.
{ pkgs, ... }:
let
  # qmgr-agent starts programs with a fixed environment and no LANG
  # (guest-agent/proc.c), and foot refuses to start without a UTF-8
  # locale (docs/gui.md).  The session variables NixOS sets for logins do
  # not reach these programs, so foot gets them from a wrapper, only
  # where they are not already set.
  foot = pkgs.symlinkJoin {
    name = "foot-qmgr-${pkgs.foot.version}";
    paths = [ pkgs.foot ];
    nativeBuildInputs = [ pkgs.makeWrapper ];
    postBuild = ''
      wrapProgram "$out/bin/foot" \
        --set-default LANG en_US.UTF-8 \
        --set-default LOCALE_ARCHIVE /run/current-system/sw/lib/locale/locale-archive
    '';
  };
in
{
  imports = [ ./minimal.nix ];

  environment.systemPackages = [
    foot
    pkgs.firefox
  ];
  fonts.fontconfig.enable = true;
  fonts.packages = [ pkgs.dejavu_fonts ];
  i18n.defaultLocale = "en_US.UTF-8";
}
