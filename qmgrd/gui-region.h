/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A qube's shared GUI region (docs/gui.md, "Shared memory"): a sealed
 * memfd that qmgrd makes at each start and hands out as a file
 * descriptor, never as a name anyone could open first.
 *
 * - QEMU gets it as the ivshmem server of the qube's ivshmem-doorbell
 *   device (QEMU's docs/specs/ivshmem-spec.rst): on `qemu_socket`, owned
 *   by QEMU's user, mode 0600, and only the domain's own QEMU process (its
 *   libvirt pid file) is answered.
 * - gui-proxy gets it on `proxy_socket` (group qmgr, 0660, as the GUI
 *   channel's socket): one byte and the fd (SCM_RIGHTS), then the
 *   connection is closed.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <glib.h>

struct qm_gui_region;

struct qm_gui_region_spec {
	const char *vm;            /* for the log */
	const char *memfd_name;    /* the memfd's name (/proc/PID/fd) */
	uint64_t size;             /* a power of two (a PCI BAR) */
	const char *qemu_socket;   /* NULL: adopted, QEMU has it already */
	uid_t qemu_uid;            /* owner of qemu_socket, -1: leave root */
	const char *qemu_pidfile;  /* libvirt's pid file of the domain */
	const char *proxy_socket;
};

/* A new region: the memfd, sealed against shrinking and growing, and
 * both sockets listening on the main loop. */
struct qm_gui_region *qm_gui_region_create(
	const struct qm_gui_region_spec *spec, GError **error);

/* After a qmgrd restart: the region QEMU (spec->qemu_pidfile) holds,
 * found among its fds by spec->memfd_name and checked (a memfd sealed as
 * ours, of spec->size), served again to gui-proxy.  NULL when it cannot
 * be found (the qube then shows its windows through the stream). */
struct qm_gui_region *qm_gui_region_adopt(
	const struct qm_gui_region_spec *spec, GError **error);

/* Closes the memfd and both sockets and removes their files. */
void qm_gui_region_destroy(struct qm_gui_region *r);

/* Whether `fd` is a region as made here: a regular file of `size` bytes
 * sealed against shrinking and growing.  Also for the test. */
bool qm_gui_region_fd_ok(int fd, uint64_t size, GError **error);
