# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The NixOS side of a qmgr qube (flake output nixosModules.guest; imported
# by minimal.nix and desktop.nix).  It does in systemd what the Debian
# template's busybox init does (templates/minimal/rootfs/etc/inittab,
# init.d/rcS, usr/lib/qmgr/gui-session; docs/templates.md "Boot sequence"):
#
#   /            tmpfs: nothing the qube writes outside /rw survives a boot
#   /nix/store   the template's root image, an erofs of the system closure,
#                read-only, from /dev/vda (qmgrd's first disk)
#   /rw          the private volume /dev/vdb, ext4, formatted on first boot
#                only if blank; /rw/home bind-mounted on /home
#   eth0         from qmgr.ip= qmgr.gw= qmgr.dns= on the kernel command line
#   qmgr-agent   a service, restarted if it exits
#   qmgr-gui-agent  started by udev when the org.qmgr.gui port exists
#
# and no SSH, no Nix daemon, nothing listening on the network.
{ config, lib, pkgs, ... }:
let
  cfg = config.qmgr.guest;
  guestTools = cfg.package.guest;
  guiPort = "/dev/virtio-ports/org.qmgr.gui";
  userName = "user";
  uid = 1000;
in
{
  options.qmgr.guest = {
    package = lib.mkOption {
      type = lib.types.package;
      description = ''
        The qmgr package (templates/nixos/package.nix); its `guest` output
        provides qmgr-agent, qmgr-gui-agent and the guest's tools.
      '';
    };
    consoleRootShell = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = ''
        Log root in on the serial console, as the Debian template's
        askfirst shell does: whoever holds the host's console of the qube
        (root on the host) gets a shell in it.
      '';
    };
  };

  config = {
    # --- boot -------------------------------------------------------------
    # qmgrd boots the kernel and initrd directly (libvirt <kernel>/<initrd>):
    # no boot loader, no /boot.
    boot.loader.grub.enable = false;
    boot.initrd.availableKernelModules = [
      "virtio_pci"
      "virtio_blk"
      "virtio_console"
      "erofs"
    ];
    # Loaded unconditionally, not left to udev: the store is on vda, and
    # the agent's port should exist before stage 2 starts it.
    boot.initrd.kernelModules = [
      "virtio_pci"
      "virtio_blk"
      "virtio_console"
      "erofs"
    ];
    boot.kernelModules = [ "virtio_net" ];
    boot.kernelParams = [ "console=ttyS0" ];
    # time comes from kvm-clock; no NTP client going out of the qube
    services.timesyncd.enable = false;

    fileSystems."/" = {
      device = "none";
      fsType = "tmpfs";
      options = [ "mode=0755" "size=50%" ];
    };
    # By device, not by label: the private volume is the qube's to write,
    # and an erofs labelled like the store on it must not be mistaken for
    # the template's root.
    fileSystems."/nix/store" = {
      device = "/dev/vda";
      fsType = "erofs";
      options = [ "ro" ];
      neededForBoot = true;
      # no fsck.erofs in the initrd, and nothing to repair in an image
      noCheck = true;
    };

    # --- the private volume (rcS's setup_private) ---------------------------
    # One unit instead of fileSystems entries: "format only if really blank,
    # leave anything else alone and unmounted" is not what autoFormat does
    # (it formats whatever has no known signature).
    systemd.services.qmgr-private = {
      description = "qmgr private volume on /rw and /home";
      wantedBy = [ "local-fs.target" ];
      before = [ "local-fs.target" "systemd-user-sessions.service" ];
      after = [ "local-fs-pre.target" ];
      unitConfig = {
        DefaultDependencies = false;
        # the kernel makes the node as soon as virtio_blk probes the disk,
        # which happened in the initrd
        ConditionPathExists = "/dev/vdb";
      };
      path = [ pkgs.coreutils pkgs.util-linux pkgs.e2fsprogs ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
      };
      script = ''
        private=/dev/vdb
        magic=$(dd if="$private" bs=1 skip=1080 count=2 2>/dev/null | od -An -tx1 | tr -d ' \n')
        if [ "$magic" != 53ef ]; then
          nonzero=$(dd if="$private" bs=65536 count=16 2>/dev/null | tr -d '\000' | wc -c)
          if [ "$nonzero" != 0 ]; then
            echo "$private holds something that is not ext4: not mounting it"
            exit 0
          fi
          echo "formatting the blank private volume $private"
          mke2fs -q -t ext4 -m 0 -L private "$private"
        fi
        mkdir -p /rw /home
        mount -t ext4 -o nosuid,nodev,noatime "$private" /rw
        mkdir -p /rw/home/${userName} /rw/config
        chown ${toString uid}:${toString uid} /rw/home/${userName}
        mount --bind /rw/home /home
        if [ -x /rw/config/rc.local ]; then /rw/config/rc.local || true; fi
      '';
    };
    systemd.tmpfiles.rules = [
      # The agent runs commands with PATH=/usr/local/bin:/usr/bin:/bin (and
      # sbin for root), and services from /usr/lib/qmgr/rpc; the guest's
      # scripts call /usr/lib/qmgr/... by absolute path.  NixOS has its
      # programs elsewhere: point those directories there.
      "d /usr/local 0755 root root - -"
      "L+ /usr/local/bin - - - - /run/current-system/sw/bin"
      "L+ /usr/local/sbin - - - - /run/current-system/sw/bin"
      "d /usr/lib 0755 root root - -"
      "L+ /usr/lib/qmgr - - - - ${guestTools}/lib/qmgr"
    ];

    # --- users --------------------------------------------------------------
    users.mutableUsers = false;
    users.groups.${userName}.gid = uid;
    users.users.${userName} = {
      isNormalUser = true;
      inherit uid;
      group = userName;
      home = "/home/${userName}";
      # made on the private volume by qmgr-private, not on the tmpfs
      createHome = false;
    };
    services.getty.autologinUser = lib.mkIf cfg.consoleRootShell "root";
    security.sudo.enable = false;

    # --- no Nix, no SSH, nothing listening ----------------------------------
    # The store is a read-only image built on the host; a qube changes only
    # by a new template revision.
    nix.enable = false;
    services.openssh.enable = false;
    networking.firewall.enable = true;
    documentation.enable = false;
    environment.defaultPackages = [ ];

    # --- network (rcS's setup_network) ----------------------------------------
    # No DHCP: qmgrd puts the qube's address on the kernel command line and
    # routes to it over the qube's own tap (docs/network.md).
    networking.useDHCP = false;
    networking.dhcpcd.enable = false;
    networking.useNetworkd = false;
    # rcS configures "eth0"; so does this
    networking.usePredictableInterfaceNames = false;
    # /etc/resolv.conf is written below from qmgr.dns=
    networking.resolvconf.enable = false;
    # the qube's name comes from qmgr.name= (qmgr-cmdline below)
    networking.hostName = "";

    systemd.services.qmgr-cmdline = {
      description = "qmgr host name and network from the kernel command line";
      wantedBy = [ "multi-user.target" ];
      before = [ "network.target" ];
      wants = [ "network.target" ];
      path = [ pkgs.coreutils pkgs.iproute2 ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
      };
      # The command line is the host's (trusted), as in rcS.
      script = ''
        name= ip= gw= dns=
        for arg in $(cat /proc/cmdline); do
          case "$arg" in
          qmgr.name=*) name=''${arg#qmgr.name=} ;;
          qmgr.ip=*) ip=''${arg#qmgr.ip=} ;;
          qmgr.gw=*) gw=''${arg#qmgr.gw=} ;;
          qmgr.dns=*) dns=''${arg#qmgr.dns=} ;;
          esac
        done
        if [ -n "$name" ]; then
          printf '%s' "$name" >/proc/sys/kernel/hostname
        fi
        ip link set lo up
        rm -f /etc/resolv.conf
        if [ -z "$ip" ] || [ -z "$gw" ]; then
          exit 0
        fi
        i=0
        while [ ! -e /sys/class/net/eth0 ]; do
          i=$((i + 1))
          if [ $i -gt 500 ]; then
            echo "no eth0: network stays down"
            exit 0
          fi
          sleep 0.01
        done
        if ! { ip link set eth0 up &&
               ip addr add "$ip/32" dev eth0 &&
               ip route add "$gw" dev eth0 &&
               ip route add default via "$gw" dev eth0; }; then
          echo "cannot configure eth0 ($ip via $gw)"
        fi
        if [ -n "$dns" ]; then
          echo "nameserver $dns" >/etc/resolv.conf
        fi
      '';
    };

    # --- the agent (inittab's respawn line) -----------------------------------
    systemd.services.qmgr-agent = {
      description = "qmgr guest agent";
      wantedBy = [ "multi-user.target" ];
      # commands run as `user` need /home
      after = [ "qmgr-private.service" ];
      serviceConfig = {
        # finds its port itself: the entry of /sys/class/virtio-ports whose
        # name is org.qmgr.agent.0
        ExecStart = "${guestTools}/bin/qmgr-agent";
        Restart = "always";
        RestartSec = 1;
        # The commands it runs are its children.  busybox init's respawn
        # does not kill them when the agent restarts, and neither should
        # systemd: only the agent's own process is stopped.
        KillMode = "process";
      };
    };

    # --- the GUI session (gui-session) ------------------------------------------
    # systemd's udev rules make /dev/virtio-ports/NAME for every named port;
    # this one gives the GUI port to the user and starts the session when
    # the port appears (a qube whose `gui` property is False has none).
    services.udev.extraRules = ''
      SUBSYSTEM=="virtio-ports", ATTR{name}=="org.qmgr.gui", OWNER="${userName}", MODE="0600", TAG+="systemd", ENV{SYSTEMD_WANTS}+="qmgr-gui-agent.service"
    '';
    systemd.services.qmgr-gui-agent = {
      description = "qmgr GUI agent (the qube's Wayland compositor)";
      # /run/user/1000, as logind makes it for a session; the agent gives
      # apps XDG_RUNTIME_DIR and WAYLAND_DISPLAY when wayland-0 exists there
      requires = [ "user-runtime-dir@${toString uid}.service" ];
      after = [ "user-runtime-dir@${toString uid}.service" "qmgr-private.service" ];
      unitConfig.ConditionPathExists = guiPort;
      environment.XDG_RUNTIME_DIR = "/run/user/${toString uid}";
      serviceConfig = {
        User = userName;
        Group = userName;
        ExecStart = "${guestTools}/bin/qmgr-gui-agent --port ${guiPort}";
        Restart = "always";
        RestartSec = 1;
      };
    };

    environment.systemPackages = [ guestTools ];
    services.journald.storage = "volatile";
    system.stateVersion = "25.11";
  };
}
