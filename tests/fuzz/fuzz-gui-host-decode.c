/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: any bytes as the host's GUI stream into the guest
 * compositor's decoder (guest-agent/gui/host-link-decode.c).
 *
 * The input is decoded message by message as qmgr-gui-agent does, with
 * HELLO tracked; for each accepted message the target checks what the
 * agent relies on: the consumed length is the header and its payload and
 * within the input, per-window types carry a window id and the others
 * none, the data of KEYMAP/CLIPBOARD_SET lies inside the message (read in
 * full, so ASan sees any overread) and within its limit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "host-link-decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                           \
	do {                                                               \
		if (!(x)) {                                                \
			fprintf(stderr, "fuzz-gui-host-decode: invariant " \
				"violated: %s\n", #x);                     \
			abort();                                           \
		}                                                          \
	} while (0)

static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool hello_seen = false;
	size_t off = 0;

	while (off < size) {
		struct ga_host_msg msg;
		size_t used = 0;
		const char *why = NULL;
		enum ga_decode_status st = ga_host_decode(
			data + off, size - off, hello_seen, &msg, &used, &why);
		if (st == GA_DECODE_INVALID) {
			CHECK(why != NULL && *why != '\0');
			break;
		}
		if (st == GA_DECODE_INCOMPLETE)
			break;
		CHECK(used >= QM_GUI_HEADER_SIZE && used <= size - off);
		CHECK(hello_seen == (msg.type != QM_GUI_HELLO));
		hello_seen = true;
		bool per_window = msg.type != QM_GUI_HELLO &&
				  msg.type != QM_GUI_KEYMAP &&
				  msg.type != QM_GUI_CLIPBOARD_REQUEST &&
				  msg.type != QM_GUI_CLIPBOARD_SET;
		CHECK(per_window == (msg.window != 0));
		if (msg.type == QM_GUI_KEYMAP ||
		    msg.type == QM_GUI_CLIPBOARD_SET) {
			size_t max = msg.type == QM_GUI_KEYMAP
					     ? QM_GUI_MAX_KEYMAP
					     : QM_GUI_MAX_CLIPBOARD;
			CHECK(msg.data_len <= max);
			CHECK(msg.data_len == 0 ||
			      (msg.data >= data + off + QM_GUI_HEADER_SIZE &&
			       msg.data + msg.data_len <= data + off + used));
			uint8_t x = 0;
			for (size_t i = 0; i < msg.data_len; i++)
				x ^= msg.data[i];
			sink = x;
		}
		off += used;
	}
	return 0;
}
