/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: any bytes as a stream on a qmgr channel (the admin
 * socket or a guest's virtio-serial port).
 *
 * Decodes messages one after the other, as qm_conn does, and checks: a
 * decoded message consumed at least a header and at most the input, its
 * payload has exactly the type's GVariant type and is in normal form, and
 * re-encoding it gives back the same bytes (the decoder accepts only what
 * the encoder produces).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                           \
	do {                                                               \
		if (!(x)) {                                                \
			fprintf(stderr, "fuzz-wire: check failed: %s\n", #x); \
			abort();                                           \
		}                                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		struct qm_wire_msg msg;
		size_t used = 0;
		GError *err = NULL;
		enum qm_wire_status st = qm_wire_decode(data + off, size - off,
							&used, &msg, &err);
		if (st != QM_WIRE_OK) {
			CHECK(msg.payload == NULL);
			CHECK((st == QM_WIRE_ERROR) == (err != NULL));
			g_clear_error(&err);
			break;
		}
		CHECK(used >= QM_WIRE_HEADER_SIZE && used <= size - off);
		const char *vt = qm_wire_payload_type(msg.type);
		CHECK(vt != NULL);
		CHECK(g_variant_is_of_type(msg.payload, G_VARIANT_TYPE(vt)));
		CHECK(g_variant_is_normal_form(msg.payload));
		g_autoptr(GBytes) again = qm_wire_encode(
			msg.type, msg.stream, g_variant_ref(msg.payload));
		CHECK(again != NULL);
		CHECK(g_bytes_get_size(again) == used);
		CHECK(memcmp(g_bytes_get_data(again, NULL), data + off, used) ==
		      0);
		qm_wire_msg_clear(&msg);

		/* The no-copy decoder of conn.c's large messages agrees. */
		g_autoptr(GBytes) whole = g_bytes_new(data + off, used);
		size_t used2 = 0;
		CHECK(qm_wire_decode_bytes(whole, 0, &used2, &msg, NULL) ==
		      QM_WIRE_OK);
		CHECK(used2 == used);
		g_autoptr(GBytes) again2 = qm_wire_encode(
			msg.type, msg.stream, g_steal_pointer(&msg.payload));
		CHECK(g_bytes_equal(again, again2));
		off += used;
	}
	return 0;
}
