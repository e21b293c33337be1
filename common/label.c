/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "label.h"

#include <string.h>
#include <glib.h>

static const struct {
	const char *name;
	const char *color;
	uint32_t rgb;
} labels[QM_LABEL_COUNT] = {
	[QM_LABEL_RED] = { "red", "#cc0000", 0xcc0000 },
	[QM_LABEL_ORANGE] = { "orange", "#f57900", 0xf57900 },
	[QM_LABEL_YELLOW] = { "yellow", "#edd400", 0xedd400 },
	[QM_LABEL_GREEN] = { "green", "#73d216", 0x73d216 },
	[QM_LABEL_GRAY] = { "gray", "#555753", 0x555753 },
	[QM_LABEL_BLUE] = { "blue", "#3465a4", 0x3465a4 },
	[QM_LABEL_PURPLE] = { "purple", "#75507b", 0x75507b },
	[QM_LABEL_BLACK] = { "black", "#000000", 0x000000 },
};

const char *qm_label_name(enum qm_label label)
{
	return (unsigned)label < QM_LABEL_COUNT ? labels[label].name : NULL;
}

const char *qm_label_color(enum qm_label label)
{
	return (unsigned)label < QM_LABEL_COUNT ? labels[label].color : NULL;
}

bool qm_label_from_name(const char *name, enum qm_label *out)
{
	for (unsigned i = 0; i < QM_LABEL_COUNT; i++) {
		if (strcmp(name, labels[i].name) == 0) {
			*out = i;
			return true;
		}
	}
	return false;
}

bool qm_label_rgb(const char *s, uint32_t *rgb)
{
	enum qm_label l;
	if (qm_label_from_name(s, &l)) {
		*rgb = labels[l].rgb;
		return true;
	}
	if (s[0] != '#' || strlen(s) != 7)
		return false;
	for (int i = 1; i < 7; i++)
		if (!g_ascii_isxdigit(s[i]))
			return false;
	*rgb = (uint32_t)g_ascii_strtoull(s + 1, NULL, 16);
	return true;
}
