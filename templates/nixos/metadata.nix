# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What qmgr's template.conf says about each NixOS template (docs/templates.md,
# "NixOS templates and module").  Pure data, no nixpkgs: the tests evaluate
# it with `nix-instantiate --eval --strict` on machines without nixpkgs.
#
# `revision` is what `qvm-template install` compares: an install must be
# newer than the installed revision, so bump it with every change to a
# template that should reach installed hosts (1 .. 1000000000).  It is not
# derived from the commit time (flake `lastModified` is a Unix time, above
# qmgr's limit of 10^9, and equal for all dirty trees of one commit).
{
  # = project(version:) in meson.build; tests/nix checks that they agree.
  qmgrVersion = "0.1.0";

  # The virtio-serial port qmgrd gives every qube for its agent.
  agentPort = "org.qmgr.agent.0";

  templates = {
    minimal = {
      name = "nixos-minimal";
      version = "0.1.0";
      revision = 1;
      # systemd and a tmpfs root need more than the busybox template's 256
      memory = 384;
      vcpus = 1;
    };
    desktop = {
      name = "nixos-desktop";
      version = "0.1.0";
      revision = 1;
      memory = 2048;
      vcpus = 2;
    };
  };
}
