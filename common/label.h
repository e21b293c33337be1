/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Qubes OS's labels: the colour of a qube's window borders (gui-proxy), of
 * its entry in the tray (qmgr-tray), the `label` property (qmgrd).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum qm_label {
	QM_LABEL_RED, QM_LABEL_ORANGE, QM_LABEL_YELLOW, QM_LABEL_GREEN,
	QM_LABEL_GRAY, QM_LABEL_BLUE, QM_LABEL_PURPLE, QM_LABEL_BLACK,
	QM_LABEL_COUNT,
};
/* "red", ...; NULL for a value that is not a label. */
const char *qm_label_name(enum qm_label label);
bool qm_label_from_name(const char *name, enum qm_label *out);
/* "#cc0000", ...; NULL for a value that is not a label. */
const char *qm_label_color(enum qm_label label);
/* 0xRRGGBB of a label's name or of "#rrggbb"; false for anything else. */
bool qm_label_rgb(const char *name_or_hex, uint32_t *rgb);
