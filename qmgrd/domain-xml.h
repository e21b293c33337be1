/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Builds a qube's libvirt domain XML with libxml2 (no string pasting):
 * q35, direct kernel boot, virtio disks, a virtio-serial channel for the
 * agent, a virtio NIC on a routed tap for a networked qube, and none of
 * the emulated devices a qube does not need. */
#pragma once

#include <glib.h>

#include "accel.h"

#define QM_XMLNS_VM "https://qmgr.invalid/xmlns/vm/1"
#define QM_AGENT_PORT "org.qmgr.agent.0"

struct qm_domain_spec {
	const char *domain_name;   /* qmgr-INSTANCE-NAME */
	const char *uuid;
	const char *instance;
	const char *vm_name;
	enum qm_accel accel;       /* KVM or TCG, resolved */
	unsigned memory_mib;
	unsigned vcpus;
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	const char *root_disk;     /* qcow2 */
	const char *private_disk;  /* qcow2 */
	const char *agent_socket;  /* unix socket QEMU listens on */
	/* the GUI channel's (common/gui-proto.h), NULL: no GUI */
	const char *gui_socket;
	/* the shared GUI region's <shmem> name and the unix socket of
	 * its ivshmem server (qmgrd, gui-region.c), NULL: none */
	const char *gui_shm_name;
	const char *gui_shm_server;
	const char *console_log;
	/* Network (docs/network.md): NULL for none, else a virtio
	 * NIC with MAC net_mac on a tap named net_tap that libvirt makes
	 * (qmgrd gives it its address, net-link.c). */
	const char *net_tap;
	const char *net_mac;
};

/* The XML text (g_free it). */
char *qm_domain_xml_build(const struct qm_domain_spec *spec);

/* Reads qmgr's metadata back from a domain's XML: the instance and qube
 * name, or false when the domain is not one of qmgr's. */
gboolean qm_domain_xml_owner(const char *xml, char **instance, char **vm);
