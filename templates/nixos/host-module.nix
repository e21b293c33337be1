# SPDX-License-Identifier: LGPL-2.1-or-later
#
# qmgr on a NixOS host (flake output nixosModules.qmgr): qmgrd as a
# hardened system service after libvirtd, the policy as options written to
# /etc/qmgr/policy.d, templates registered in qvm-template's store from
# their Nix store paths, and gui-proxy as a user service of the graphical
# session.  docs/templates.md, "NixOS templates and module", shows a
# configuration.
{ config, lib, pkgs, ... }:
let
  cfg = config.services.qmgr;
  inherit (lib) mkOption types;

  # Qubes' rule, as policy/loader.c applies it: only "*.policy" files not
  # starting with '.' are read.
  policyNameOk = name:
    builtins.match "[A-Za-z0-9_][A-Za-z0-9._-]*\\.policy" name != null;
  keyNameOk = name: builtins.match "[A-Za-z0-9._-]+" name != null;

  # qmgrd imports TEMPLATE_DIR/minimal as TemplateVM `minimal` on its first
  # start (empty inventory) and never again; --template-dir points it here.
  firstStartDir = pkgs.linkFarm "qmgr-first-start-template" [
    { name = "minimal"; path = cfg.firstStartTemplate; }
  ];

  installTemplates = pkgs.writeShellScript "qmgr-install-templates" ''
    set -u
    qvm_template=${cfg.package}/bin/qvm-template
    failed=0
    for t in ${lib.escapeShellArgs (map toString cfg.templates)}; do
      conf=$t/template.conf
      name=$(${pkgs.gnused}/bin/sed -n 's/^name=//p' "$conf")
      rev=$(${pkgs.gnused}/bin/sed -n 's/^revision=//p' "$conf")
      if [ -z "$name" ] || [ -z "$rev" ]; then
        echo "$t: no name or revision in template.conf: skipped" >&2
        failed=1
        continue
      fi
      # `install` refuses a revision that is not newer than the installed
      # one; that is the normal case at every boot, so ask first.
      current=$("$qvm_template" list |
        ${pkgs.gawk}/bin/awk -v n="$name" 'NR > 1 && $1 == n { print $3 }')
      if [ -n "$current" ] && [ "$current" -ge "$rev" ]; then
        echo "$name: revision $current installed (this one: $rev)"
        continue
      fi
      "$qvm_template" install "$t" ${lib.optionalString cfg.allowUnsignedTemplates "--allow-unsigned"} ||
        failed=1
    done
    exit $failed
  '';
in
{
  options.services.qmgr = {
    enable = lib.mkEnableOption "qmgr, Qubes-style compartments on KVM (qmgrd, the qvm-* tools, gui-proxy)";

    package = mkOption {
      type = types.package;
      # Without the flake (which passes its own source): this checkout,
      # less meson build directories kept inside it.
      default = pkgs.callPackage ./package.nix {
        src = lib.cleanSourceWith {
          src = lib.cleanSource ../..;
          filter = path: type:
            !(type == "directory" && lib.hasPrefix "build" (baseNameOf path));
        };
      };
      defaultText = lib.literalExpression "qmgr built from this repository with pkgs";
      description = "The qmgr package (templates/nixos/package.nix).";
    };

    extraArgs = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "--accel" "kvm" "--start-timeout" "60" ];
      description = "Further options of qmgrd (see qmgrd(8)).";
    };

    shippedPolicy = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Install qmgr's shipped policy as /etc/qmgr/policy.d/90-default.policy
        (it denies every call; the network rules let qubes reach the
        internet).  A file of that name in `policy` replaces it.
      '';
    };

    policy = mkOption {
      type = types.attrsOf types.lines;
      default = { };
      example = lib.literalExpression ''
        {
          "30-user.policy" = '''
            qmgr.Filecopy  *  work  personal  ask
            qmgr.ClipboardPaste  *  @anyvm  @anyvm  ask
          ''';
        }
      '';
      description = ''
        Policy files, by file name, written to /etc/qmgr/policy.d (the
        format of docs/policy.md, Qubes' qrexec policy).  qmgrd watches the
        directory and reloads; `qvm-policy check` checks the result.
      '';
    };

    templates = mkOption {
      type = types.listOf types.package;
      default = [ ];
      example = lib.literalExpression "[ qmgr.packages.x86_64-linux.template-minimal ]";
      description = ''
        Templates to install into qvm-template's store
        (/var/lib/qmgr/template-store) at boot and at every switch, from
        their store paths: each one whose revision is newer than the
        installed one is installed with `qvm-template install`, verified
        against the keys of `templateKeys`.  Templates built by the flake
        are unsigned (signing happens outside Nix), so they are installed
        only with `allowUnsignedTemplates`.  A template new to qmgrd becomes
        a TemplateVM of its name (qvm-template asks qmgrd, which boots it
        from the store); when qmgrd is not running yet, the install warns
        and `qvm-create --class TemplateVM NAME` makes it later.
      '';
    };

    allowUnsignedTemplates = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Pass --allow-unsigned to `qvm-template install`.  Reasonable for
        templates this host built itself (the store path is what Nix built
        from the configuration; a signature would add nothing on the same
        machine); not for templates from elsewhere.
      '';
    };

    templateKeys = mkOption {
      type = types.attrsOf types.path;
      default = { };
      example = lib.literalExpression ''{ my-builder = ./keys/my-builder.pub; }'';
      description = ''
        Public keys whose templates are trusted, by key name: written to
        /etc/qmgr/template-keys/NAME.pub (a copy, not a symlink:
        qvm-template opens keys with O_NOFOLLOW).
      '';
    };

    firstStartTemplate = mkOption {
      type = types.nullOr types.package;
      default = null;
      example = lib.literalExpression "qmgr.packages.x86_64-linux.template-minimal";
      description = ''
        A template qmgrd imports as TemplateVM `minimal` (and makes the
        default template, with default-dvm) on its first start, when its
        inventory is empty; passed as --template-dir.  The package is built
        without the Debian template, so without this qmgrd starts with no
        template at all.
      '';
    };

    guiProxy.enable = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Run gui-proxy as a user service of every graphical session
        (graphical-session.target).  Only users in group `qmgr` reach
        qmgrd and the qubes' GUI sockets.
      '';
    };
  };

  config = lib.mkIf cfg.enable {
    assertions =
      map (name: {
        assertion = policyNameOk name;
        message = "services.qmgr.policy: '${name}' is not a name qmgrd reads (NAME.policy, not starting with '.')";
      }) (builtins.attrNames cfg.policy)
      ++ map (name: {
        assertion = keyNameOk name;
        message = "services.qmgr.templateKeys: '${name}' is not a key name (letters, digits, '.', '_', '-')";
      }) (builtins.attrNames cfg.templateKeys);

    virtualisation.libvirtd.enable = true;

    # Members may use the admin socket (the qvm-* tools, gui-proxy) and
    # the qubes' GUI sockets.
    users.groups.qmgr = { };

    environment.systemPackages = [ cfg.package ];

    environment.etc =
      lib.optionalAttrs cfg.shippedPolicy {
        "qmgr/policy.d/90-default.policy".source =
          lib.mkDefault "${cfg.package}/share/qmgr/policy.d/90-default.policy";
      }
      // lib.mapAttrs' (name: text:
        lib.nameValuePair "qmgr/policy.d/${name}" { inherit text; }) cfg.policy
      // lib.mapAttrs' (name: path:
        lib.nameValuePair "qmgr/template-keys/${name}.pub" {
          source = path;
          mode = "0444";
        }) cfg.templateKeys;

    systemd.services.qmgrd = {
      description = "qmgr compartment manager";
      documentation = [ "man:qmgrd(8)" ];
      wantedBy = [ "multi-user.target" ];
      requires = [ "libvirtd.service" ];
      after = [ "libvirtd.service" "network.target" ];
      # volumes are made with qemu-img and cp
      path = [ pkgs.coreutils config.virtualisation.libvirtd.qemu.package ];
      serviceConfig = {
        ExecStart = lib.escapeShellArgs (
          [ "${cfg.package}/bin/qmgrd" "--libvirt-uri" "qemu:///system" ]
          ++ lib.optionals (cfg.firstStartTemplate != null)
            [ "--template-dir" "${firstStartDir}" ]
          ++ cfg.extraArgs);
        Restart = "on-failure";
        RestartSec = 2;
        # The qubes' QEMU processes are libvirtd's (in its machine scopes),
        # not in this unit: stopping qmgrd leaves them running and it
        # adopts them when it comes back.  A volume operation cut short
        # (its qemu-img or cp are in this unit) leaves a directory that the
        # next start collects as an orphan (docs/architecture.md).

        # /var/lib/qmgr (inventory, volumes), /var/log/qmgr (audit log,
        # consoles), /run/qmgr (admin socket, the qubes' agent and GUI
        # sockets).  0755: QEMU, another user, must reach the images.
        StateDirectory = "qmgr";
        StateDirectoryMode = "0755";
        LogsDirectory = "qmgr";
        RuntimeDirectory = "qmgr";
        RuntimeDirectoryMode = "0755";
        # The qubes' sockets live in /run/qmgr/vms and must outlive a
        # restart of qmgrd, or it could not adopt the running qubes.
        RuntimeDirectoryPreserve = "yes";
        # /etc/qmgr is only read (policy.d); qmgrd creates it if missing,
        # which ProtectSystem would forbid, so systemd makes it.
        ConfigurationDirectory = "qmgr";

        # qmgrd runs as root: libvirt's system socket admits root without
        # polkit, and the sockets QEMU makes must be given to group qmgr.
        # Of root's powers it keeps only these:
        CapabilityBoundingSet = [
          # its nftables table (libnftnl over netlink), the qubes' taps
          # (rtnetlink), ip_forward and the taps' IPv6 sysctls
          "CAP_NET_ADMIN"
          # the admin socket and each qube's GUI socket (made by QEMU) go
          # to group qmgr: chown and chmod of files it may not own
          "CAP_CHOWN"
          "CAP_FOWNER"
          # volumes that libvirt's dynamic ownership gave to the QEMU user
          # are still read (clone) and removed by qmgrd
          "CAP_DAC_OVERRIDE"
        ];
        NoNewPrivileges = true;
        ProtectSystem = "strict";
        ProtectHome = true;
        PrivateTmp = true;
        # Not ProtectKernelTunables: qmgrd writes
        # /proc/sys/net/ipv4/ip_forward and the taps' disable_ipv6.
        # Not PrivateNetwork: the taps and the host's nftables are the
        # point.  Not PrivateDevices, ProtectClock or DeviceAllow (each
        # closes /dev): qmgrd opens /dev/kvm to choose the accelerator
        # (qmgrd/accel.c), and without it would fall back to TCG.
        ProtectKernelModules = true;
        ProtectKernelLogs = true;
        ProtectControlGroups = true;
        ProtectHostname = true;
        # libvirt, QEMU's sockets and its own admin socket are unix
        # sockets; nftables and rtnetlink are netlink.  A remote libvirt
        # URI in extraArgs would need AF_INET/AF_INET6 here.
        RestrictAddressFamilies = [ "AF_UNIX" "AF_NETLINK" ];
        RestrictNamespaces = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        LockPersonality = true;
        MemoryDenyWriteExecute = true;
        SystemCallArchitectures = "native";
        SystemCallFilter = [ "@system-service" ];
        UMask = "0022";
      };
    };

    systemd.services.qmgr-templates = lib.mkIf (cfg.templates != [ ]) {
      description = "Install qmgr templates from the Nix store";
      wantedBy = [ "multi-user.target" ];
      # after qmgrd, which makes a new template's TemplateVM (through its
      # socket: a filesystem socket, reachable despite PrivateNetwork)
      after = [ "local-fs.target" "qmgrd.service" ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = "${installTemplates}";
        StateDirectory = "qmgr";
        StateDirectoryMode = "0755";
        # copies files into a root-owned store: no capability needed
        CapabilityBoundingSet = "";
        NoNewPrivileges = true;
        ProtectSystem = "strict";
        ProtectHome = true;
        PrivateTmp = true;
        PrivateNetwork = true;
        PrivateDevices = true;
        ProtectKernelTunables = true;
        ProtectKernelModules = true;
        ProtectControlGroups = true;
        RestrictAddressFamilies = [ "AF_UNIX" ];
        SystemCallArchitectures = "native";
        SystemCallFilter = [ "@system-service" ];
        UMask = "0022";
      };
    };

    # gui-proxy is a Wayland client of the user's compositor: it belongs to
    # the graphical session and stops with it.
    systemd.user.services.gui-proxy = lib.mkIf cfg.guiProxy.enable {
      description = "qmgr GUI proxy: the qubes' windows with their borders";
      documentation = [ "man:gui-proxy(1)" ];
      wantedBy = [ "graphical-session.target" ];
      partOf = [ "graphical-session.target" ];
      after = [ "graphical-session.target" ];
      serviceConfig = {
        ExecStart = "${cfg.package}/bin/gui-proxy";
        Restart = "on-failure";
        RestartSec = 2;
      };
    };
  };
}
