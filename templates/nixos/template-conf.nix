# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Renders a template's template.conf (GKeyFile, group [Template]) in the
# form templates/minimal/build-template.sh writes.  Pure: no nixpkgs, so
# tests/nix evaluates it where only nix-instantiate exists.
#
#   meta: one entry of metadata.nix's `templates` (name, version, revision,
#         memory, vcpus)
#   agentPort: metadata.nix's agentPort
#   files: { kernel, initramfs, root } file names inside the template dir
#   kernelCmdline: the whole command line; qmgrd appends qmgr.name= etc.
#   extra: further keys (e.g. kernel_version), an attrset of strings
{ meta, agentPort, files, kernelCmdline, extra ? { } }:
let
  # GKeyFile values are one line; a newline would start a new key.
  check = key: value:
    let s = toString value;
    in if builtins.match ".*[\n\r].*" s != null
    then throw "template.conf: value of ${key} contains a line break"
    else if builtins.match "[A-Za-z0-9_]+" key == null
    then throw "template.conf: bad key '${key}'"
    else "${key}=${s}\n";
  keys = [
    { k = "name"; v = meta.name; }
    { k = "version"; v = meta.version; }
    { k = "revision"; v = meta.revision; }
  ] ++ map (k: { inherit k; v = extra.${k}; }) (builtins.attrNames extra) ++ [
    { k = "kernel"; v = files.kernel; }
    { k = "initramfs"; v = files.initramfs; }
    { k = "root"; v = files.root; }
    { k = "root_format"; v = "erofs"; }
    { k = "kernel_cmdline"; v = kernelCmdline; }
    { k = "memory"; v = meta.memory; }
    { k = "vcpus"; v = meta.vcpus; }
    { k = "agent_port"; v = agentPort; }
  ];
in
"# Written by templates/nixos/make-template.nix\n[Template]\n"
+ builtins.concatStringsSep "" (map ({ k, v }: check k v) keys)
