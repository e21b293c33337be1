# SPDX-License-Identifier: LGPL-2.1-or-later
#
# qmgr for Nix users (docs/templates.md, "NixOS templates and module"):
#
#   packages.x86_64-linux.qmgr              meson build of this repository
#   packages.x86_64-linux.template-minimal  NixOS template nixos-minimal
#   packages.x86_64-linux.template-desktop  nixos-minimal + foot, Firefox, fonts
#   nixosModules.qmgr                       the host: qmgrd, policy, templates,
#                                           gui-proxy (templates/nixos/host-module.nix)
#   nixosModules.guest                      the guest side of a template
#                                           (templates/nixos/guest.nix)
#   nixosConfigurations.template-*          the templates' systems, to inspect
#
# Never built or evaluated where it was written (no nixpkgs there); every
# .nix file is parsed by tests/nix.  There is no flake.lock: the first
# `nix build` writes one, pinning the nixpkgs it fetched.
{
  description = "qmgr: Qubes-style compartments on KVM; NixOS templates and host module";

  # nixos-unstable: the one branch name sure to exist whenever this is
  # first built, and the nixpkgs whose options were looked up when this
  # was written (nix.enable, fonts.packages, substituteInPlace
  # --replace-fail, erofs-utils).  A release branch (nixos-YY.MM) works
  # too if it is at least 24.05; pin it with `--override-input`.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      system = "x86_64-linux";
      lib = nixpkgs.lib;
      pkgs = nixpkgs.legacyPackages.${system};
      info = import ./templates/nixos/metadata.nix;

      qmgr = pkgs.callPackage ./templates/nixos/package.nix { src = self; };

      guestSystem = module: lib.nixosSystem {
        modules = [
          { nixpkgs.hostPlatform = system; }
          { qmgr.guest.package = qmgr; }
          module
        ];
      };
      systems = {
        minimal = guestSystem ./templates/nixos/minimal.nix;
        desktop = guestSystem ./templates/nixos/desktop.nix;
      };
      template = name: pkgs.callPackage ./templates/nixos/make-template.nix {
        nixos = systems.${name};
        info = info.templates.${name};
        inherit (info) agentPort;
      };
    in
    {
      packages.${system} = {
        inherit qmgr;
        default = qmgr;
        template-minimal = template "minimal";
        template-desktop = template "desktop";
      };

      nixosModules = {
        qmgr = { lib, pkgs, ... }: {
          imports = [ ./templates/nixos/host-module.nix ];
          # built with the host's own nixpkgs, from this flake's source
          services.qmgr.package =
            lib.mkDefault (pkgs.callPackage ./templates/nixos/package.nix { src = self; });
        };
        guest = ./templates/nixos/guest.nix;
        default = self.nixosModules.qmgr;
      };

      nixosConfigurations = {
        template-minimal = systems.minimal;
        template-desktop = systems.desktop;
      };
    };
}
