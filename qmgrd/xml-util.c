/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "xml-util.h"

#include <libxml/parser.h>

xmlDoc *qm_xml_parse(const char *data, size_t len, const char *origin,
		     GError **error)
{
	if (len > G_MAXINT) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			    "%s: too large", origin);
		return NULL;
	}
	xmlDoc *doc = xmlReadMemory(data, (int)len, origin, NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR |
					    XML_PARSE_NOWARNING);
	if (doc == NULL) {
		const xmlError *e = xmlGetLastError();
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			    "%s:%d: not well-formed XML: %s", origin,
			    e ? e->line : 0,
			    e && e->message ? g_strstrip(e->message) : "?");
		return NULL;
	}
	if (doc->intSubset != NULL) {
		/* No DTDs: nothing here needs entities. */
		xmlFreeDoc(doc);
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			    "%s: DOCTYPE declarations are not allowed", origin);
		return NULL;
	}
	return doc;
}

char *qm_xml_attr(xmlNode *node, const char *name)
{
	xmlChar *v = xmlGetProp(node, BAD_CAST name);
	if (v == NULL)
		return NULL;
	char *copy = g_strdup((const char *)v);
	xmlFree(v);
	return copy;
}

char *qm_xml_text(xmlNode *node)
{
	xmlChar *v = xmlNodeGetContent(node);
	char *copy = g_strdup(v ? (const char *)v : "");
	xmlFree(v);
	return copy;
}
