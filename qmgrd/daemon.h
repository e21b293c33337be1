/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's state, shared by its parts (one instance per process). */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "accel.h"
#include "inventory.h"

struct qm_admin;
struct qm_libvirt;
struct qm_prompt;

struct qm_paths {
	char *root;          /* "" for the system paths */
	char *etc;           /* ROOT/etc/qmgr */
	char *lib;           /* ROOT/var/lib/qmgr */
	char *run;           /* ROOT/run/qmgr */
	char *socket;        /* ROOT/run/qmgr/qmgrd.sock */
	char *inventory;     /* ROOT/var/lib/qmgr/qmgr.xml */
	char *vms;           /* ROOT/var/lib/qmgr/vms */
	char *logs;          /* ROOT/var/log/qmgr */
	char *template_src;  /* installed templates (QMGR_DATADIR/templates) */
};

struct qmgrd {
	struct qm_paths paths;
	char *instance;            /* id in libvirt domain names/metadata */
	char *libvirt_uri;
	enum qm_accel accel;
	struct qm_inventory *inv;
	struct qm_admin *admin;
	struct qm_libvirt *lv;
	GMainLoop *loop;
	int start_timeout_s;       /* boot to agent HELLO */
	struct qm_prompt *prompt;  /* the ask prompt (prompt.c) */
	int prompt_timeout_s;      /* an ask question to its answer */
	/* the network (net.c): the interfaces sys-net stands for and the
	 * resolvers the qubes' DNS address is forwarded to (IPv4, host
	 * order); from the options, else found at start */
	char **uplinks;
	GArray *dns_upstream;      /* guint32 */
};

/* Saves the inventory; on failure logs and returns false (the caller
 * reports it and keeps the in-memory change consistent with disk). */
bool qmgrd_save(struct qmgrd *d, GError **error);

/* Broadcasts an event to subscribed tools (admin-socket.c). */
void qm_admin_emit(struct qm_admin *admin, const char *event, const char *vm,
		   GVariant *properties);
