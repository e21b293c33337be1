/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gui-proxy's --guest NAME:COLOR:SOCKET argument and label colours. */
#include <string.h>
#include <glib.h>

#include "proxy.h"

#ifdef NDEBUG
#error "tests need assertions"
#endif

struct guest_case {
	const char *name;
	const char *arg;
	bool ok;
	uint32_t color;
	const char *message_part;
};

static const struct guest_case cases[] = {
	{ "label-name", "work:green:/run/a.sock", true, 0x73d216, NULL },
	{ "hex-colour", "work:#0A0b0C:/run/a.sock", true, 0x0a0b0c, NULL },
	{ "every-label", "w:purple:/s", true, 0x75507b, NULL },
	{ "socket-with-colon", "w:red:/run/a:b", true, 0xcc0000, NULL },
	{ "unknown-label", "work:pink:/s", false, 0, "unknown colour 'pink'" },
	{ "short-hex", "work:#fff:/s", false, 0, "unknown colour" },
	{ "bad-hex", "work:#ggg000:/s", false, 0, "unknown colour" },
	{ "missing-socket", "work:red:", false, 0, "NAME:COLOR:SOCKET" },
	{ "missing-parts", "work", false, 0, "NAME:COLOR:SOCKET" },
	{ "name-with-dot", "wo.rk:red:/s", false, 0, "bad name 'wo.rk'" },
	{ "name-with-bidi", "w\xe2\x80\xaek:red:/s", false, 0, "bad name" },
	{ "name-starts-with-digit", "1work:red:/s", false, 0, "bad name" },
	{ "name-too-long", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:red:/s", false, 0,
	  "bad name" },
	{ "empty-name", ":red:/s", false, 0, "bad name" },
};

static void test_guest_case(gconstpointer data)
{
	const struct guest_case *c = data;
	struct gp_guest_config cfg = { 0 };
	g_autoptr(GError) err = NULL;
	bool ok = gp_guest_config_parse(c->arg, &cfg, &err);

	g_assert_cmpint(ok, ==, c->ok);
	if (ok) {
		g_assert_no_error(err);
		g_assert_cmpuint(cfg.color, ==, c->color);
		g_assert_nonnull(cfg.name);
		g_assert_nonnull(cfg.socket_path);
	} else {
		g_assert_nonnull(err);
		if (!strstr(err->message, c->message_part))
			g_error("'%s' lacks '%s'", err->message,
				c->message_part);
		g_assert_null(cfg.name);
	}
	gp_guest_config_finish(&cfg);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *path = g_strdup_printf("/gui/label/%s",
							cases[i].name);
		g_test_add_data_func(path, &cases[i], test_guest_case);
	}
	return g_test_run();
}
