/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small libxml2 helpers: safe parsing and attribute/text access. */
#pragma once

#include <stddef.h>
#include <glib.h>
#include <libxml/tree.h>

#include "cleanup.h"

/* Parses without network access, entity expansion or DTD loading. */
xmlDoc *qm_xml_parse(const char *data, size_t len, const char *origin,
		     GError **error);
/* g_malloc'd copies (NULL when absent / "" for no text). */
char *qm_xml_attr(xmlNode *node, const char *name);
char *qm_xml_text(xmlNode *node);
