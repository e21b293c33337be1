/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writers of the qmgr.Filecopy stream and result (format.h), for the
 * sender, the receiver and the tests.  They trust their caller: the checks
 * live in the decoder.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "format.h"

#define QFC_STREAM_HEADER_SIZE sizeof(struct qfc_stream_header)
#define QFC_ENTRY_HEADER_SIZE sizeof(struct qfc_entry_header)

void qfc_stream_header_encode(uint8_t out[QFC_STREAM_HEADER_SIZE]);

/* An entry header; all zero (qfc_end_marker_encode) ends the stream. */
void qfc_entry_header_encode(uint8_t out[QFC_ENTRY_HEADER_SIZE],
			     uint32_t mode, uint32_t name_len, uint64_t size,
			     int64_t mtime_sec, uint32_t mtime_nsec);
void qfc_end_marker_encode(uint8_t out[QFC_ENTRY_HEADER_SIZE]);

/*
 * The receiver's answer.  `name` (name_len bytes; cut at a NUL and at
 * QFC_PATH_MAX) is the entry that failed; `message` is made valid UTF-8
 * and cut at QFC_MESSAGE_MAX.  For QFC_RESULT_OK both are dropped.
 */
GBytes *qfc_result_encode(enum qfc_result_code code, int32_t error,
			  uint64_t entries, uint64_t bytes, const char *name,
			  size_t name_len, const char *message);
