# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The `nixos-minimal` template (flake output packages.x86_64-linux.template-
# minimal): guest.nix and nothing else.  qmgr.guest.package is set by the
# flake.
{ lib, ... }:
{
  imports = [ ./guest.nix ];

  # Trimmed as far as the module system allows without disabling what the
  # agent relies on (users, udev, a shell).
  boot.initrd.includeDefaultModules = false;
  boot.kernelParams = [ "quiet" ];
  fonts.fontconfig.enable = lib.mkDefault false;
  xdg.icons.enable = lib.mkDefault false;
  xdg.mime.enable = lib.mkDefault false;
  programs.command-not-found.enable = false;
}
