/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmgr-tray's parts without D-Bus: sanitizing guest text, the rate limit,
 * the icon's state and pixels, the label PNGs, the configuration, the
 * questions and the menu built from a table of qubes.
 */
#include <string.h>
#include <zlib.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "tray.h"

#ifdef NDEBUG
#error "tests need assertions"
#endif

/* ---- sanitize ---- */

struct sanitize_case {
	const char *name;
	const char *in;
	size_t max;
	const char *out;
};

/* The table of sanitizer cases is tests/common/test-text-sanitize.c's;
 * here: the tray uses the mode that marks what it removes. */
static const struct sanitize_case sanitize_cases[] = {
	{ "marks-controls", "a\nb\x1b", 80, "a?b?" },
	{ "marks-invalid-utf8", "a\xff" "b", 80, "a\xef\xbf\xbd" "b" },
	{ "removes-bidi", "work\xe2\x80\xae" "lanosrep", 80, "worklanosrep" },
	{ "marks-the-cut", "abcdefgh", 5, "abcde\xe2\x80\xa6" },
	{ "null", NULL, 80, "" },
};

static void test_sanitize(gconstpointer data)
{
	const struct sanitize_case *c = data;
	g_autofree char *got = qt_sanitize(c->in, c->max);

	g_assert_cmpstr(got, ==, c->out);
	g_assert_true(g_utf8_validate(got, -1, NULL));
}

static void test_escapes(void)
{
	g_autofree char *u = qt_menu_escape("my_qube");

	g_assert_cmpstr(u, ==, "my__qube");
}

/* ---- icon ---- */

struct icon_case {
	const char *name;
	bool reachable;
	unsigned int running, questions;
	enum qt_icon_state state;
	uint32_t centre;     /* ARGB of the middle pixel's fill */
};

static const struct icon_case icon_cases[] = {
	{ "unreachable-wins", false, 3, 2, QT_ICON_UNREACHABLE, 0 },
	{ "idle", true, 0, 0, QT_ICON_IDLE, 0xffffffff },
	{ "running", true, 2, 0, QT_ICON_RUNNING, 0xff4e9a06 },
	{ "request-wins-over-running", true, 2, 1, QT_ICON_REQUEST, 0 },
	{ "request-without-running", true, 0, 1, QT_ICON_REQUEST, 0 },
};

static uint32_t pixel(GBytes *b, int size, int x, int y)
{
	gsize n;
	const uint8_t *p = g_bytes_get_data(b, &n);

	g_assert_cmpuint(n, ==, (gsize)size * size * 4);
	p += ((size_t)y * size + x) * 4;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void test_icon(gconstpointer data)
{
	const struct icon_case *c = data;
	enum qt_icon_state st = qt_icon_state_of(c->reachable, c->running,
						 c->questions);

	g_assert_cmpint(st, ==, c->state);
	g_autoptr(GBytes) px = qt_icon_pixmap(st, 32);
	/* the corner is transparent in every state */
	g_assert_cmpuint(pixel(px, 32, 0, 0), ==, 0);
	if (c->centre)
		g_assert_cmphex(pixel(px, 32, 10, 10), ==, c->centre);
}

/* The four states are told apart by their pixels, at every size. */
static void test_icons_differ(void)
{
	static const int sizes[] = { 16, 22, 24, 32, 48, 64 };

	for (size_t s = 0; s < G_N_ELEMENTS(sizes); s++) {
		GBytes *b[4];
		for (int i = 0; i < 4; i++)
			b[i] = qt_icon_pixmap((enum qt_icon_state)i, sizes[s]);
		for (int i = 0; i < 4; i++)
			for (int j = i + 1; j < 4; j++)
				g_assert_false(g_bytes_equal(b[i], b[j]));
		for (int i = 0; i < 4; i++)
			g_bytes_unref(b[i]);
	}
	/* the request icon has orange, the running one none */
	g_autoptr(GBytes) req = qt_icon_pixmap(QT_ICON_REQUEST, 32);
	g_assert_cmphex(pixel(req, 32, 8, 8), ==, 0xfff57900);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* The PNG is valid: signature, chunk CRCs, and its pixels inflate to the
 * colour asked for. */
static void test_png(void)
{
	g_autoptr(GBytes) png = qt_png_square(0x3465a4, 16);
	gsize n;
	const uint8_t *p = g_bytes_get_data(png, &n);
	static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a,
					'\n' };

	g_assert_cmpmem(p, 8, sig, 8);
	size_t off = 8;
	const uint8_t *idat = NULL;
	uint32_t idat_len = 0;
	int chunks = 0;
	while (off + 12 <= n) {
		uint32_t len = be32(p + off);
		g_assert_cmpuint(off + 12 + len, <=, n);
		uint32_t crc = (uint32_t)crc32(0, p + off + 4, len + 4);
		g_assert_cmphex(crc, ==, be32(p + off + 8 + len));
		if (memcmp(p + off + 4, "IHDR", 4) == 0) {
			g_assert_cmpuint(be32(p + off + 8), ==, 16);
			g_assert_cmpuint(be32(p + off + 12), ==, 16);
		} else if (memcmp(p + off + 4, "IDAT", 4) == 0) {
			idat = p + off + 8;
			idat_len = len;
		}
		chunks++;
		off += 12 + len;
	}
	g_assert_cmpuint(off, ==, n);
	g_assert_cmpint(chunks, ==, 3);
	g_assert_nonnull(idat);
	uint8_t raw[16 * (1 + 16 * 3)];
	uLongf raw_len = sizeof(raw);
	g_assert_cmpint(uncompress(raw, &raw_len, idat, idat_len), ==, Z_OK);
	g_assert_cmpuint(raw_len, ==, sizeof(raw));
	const uint8_t *mid = raw + 8 * (1 + 48) + 1 + 8 * 3;
	g_assert_cmphex(mid[0], ==, 0x34);
	g_assert_cmphex(mid[1], ==, 0x65);
	g_assert_cmphex(mid[2], ==, 0xa4);
}

struct label_case {
	const char *label;
	bool ok;
	uint32_t rgb;
};

static const struct label_case label_cases[] = {
	{ "red", true, 0xcc0000 },   { "black", true, 0x000000 },
	{ "purple", true, 0x75507b }, { "#0a0B0c", true, 0x0a0b0c },
	{ "pink", false, 0 },        { "#fff", false, 0 },
	{ "#ggg000", false, 0 },     { "", false, 0 },
};

static void test_labels(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(label_cases); i++) {
		uint32_t rgb = 0x123456;
		bool ok = qm_label_rgb(label_cases[i].label, &rgb);
		g_assert_cmpint(ok, ==, label_cases[i].ok);
		if (ok)
			g_assert_cmphex(rgb, ==, label_cases[i].rgb);
	}
}

/* ---- the menu ---- */

struct qube_row {
	const char *name, *state, *klass, *label;
	bool dvm;
};

static GPtrArray *qubes_of(const struct qube_row *rows, size_t n)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(
		(GDestroyNotify)qt_qube_free);

	for (size_t i = 0; i < n; i++) {
		struct qt_qube *q = g_new0(struct qt_qube, 1);
		q->name = g_strdup(rows[i].name);
		q->state = g_strdup(rows[i].state);
		q->klass = g_strdup(rows[i].klass);
		q->label = g_strdup(rows[i].label);
		q->dispvm_template = rows[i].dvm;
		g_ptr_array_add(a, q);
	}
	return a;
}

/* "label[action]" of each child, joined by '|': a compact picture. */
static char *picture(const struct qt_item *it)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; it->children && i < it->children->len; i++) {
		const struct qt_item *c = it->children->pdata[i];
		if (s->len)
			g_string_append_c(s, '|');
		g_string_append(s, c->separator ? "-" : c->label);
		if (!c->enabled)
			g_string_append(s, "(off)");
	}
	return g_string_free(s, false);
}

static const struct qt_item *child(const struct qt_item *it, guint i)
{
	g_assert_nonnull(it->children);
	g_assert_cmpuint(i, <, it->children->len);
	return it->children->pdata[i];
}

static const struct qube_row rows[] = {
	{ "dom0", "Running", "AdminVM", "black", false },
	{ "zeta", "Halted", "AppVM", "red", false },
	{ "work", "Running", "AppVM", "blue", false },
	{ "alpha", "Crashed", "AppVM", "green", false },
	{ "my_dvm", "Halted", "AppVM", "purple", true },
	{ "booting", "Transient", "AppVM", "yellow", false },
	{ "pool1", "Paused", "DispVM", "purple", false },
	{ "odd", "Halted", "AppVM", "pink", false },
};

struct menu_case {
	const char *qube;      /* the child of root with this name ... */
	const char *picture;   /* ... has these children */
};

static const struct menu_case menu_cases[] = {
	{ "work \xe2\x80\x94 Running",
	  "Open terminal|Terminal|-|Shut down|Kill" },
	{ "zeta \xe2\x80\x94 Halted", "Start|Open terminal|Terminal" },
	{ "alpha \xe2\x80\x94 Crashed", "Start|Open terminal|Terminal" },
	{ "booting \xe2\x80\x94 Transient", "Kill" },
	{ "pool1 \xe2\x80\x94 Paused", "Kill" },
	{ "Disposable", "my__dvm" },
};

static void test_menu(void)
{
	g_autoptr(GPtrArray) qubes = qubes_of(rows, G_N_ELEMENTS(rows));
	struct qt_config *cfg = qt_config_new_default();
	struct qt_menu_ids *ids = qt_menu_ids_create();
	g_autoptr(GPtrArray) qs = g_ptr_array_new();
	struct qt_menu_input in = { .reachable = true, .qubes = qubes,
				    .questions = qs, .config = cfg };
	struct qt_item *root = qt_menu_build(&in, ids);
	g_autofree char *top = picture(root);

	/* running first (by name), then the others; dom0 left out; the
	 * Disposable submenu last */
	g_assert_cmpstr(top, ==,
			"booting \xe2\x80\x94 Transient|"
			"pool1 \xe2\x80\x94 Paused|"
			"work \xe2\x80\x94 Running|"
			"alpha \xe2\x80\x94 Crashed|"
			"my__dvm \xe2\x80\x94 Halted|"
			"odd \xe2\x80\x94 Halted|"
			"zeta \xe2\x80\x94 Halted|-|Disposable");
	g_assert_cmpuint(qt_qubes_running(qubes), ==, 4);
	for (size_t i = 0; i < G_N_ELEMENTS(menu_cases); i++) {
		const struct qt_item *found = NULL;
		for (guint j = 0; j < root->children->len; j++) {
			const struct qt_item *c = root->children->pdata[j];
			if (strcmp(c->label, menu_cases[i].qube) == 0)
				found = c;
		}
		g_assert_nonnull(found);
		g_autofree char *pic = picture(found);
		g_assert_cmpstr(pic, ==, menu_cases[i].picture);
	}
	/* label colours: blue for work, none for an unknown label */
	const struct qt_item *work = child(root, 2);
	g_assert_true(work->has_color);
	g_assert_cmphex(work->color, ==, 0x3465a4);
	g_assert_false(child(root, 5)->has_color);
	/* what the entries do */
	const struct qt_item *start = child(child(root, 6), 0);
	g_assert_cmpint(start->action, ==, QT_ACT_START);
	g_assert_cmpstr(start->vm, ==, "zeta");
	const struct qt_item *term = child(work, 0);
	g_assert_cmpint(term->action, ==, QT_ACT_RUN);
	g_assert_cmpstr(term->arg, ==, "foot");
	g_assert_cmpint(child(work, 3)->action, ==, QT_ACT_SHUTDOWN);
	g_assert_cmpint(child(work, 4)->action, ==, QT_ACT_KILL);
	const struct qt_item *dvm = child(child(root, 8), 0);
	g_autofree char *dpic = picture(dvm);
	g_assert_cmpstr(dpic, ==, "Firefox|Terminal");
	g_assert_cmpstr(child(dvm, 0)->vm, ==, "@dispvm:my_dvm");
	g_assert_cmpstr(child(dvm, 0)->arg, ==, "firefox-esr");
	g_assert_cmpint(child(dvm, 1)->action, ==, QT_ACT_RUN);

	/* the same item keeps its id when the menu is built again, after a
	 * state change; a new item gets a new id; ids are unique */
	int32_t work_kill = child(work, 4)->id;
	int32_t zeta_start = start->id;
	g_assert_true(qt_item_find(root, work_kill) == child(work, 4));
	g_assert_null(qt_item_find(root, 99999));
	((struct qt_qube *)qubes->pdata[1])->state = (g_free(
		((struct qt_qube *)qubes->pdata[1])->state), g_strdup("Running"));
	struct qt_item *again = qt_menu_build(&in, ids);
	const struct qt_item *k = qt_item_find(again, work_kill);
	g_assert_nonnull(k);
	g_assert_cmpint(k->action, ==, QT_ACT_KILL);
	g_assert_cmpstr(k->vm, ==, "work");
	/* zeta runs now: its Start entry is gone, its id names nothing */
	g_assert_null(qt_item_find(again, zeta_start));
	g_autofree char *top2 = picture(again);
	g_assert_true(g_str_has_prefix(top2,
				       "booting \xe2\x80\x94 Transient|"
				       "pool1 \xe2\x80\x94 Paused|"
				       "work \xe2\x80\x94 Running|"
				       "zeta \xe2\x80\x94 Running|"));
	qt_item_destroy(again);
	qt_item_destroy(root);
	qt_menu_ids_destroy(ids);
	qt_config_destroy(cfg);
}

static void test_menu_unreachable(void)
{
	struct qt_config *cfg = qt_config_new_default();
	struct qt_menu_ids *ids = qt_menu_ids_create();
	g_autoptr(GPtrArray) qubes = qubes_of(rows, 3);
	struct qt_menu_input in = {
		.reachable = false,
		.unreachable_why = "No such file\n(is qmgrd running?)",
		.qubes = qubes, .config = cfg
	};
	struct qt_item *root = qt_menu_build(&in, ids);
	g_autofree char *pic = picture(root);

	g_assert_cmpstr(pic, ==,
			"qmgrd is not reachable: No such file?(is qmgrd "
			"running?) (retrying)(off)");
	qt_item_destroy(root);
	/* reachable with no qubes: says so */
	g_autoptr(GPtrArray) none = g_ptr_array_new();
	struct qt_menu_input empty = { .reachable = true, .qubes = none,
				       .config = cfg };
	root = qt_menu_build(&empty, ids);
	g_autofree char *pic2 = picture(root);
	g_assert_cmpstr(pic2, ==, "No qubes (qvm-create)(off)");
	qt_item_destroy(root);
	qt_menu_ids_destroy(ids);
	qt_config_destroy(cfg);
}

static GVariant *ask_props(guint32 id, const char *source,
			   const char *service, const char *arg,
			   const char *const *targets, const char *def)
{
	GVariantDict d;

	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert(&d, "id", "u", id);
	g_variant_dict_insert(&d, "source", "s", source);
	g_variant_dict_insert(&d, "service", "s", service);
	g_variant_dict_insert(&d, "argument", "s", arg);
	g_variant_dict_insert(&d, "targets", "^as", targets);
	/* qmgrd always sends it, "" for none */
	g_variant_dict_insert(&d, "default_target", "s", def ? def : "");
	g_variant_dict_insert(&d, "timeout", "u", 60u);
	return g_variant_ref_sink(g_variant_dict_end(&d));
}

static void test_menu_requests(void)
{
	struct qt_config *cfg = qt_config_new_default();
	struct qt_menu_ids *ids = qt_menu_ids_create();
	struct qt_prompts *p = qt_prompts_create();
	g_autoptr(GPtrArray) qubes = qubes_of(rows + 2, 1);
	static const char *const t1[] = { "alpha", "personal", "zeta", NULL };
	/* a guest trying to disguise its request: a bidi override, a
	 * newline, markup */
	g_autoptr(GVariant) a1 = ask_props(
		7, "work", "test.Ask", "+x\xe2\x80\xae\ny<b>", t1, "personal");
	g_autoptr(GVariant) a2 = ask_props(9, "work", "qmgr.Filecopy", "+",
					   t1 + 2, NULL);

	g_assert_nonnull(qt_prompts_ask(p, a1, 0));
	g_assert_nonnull(qt_prompts_ask(p, a2, 0));
	struct qt_menu_input in = { .reachable = true, .qubes = qubes,
				    .questions = qt_prompts_list(p),
				    .config = cfg };
	struct qt_item *root = qt_menu_build(&in, ids);
	g_autofree char *top = picture(root);
	g_assert_cmpstr(top, ==,
			"Requests (2)|-|work \xe2\x80\x94 Running");
	const struct qt_item *req = child(root, 0);
	g_autofree char *rp = picture(req);
	g_assert_cmpstr(rp, ==,
			"work wants test.Ask+x?y<b>|"
			"work wants qmgr.Filecopy");
	/* targets: the default first, then the others in order; Deny */
	const struct qt_item *q7 = child(req, 0);
	g_autofree char *p7 = picture(q7);
	g_assert_cmpstr(p7, ==,
			"Allow to personal (default)|Allow to alpha|"
			"Allow to zeta|-|Deny");
	g_assert_cmpint(child(q7, 0)->action, ==, QT_ACT_ANSWER);
	g_assert_cmpuint(child(q7, 0)->question, ==, 7);
	g_assert_cmpstr(child(q7, 0)->arg, ==, "personal");
	g_assert_cmpstr(child(q7, 4)->arg, ==, "");
	g_assert_true(qt_prompts_offers(p, 7, "zeta"));
	g_assert_true(qt_prompts_offers(p, 7, ""));
	g_assert_false(qt_prompts_offers(p, 7, "nope"));
	g_assert_false(qt_prompts_offers(p, 8, ""));
	g_assert_true(qt_prompts_forget(p, 7));
	g_assert_false(qt_prompts_forget(p, 7));
	g_assert_cmpuint(qt_prompts_list(p)->len, ==, 1);
	qt_item_destroy(root);
	qt_prompts_destroy(p);
	qt_menu_ids_destroy(ids);
	qt_config_destroy(cfg);
}

/* prompt-ask events that are malformed are refused whole. */
static void test_prompt_validation(void)
{
	struct qt_prompts *p = qt_prompts_create();
	static const char *const t[] = { "a", "b", NULL };
	static const char *const none[] = { NULL };
	static const char *const empty[] = { "", NULL };
	g_autoptr(GVariant) id0 = ask_props(0, "w", "s", "+", t, NULL);
	g_autoptr(GVariant) no_targets = ask_props(1, "w", "s", "+", none,
						   NULL);
	g_autoptr(GVariant) empty_target = ask_props(2, "w", "s", "+", empty,
						     NULL);
	g_autoptr(GVariant) bad_default = ask_props(3, "w", "s", "+", t, "c");
	g_autoptr(GVariant) wrong_type = g_variant_ref_sink(g_variant_new_parsed(
		"{'id': <uint32 4>, 'source': <'w'>, 'service': <'s'>, "
		"'argument': <'+'>, 'targets': <'a'>, 'timeout': <uint32 5>}"));
	g_autoptr(GVariant) good = ask_props(5, "w", "s", "+", t, "b");

	g_test_expect_message("qmgr-tray", G_LOG_LEVEL_WARNING, "*");
	g_assert_null(qt_prompts_ask(p, id0, 0));
	g_test_expect_message("qmgr-tray", G_LOG_LEVEL_WARNING, "*");
	g_assert_null(qt_prompts_ask(p, no_targets, 0));
	g_test_expect_message("qmgr-tray", G_LOG_LEVEL_WARNING, "*");
	g_assert_null(qt_prompts_ask(p, empty_target, 0));
	g_test_expect_message("qmgr-tray", G_LOG_LEVEL_WARNING, "*");
	g_assert_null(qt_prompts_ask(p, bad_default, 0));
	g_test_expect_message("qmgr-tray", G_LOG_LEVEL_WARNING, "*");
	g_assert_null(qt_prompts_ask(p, wrong_type, 0));
	g_test_assert_expected_messages();
	const struct qt_question *q = qt_prompts_ask(p, good,
						     5 * G_USEC_PER_SEC);
	g_assert_nonnull(q);
	g_assert_cmpstr(q->targets[0], ==, "b");
	g_assert_cmpstr(q->targets[1], ==, "a");
	g_assert_null(q->targets[2]);
	g_assert_cmpint(q->deadline, ==, 65 * G_USEC_PER_SEC);
	/* asked again (same id): replaced, not doubled */
	g_assert_nonnull(qt_prompts_ask(p, good, 0));
	g_assert_cmpuint(qt_prompts_list(p)->len, ==, 1);
	qt_prompts_destroy(p);
}

/* ---- notices from state changes ---- */

struct notice_case {
	const char *old, *now, *notice;
};

static const struct notice_case notice_cases[] = {
	{ "Halted", "Transient", NULL },
	{ "Transient", "Running", "started" },
	{ NULL, "Running", "started" },
	{ "Running", "Running", NULL },         /* detail changed only */
	{ "Paused", "Running", NULL },          /* a resume, not a start */
	{ "Running", "Halting", NULL },
	{ "Halting", "Halted", "stopped" },
	{ "Running", "Halted", "stopped" },
	{ "Transient", "Halted", "stopped" },   /* a start that failed */
	{ "Paused", "Halted", "stopped" },
	{ "Halted", "Halted", NULL },
	{ "Crashed", "Halted", NULL },
	{ NULL, "Halted", NULL },
	{ "Running", "Crashed", "crashed" },
	{ "Crashed", "Crashed", NULL },
	{ "Running", "Paused", NULL },
};

static void test_notices(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(notice_cases); i++) {
		const struct notice_case *c = &notice_cases[i];
		const char *got = qt_state_notice(c->old, c->now);
		if (g_strcmp0(got, c->notice) != 0)
			g_error("%s -> %s: '%s', want '%s'",
				c->old ? c->old : "(unknown)", c->now,
				got ? got : "(none)",
				c->notice ? c->notice : "(none)");
	}
}

/* ---- configuration ---- */

static void test_config(void)
{
	g_autofree char *dir = g_dir_make_tmp("qmgr-tray-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "tray.conf", NULL);
	g_autofree char *missing = g_build_filename(dir, "none.conf", NULL);
	g_autoptr(GError) err = NULL;

	g_assert_true(g_file_set_contents(path,
		"[tray]\nterminal=xterm\n"
		"[menu]\nFirefox=firefox-esr\nFiles=nautilus\n"
		"[vm:work]\nFiles=\nMail=thunderbird\n", -1, NULL));
	struct qt_config *cfg = qt_config_load(path, &err);
	g_assert_no_error(err);
	g_assert_cmpstr(qt_config_terminal(cfg), ==, "xterm");
	g_autoptr(GPtrArray) w = qt_config_entries(cfg, "work");
	g_autoptr(GPtrArray) o = qt_config_entries(cfg, "other");
	g_assert_cmpuint(w->len, ==, 2);
	g_assert_cmpstr(((struct qt_menu_entry *)w->pdata[0])->name, ==,
			"Firefox");
	g_assert_cmpstr(((struct qt_menu_entry *)w->pdata[1])->command, ==,
			"thunderbird");
	g_assert_cmpuint(o->len, ==, 2);
	g_assert_cmpstr(((struct qt_menu_entry *)o->pdata[1])->command, ==,
			"nautilus");
	qt_config_destroy(cfg);

	/* no file: the defaults */
	cfg = qt_config_load(missing, &err);
	g_assert_no_error(err);
	g_autoptr(GPtrArray) d = qt_config_entries(cfg, "x");
	g_assert_cmpuint(d->len, ==, 1);
	g_assert_cmpstr(((struct qt_menu_entry *)d->pdata[0])->command, ==,
			"foot");
	qt_config_destroy(cfg);

	/* an unknown group is an error naming the file */
	g_assert_true(g_file_set_contents(path, "[menus]\nA=b\n", -1, NULL));
	g_assert_null(qt_config_load(path, &err));
	g_assert_nonnull(err);
	g_assert_nonnull(strstr(err->message, "unknown group [menus]"));
	g_assert_nonnull(strstr(err->message, path));
	g_unlink(path);
	g_rmdir(dir);
}

/* ---- the exported layout ---- */

static void test_layout(void)
{
	g_autoptr(GPtrArray) qubes = qubes_of(rows + 2, 1);
	struct qt_config *cfg = qt_config_new_default();
	struct qt_menu_ids *ids = qt_menu_ids_create();
	struct qt_menu_input in = { .reachable = true, .qubes = qubes,
				    .config = cfg };
	struct qt_item *root = qt_menu_build(&in, ids);
	g_autoptr(GVariant) all = g_variant_ref_sink(
		qt_dbusmenu_layout(root, -1, NULL));
	g_autoptr(GVariant) one = g_variant_ref_sink(
		qt_dbusmenu_layout(root, 1, NULL));
	static const char *const only_label[] = { "label", NULL };
	g_autoptr(GVariant) labels = g_variant_ref_sink(
		qt_dbusmenu_layout(root, -1, only_label));

	g_assert_cmpstr(g_variant_get_type_string(all), ==, "(ia{sv}av)");
	g_autofree char *s_all = g_variant_print(all, false);
	g_autofree char *s_one = g_variant_print(one, false);
	g_autofree char *s_lab = g_variant_print(labels, false);
	/* the whole tree: the qube's submenu, its icon, its entries */
	g_assert_nonnull(strstr(s_all, "'work \xe2\x80\x94 Running'"));
	g_assert_nonnull(strstr(s_all, "'children-display': <'submenu'>"));
	g_assert_nonnull(strstr(s_all, "'icon-data': <[byte 0x89, 0x50"));
	g_assert_nonnull(strstr(s_all, "'Shut down'"));
	g_assert_nonnull(strstr(s_all, "'type': <'separator'>"));
	/* depth 1: the qube, not its entries */
	g_assert_nonnull(strstr(s_one, "'work \xe2\x80\x94 Running'"));
	g_assert_null(strstr(s_one, "'Shut down'"));
	/* only the properties asked for */
	g_assert_nonnull(strstr(s_lab, "'Shut down'"));
	g_assert_null(strstr(s_lab, "icon-data"));
	g_assert_null(strstr(s_lab, "children-display"));
	qt_item_destroy(root);
	qt_menu_ids_destroy(ids);
	qt_config_destroy(cfg);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(sanitize_cases); i++) {
		g_autofree char *p = g_strdup_printf(
			"/sanitize/%s", sanitize_cases[i].name);
		g_test_add_data_func(p, &sanitize_cases[i], test_sanitize);
	}
	g_test_add_func("/sanitize/escapes", test_escapes);
	for (size_t i = 0; i < G_N_ELEMENTS(icon_cases); i++) {
		g_autofree char *p = g_strdup_printf("/icon/%s",
						     icon_cases[i].name);
		g_test_add_data_func(p, &icon_cases[i], test_icon);
	}
	g_test_add_func("/icon/states-differ", test_icons_differ);
	g_test_add_func("/icon/png-valid", test_png);
	g_test_add_func("/icon/labels", test_labels);
	g_test_add_func("/menu/qubes-running-first-actions-by-state",
			test_menu);
	g_test_add_func("/menu/unreachable-and-empty", test_menu_unreachable);
	g_test_add_func("/menu/requests-default-first-and-deny",
			test_menu_requests);
	g_test_add_func("/prompt/malformed-asks-refused",
			test_prompt_validation);
	g_test_add_func("/notice/state-changes", test_notices);
	g_test_add_func("/config/menu-entries", test_config);
	g_test_add_func("/dbusmenu/layout", test_layout);
	return g_test_run();
}
