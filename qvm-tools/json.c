/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The small JSON writer of `qvm-ls --json` (client.h, "JSON").
 */
#include "config.h"

#include "client.h"

#include <math.h>

void qm_json_append_string(GString *out, const char *s)
{
	g_string_append_c(out, '"');
	const char *p = s;
	while (*p) {
		unsigned char ch = (unsigned char)*p;
		if (ch < 0x80) {
			switch (ch) {
			case '"':
				g_string_append(out, "\\\"");
				break;
			case '\\':
				g_string_append(out, "\\\\");
				break;
			case '\n':
				g_string_append(out, "\\n");
				break;
			case '\r':
				g_string_append(out, "\\r");
				break;
			case '\t':
				g_string_append(out, "\\t");
				break;
			default:
				if (ch < 0x20 || ch == 0x7f)
					g_string_append_printf(out,
							       "\\u%04x",
							       ch);
				else
					g_string_append_c(out, (char)ch);
			}
			p++;
			continue;
		}
		gunichar u = g_utf8_get_char_validated(p, -1);
		if (u == (gunichar)-1 || u == (gunichar)-2) {
			/* not UTF-8: JSON cannot carry it */
			g_string_append(out, "\\ufffd");
			p++;
			continue;
		}
		const char *next = g_utf8_next_char(p);
		if (u == 0x2028 || u == 0x2029)
			/* valid JSON, but not valid JavaScript */
			g_string_append_printf(out, "\\u%04x", u);
		else
			g_string_append_len(out, p, next - p);
		p = next;
	}
	g_string_append_c(out, '"');
}

static bool is_string_keyed_dict(const GVariantType *t)
{
	if (!g_variant_type_is_array(t))
		return false;
	const GVariantType *e = g_variant_type_element(t);
	return g_variant_type_is_dict_entry(e) &&
	       g_variant_type_equal(g_variant_type_key(e),
				    G_VARIANT_TYPE_STRING);
}

void qm_json_append_variant(GString *out, GVariant *v)
{
	const GVariantType *t = g_variant_get_type(v);

	switch (g_variant_classify(v)) {
	case G_VARIANT_CLASS_STRING:
	case G_VARIANT_CLASS_OBJECT_PATH:
	case G_VARIANT_CLASS_SIGNATURE:
		qm_json_append_string(out, g_variant_get_string(v, NULL));
		return;
	case G_VARIANT_CLASS_BOOLEAN:
		g_string_append(out, g_variant_get_boolean(v) ? "true"
							       : "false");
		return;
	case G_VARIANT_CLASS_BYTE:
		g_string_append_printf(out, "%u", g_variant_get_byte(v));
		return;
	case G_VARIANT_CLASS_INT16:
		g_string_append_printf(out, "%d", g_variant_get_int16(v));
		return;
	case G_VARIANT_CLASS_UINT16:
		g_string_append_printf(out, "%u", g_variant_get_uint16(v));
		return;
	case G_VARIANT_CLASS_INT32:
		g_string_append_printf(out, "%" G_GINT32_FORMAT,
				       g_variant_get_int32(v));
		return;
	case G_VARIANT_CLASS_UINT32:
		g_string_append_printf(out, "%" G_GUINT32_FORMAT,
				       g_variant_get_uint32(v));
		return;
	case G_VARIANT_CLASS_INT64:
		g_string_append_printf(out, "%" G_GINT64_FORMAT,
				       g_variant_get_int64(v));
		return;
	case G_VARIANT_CLASS_UINT64:
		g_string_append_printf(out, "%" G_GUINT64_FORMAT,
				       g_variant_get_uint64(v));
		return;
	case G_VARIANT_CLASS_HANDLE:
		g_string_append_printf(out, "%" G_GINT32_FORMAT,
				       g_variant_get_handle(v));
		return;
	case G_VARIANT_CLASS_DOUBLE: {
		double d = g_variant_get_double(v);
		if (!isfinite(d)) {
			g_string_append(out, "null");
			return;
		}
		char buf[G_ASCII_DTOSTR_BUF_SIZE];
		g_string_append(out, g_ascii_dtostr(buf, sizeof(buf), d));
		return;
	}
	case G_VARIANT_CLASS_VARIANT: {
		g_autoptr(GVariant) inner = g_variant_get_variant(v);
		qm_json_append_variant(out, inner);
		return;
	}
	case G_VARIANT_CLASS_MAYBE: {
		g_autoptr(GVariant) inner = g_variant_get_maybe(v);
		if (inner == NULL)
			g_string_append(out, "null");
		else
			qm_json_append_variant(out, inner);
		return;
	}
	case G_VARIANT_CLASS_ARRAY:
		if (is_string_keyed_dict(t)) {
			g_string_append_c(out, '{');
			for (gsize i = 0; i < g_variant_n_children(v); i++) {
				g_autoptr(GVariant) key = NULL;
				g_autoptr(GVariant) val = NULL;
				g_autoptr(GVariant) e =
					g_variant_get_child_value(v, i);
				key = g_variant_get_child_value(e, 0);
				val = g_variant_get_child_value(e, 1);
				if (i > 0)
					g_string_append_c(out, ',');
				qm_json_append_string(
					out, g_variant_get_string(key, NULL));
				g_string_append_c(out, ':');
				qm_json_append_variant(out, val);
			}
			g_string_append_c(out, '}');
			return;
		}
		/* other arrays as JSON arrays */
		G_GNUC_FALLTHROUGH;
	case G_VARIANT_CLASS_TUPLE:
	case G_VARIANT_CLASS_DICT_ENTRY:
		g_string_append_c(out, '[');
		for (gsize i = 0; i < g_variant_n_children(v); i++) {
			g_autoptr(GVariant) child =
				g_variant_get_child_value(v, i);
			if (i > 0)
				g_string_append_c(out, ',');
			qm_json_append_variant(out, child);
		}
		g_string_append_c(out, ']');
		return;
	}
	g_autofree char *text = g_variant_print(v, FALSE);
	qm_json_append_string(out, text);
}
