/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The qmgr wire protocol: one framing for the admin socket (tools <-> qmgrd)
 * and the guest channel (qmgrd <-> qmgr-agent over virtio-serial).
 *
 * A message is a fixed 16-byte header followed by `length` bytes of payload.
 * Integers are little-endian.  The payload is a GVariant of the type fixed
 * for the message type (table in wire.c), in normal form: GLib's
 * deserializer checks it, and a payload not in normal form is a protocol
 * violation.  Peers that violate the protocol are dropped (fail closed).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define QM_WIRE_MAGIC 0x31474d51u   /* "QMG1" */
#define QM_WIRE_HEADER_SIZE 16u
/* Hard ceiling for any payload; each type has its own, smaller maximum. */
#define QM_WIRE_PAYLOAD_MAX (1u << 20)

/* Protocol versions a peer announces in HELLO. */
enum qm_wire_version {
	/* 1: HELLO, admin REQUEST/REPLY/EVENT, SHUTDOWN */
	QM_WIRE_VERSION_1 = 1,
	/* 2: streams: EXEC, DATA, EOF, EXIT, WINDOW, CLOSE */
	QM_WIRE_VERSION_2 = 2,
	/* 3: calls between qubes and services: CALL, SERVICE */
	QM_WIRE_VERSION_3 = 3,
	QM_WIRE_VERSION = QM_WIRE_VERSION_3,
};

enum qm_msg_type {
	/* both ways, first message: (u version, s software) */
	QM_MSG_HELLO = 1,
	/* tool -> qmgrd: (u id, s method, s vm, a{sv} args) */
	QM_MSG_REQUEST = 2,
	/* qmgrd -> tool: (u id, b ok, s error, a{sv} result) */
	QM_MSG_REPLY = 3,
	/* qmgrd -> tool: (s event, s vm, a{sv} properties) */
	QM_MSG_EVENT = 4,
	/* qmgrd -> agent: () — sync and power off */
	QM_MSG_SHUTDOWN = 5,
	/*
	 * Streams (version 2).  A command runs on a stream, named by the
	 * header's stream id (not 0), chosen by the side that opens it.
	 * Data is flow-controlled per (stream, fd): a sender may have at most
	 * its credit in flight, which starts at QM_WINDOW_INITIAL and grows
	 * by each WINDOW the receiver sends once it has passed data on.
	 * Sending past the credit is a protocol violation.
	 */
	/* qmgrd -> agent, opens a stream: (s user, s command, u flags) —
	 * run `/bin/sh -c command` as user */
	QM_MSG_EXEC = 6,
	/* both: (u fd, ay bytes) — fd 0 stdin (towards the command), 1 stdout,
	 * 2 stderr (from it); at most QM_DATA_MAX bytes */
	QM_MSG_DATA = 7,
	/* both: (u fd) — no more data on fd */
	QM_MSG_EOF = 8,
	/* agent -> qmgrd: (i status) — the command ended (exit code, or
	 * 128 + signal); sent after EOF of stdout and stderr; ends the stream */
	QM_MSG_EXIT = 9,
	/* both: (u fd, u bytes) — the receiver takes this many more bytes */
	QM_MSG_WINDOW = 10,
	/* both: (s reason) — abandon the stream (the command is killed) */
	QM_MSG_CLOSE = 11,
	/*
	 * Calls (version 3).  A guest opens a call on a stream id with
	 * QM_STREAM_GUEST set (ids without it are qmgrd's): CALL names the
	 * target as the caller wrote it and "SERVICE[+ARGUMENT]".  qmgrd
	 * decides it (policy), and either refuses with CLOSE (reason) or
	 * joins it to the service and grants the caller's first WINDOW on
	 * fd 0: until then the caller sends nothing but EOF(0) or CLOSE.
	 * Then DATA fd 0 goes to the service, DATA fd 1 comes back, and
	 * EXIT carries the service's status.
	 */
	/* agent -> qmgrd, opens a stream: (s target, s service) */
	QM_MSG_CALL = 12,
	/* qmgrd -> agent, opens a stream: (s user, s service, s argument,
	 * s source, s requested_target, u flags) — run the service as user;
	 * it then behaves as an EXEC stream */
	QM_MSG_SERVICE = 13,
	QM_MSG_TYPE_END,
};

/* Stream limits. */
#define QM_DATA_MAX (64u << 10)
#define QM_WINDOW_INITIAL (256u << 10)
#define QM_STREAMS_MAX 64          /* open streams per channel */
#define QM_COMMAND_MAX 65536       /* bytes of an EXEC command */
#define QM_EXEC_RUN_PASS_IO 1u     /* EXEC/SERVICE flag: stdio is forwarded */
/* EXEC/SERVICE flag: stderr stays in the guest (the agent's log) and is not
 * sent: a service called by another qube answers on stdout only. */
#define QM_EXEC_STDERR_LOCAL 2u
#define QM_EXEC_FLAGS (QM_EXEC_RUN_PASS_IO | QM_EXEC_STDERR_LOCAL)
/* Stream ids a guest opens (CALL) have this bit; qmgrd's never do. */
#define QM_STREAM_GUEST 0x80000000u
/* Longest "SERVICE+ARGUMENT" and target name in CALL/SERVICE. */
#define QM_SERVICE_MAX 256
#define QM_TARGET_MAX 128

struct qm_wire_header {
	uint32_t magic;
	uint16_t type;
	uint16_t flags;       /* none defined: must be 0 */
	uint32_t stream;      /* 0: control; else a call (multiplexing) */
	uint32_t length;      /* payload bytes */
};
_Static_assert(sizeof(struct qm_wire_header) == QM_WIRE_HEADER_SIZE,
	       "wire header is 16 bytes");

struct qm_wire_msg {
	enum qm_msg_type type;
	uint32_t stream;
	GVariant *payload;    /* owned; of the type's GVariant type */
};

void qm_wire_msg_clear(struct qm_wire_msg *msg);

/* The GVariant type string of a message type's payload, or NULL. */
const char *qm_wire_payload_type(enum qm_msg_type type);

/*
 * Encodes a message: header + serialized payload.  Takes one reference to
 * `payload` (a floating reference is sunk), which must have the type's
 * GVariant type; a NULL payload means the empty tuple.
 */
GBytes *qm_wire_encode(enum qm_msg_type type, uint32_t stream,
		       GVariant *payload);
/*
 * The same message in up to two pieces, for a gathering write without a
 * copy of large payloads: *head is the header (followed by the payload
 * when that is small, *body then NULL); else *body is the payload's own
 * serialized bytes (no copy for a variant that is already serialized, such
 * as one received from the wire).  False on a payload of the wrong type or
 * size (a programming error).
 */
bool qm_wire_encode_parts(enum qm_msg_type type, uint32_t stream,
			  GVariant *payload, GBytes **head, GBytes **body);

enum qm_wire_status {
	QM_WIRE_OK,          /* one message decoded */
	QM_WIRE_NEED_MORE,   /* not a whole message yet */
	QM_WIRE_ERROR,       /* protocol violation: drop the peer */
};

/*
 * Decodes the first message of `data`.  On QM_WIRE_OK, *consumed is its
 * length and *out holds it.  Checks, in order: magic, known type, flags,
 * the type's maximum length (before waiting for the payload), then the
 * payload's type and normal form.
 */
enum qm_wire_status qm_wire_decode(const uint8_t *data, size_t len,
				   size_t *consumed, struct qm_wire_msg *out,
				   GError **error);

/*
 * A DATA payload "(uay)" (fd, bytes) built in place, without a copy:
 * `buf` holds QM_DATA_HEADROOM free bytes and then the `len` data bytes;
 * the variant takes `buf` (g_malloc'd) and frees it.
 */
#define QM_DATA_HEADROOM 4u
GVariant *qm_wire_data_payload_take(uint32_t fd, uint8_t *buf, size_t len);

/*
 * As qm_wire_decode(), for the message at `offset` of `bytes`, without
 * copying the payload: the decoded variant holds a reference to `bytes`.
 */
enum qm_wire_status qm_wire_decode_bytes(GBytes *bytes, size_t offset,
					 size_t *consumed,
					 struct qm_wire_msg *out,
					 GError **error);

#define QM_WIRE_ERROR_DOMAIN g_quark_from_static_string("qm-wire-error")
