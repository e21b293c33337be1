/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host-link-decode.h"

#include <string.h>

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

enum payload_kind {
	FIXED,          /* exactly `size` bytes */
	VARIABLE,       /* 0..`size` bytes */
};

struct msg_rule {
	uint32_t type;
	bool per_window;        /* window != 0 required; else window == 0 */
	enum payload_kind kind;
	uint32_t size;
};

/* Every type the host may send, with its framing (gui-proto.h). */
static const struct msg_rule rules[] = {
	{ QM_GUI_HELLO, false, FIXED, sizeof(struct qm_gui_hello) },
	{ QM_GUI_CONFIGURE, true, FIXED, sizeof(struct qm_gui_configure) },
	{ QM_GUI_CLOSE, true, FIXED, 0 },
	{ QM_GUI_DESTROYED, true, FIXED, 0 },
	{ QM_GUI_FRAME_DONE, true, FIXED, 0 },
	{ QM_GUI_KEYMAP, false, VARIABLE, QM_GUI_MAX_KEYMAP },
	{ QM_GUI_FOCUS_IN, true, FIXED, 0 },
	{ QM_GUI_FOCUS_OUT, true, FIXED, 0 },
	{ QM_GUI_KEY, true, FIXED, sizeof(struct qm_gui_key) },
	{ QM_GUI_MODIFIERS, true, FIXED, sizeof(struct qm_gui_modifiers) },
	{ QM_GUI_POINTER_MOTION, true, FIXED, sizeof(struct qm_gui_pointer) },
	{ QM_GUI_POINTER_LEAVE, true, FIXED, 0 },
	{ QM_GUI_BUTTON, true, FIXED, sizeof(struct qm_gui_button) },
	{ QM_GUI_AXIS, true, FIXED, sizeof(struct qm_gui_axis) },
	{ QM_GUI_CLIPBOARD_REQUEST, false, FIXED, 0 },
	{ QM_GUI_CLIPBOARD_SET, false, VARIABLE, QM_GUI_MAX_CLIPBOARD },
	{ QM_GUI_SHM_RELEASE, true, FIXED, sizeof(struct qm_gui_shm_release) },
};

static const struct msg_rule *find_rule(uint32_t type)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].type == type)
			return &rules[i];
	return NULL;
}

#define FAIL(msg_) do { *why = (msg_); return GA_DECODE_INVALID; } while (0)

/* Checks the values of fixed payloads; `p` holds exactly rule->size. */
static enum ga_decode_status decode_payload(const uint8_t *p, uint32_t len,
					    struct ga_host_msg *msg,
					    const char **why)
{
	switch (msg->type) {
	case QM_GUI_HELLO:
		msg->u.hello.version = get32(p);
		msg->u.hello.flags = get32(p + 4);
		if (msg->u.hello.version < QM_GUI_VERSION_1)
			FAIL("HELLO with version 0");
		break;
	case QM_GUI_CONFIGURE: {
		struct qm_gui_configure *c = &msg->u.configure;
		c->width = get32(p);
		c->height = get32(p + 4);
		c->states = get32(p + 8);
		c->serial = get32(p + 12);
		if (c->width > QM_GUI_MAX_WIDTH || c->height > QM_GUI_MAX_HEIGHT)
			FAIL("CONFIGURE larger than the maximum window size");
		/* unknown bits are ignored, as the header asks of the host */
		c->states &= QM_GUI_STATE_MASK;
		break;
	}
	case QM_GUI_KEY:
		msg->u.key.time_ms = get32(p);
		msg->u.key.key = get32(p + 4);
		msg->u.key.pressed = get32(p + 8);
		if (msg->u.key.pressed > 1)
			FAIL("KEY with a state other than 0 or 1");
		/* evdev codes are below KEY_CNT (0x300) */
		if (msg->u.key.key >= 0x300)
			FAIL("KEY with a code beyond the evdev range");
		break;
	case QM_GUI_MODIFIERS:
		msg->u.modifiers.depressed = get32(p);
		msg->u.modifiers.latched = get32(p + 4);
		msg->u.modifiers.locked = get32(p + 8);
		msg->u.modifiers.group = get32(p + 12);
		break;
	case QM_GUI_POINTER_MOTION:
		msg->u.pointer.time_ms = get32(p);
		msg->u.pointer.x_256 = (int32_t)get32(p + 4);
		msg->u.pointer.y_256 = (int32_t)get32(p + 8);
		break;
	case QM_GUI_BUTTON:
		msg->u.button.time_ms = get32(p);
		msg->u.button.button = get32(p + 4);
		msg->u.button.pressed = get32(p + 8);
		if (msg->u.button.pressed > 1)
			FAIL("BUTTON with a state other than 0 or 1");
		if (msg->u.button.button >= 0x300)
			FAIL("BUTTON with a code beyond the evdev range");
		break;
	case QM_GUI_AXIS:
		msg->u.axis.time_ms = get32(p);
		msg->u.axis.axis = get32(p + 4);
		msg->u.axis.value_256 = (int32_t)get32(p + 8);
		if (msg->u.axis.axis > 1)
			FAIL("AXIS neither vertical (0) nor horizontal (1)");
		break;
	case QM_GUI_KEYMAP:
		/* NUL-terminated text, no NUL inside */
		if (len == 0 || p[len - 1] != '\0')
			FAIL("KEYMAP not NUL-terminated");
		if (memchr(p, '\0', len - 1) != NULL)
			FAIL("KEYMAP with a NUL inside");
		msg->data = p;
		msg->data_len = len - 1;
		break;
	case QM_GUI_SHM_RELEASE:
		/* the window's slots decide whether the offset is one */
		msg->u.shm_release.offset = get32(p);
		break;
	case QM_GUI_CLIPBOARD_SET:
		msg->data = p;
		msg->data_len = len;
		break;
	default:
		break;
	}
	return GA_DECODE_OK;
}

enum ga_decode_status ga_host_decode(const uint8_t *buf, size_t len,
				     bool hello_seen, struct ga_host_msg *msg,
				     size_t *consumed, const char **why)
{
	memset(msg, 0, sizeof(*msg));
	*why = NULL;
	if (len < QM_GUI_HEADER_SIZE)
		return GA_DECODE_INCOMPLETE;

	uint32_t untrusted_magic = get32(buf);
	uint32_t untrusted_type = get32(buf + 4);
	uint32_t untrusted_window = get32(buf + 8);
	uint32_t untrusted_length = get32(buf + 12);

	if (untrusted_magic != QM_GUI_MAGIC)
		FAIL("bad magic (not a qmgr GUI stream, or out of step)");
	const struct msg_rule *rule = find_rule(untrusted_type);
	if (rule == NULL)
		FAIL("unknown message type");
	if (!hello_seen && rule->type != QM_GUI_HELLO)
		FAIL("first message is not HELLO");
	if (hello_seen && rule->type == QM_GUI_HELLO)
		FAIL("second HELLO");
	if (rule->per_window ? untrusted_window == 0 : untrusted_window != 0)
		FAIL(rule->per_window ? "window 0 in a per-window message"
				      : "window set in a global message");
	if (rule->kind == FIXED ? untrusted_length != rule->size
				: untrusted_length > rule->size)
		FAIL("payload length wrong for the message type");

	/* sanitized: the header is within the rules */
	uint32_t length = untrusted_length;
	if (len - QM_GUI_HEADER_SIZE < length)
		return GA_DECODE_INCOMPLETE;

	msg->type = rule->type;
	msg->window = untrusted_window;
	enum ga_decode_status st = decode_payload(buf + QM_GUI_HEADER_SIZE,
						  length, msg, why);
	if (st == GA_DECODE_OK)
		*consumed = QM_GUI_HEADER_SIZE + (size_t)length;
	return st;
}
