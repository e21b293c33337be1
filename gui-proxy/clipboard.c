/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The global clipboard, Qubes-style.  Ctrl-Shift-C in a guest window asks
 * that guest for its clipboard (CLIPBOARD_REQUEST); its answer becomes the
 * global clipboard, held here with the name of the qube it came from.
 * Ctrl-Shift-V in another guest window asks qmgrd whether the policy lets
 * qmgr.ClipboardPaste go from that qube to this one (gui.ClipboardPaste;
 * `ask` reaches the prompt agent there) and, if it does, sends the bytes
 * with CLIPBOARD_SET and empties the global clipboard.  A refused paste
 * leaves it as it was, for a paste somewhere the policy allows.
 *
 * Nothing else moves: guests never see the host's clipboard, a guest's
 * clipboard is read only on the user's Ctrl-Shift-C, and without qmgrd to
 * ask nothing is pasted (fail closed).
 */
#include <string.h>

#include "proxy.h"

/* One paste waiting for qmgrd's answer. */
struct paste {
	struct gp_display *dpy;
	char *source;
	char *target;
	GBytes *data;
	uint64_t generation;       /* of the clipboard it pasted */
};

static void paste_free(struct paste *p)
{
	g_free(p->source);
	g_free(p->target);
	g_bytes_unref(p->data);
	g_free(p);
}

static void clear(struct gp_clipboard *clip)
{
	g_clear_pointer(&clip->data, g_bytes_unref);
	g_clear_pointer(&clip->source, g_free);
	clip->generation++;
}

void gp_clipboard_finish(struct gp_clipboard *clip)
{
	clear(clip);
}

void gp_clipboard_copy(struct gp_display *dpy, struct gp_window *w)
{
	struct gp_guest *g = w->guest;

	if (g->fd < 0)
		return;
	/* The decoder now takes one CLIPBOARD_DATA from this guest. */
	gp_decoder_expect_clipboard(g->decoder);
	gp_guest_send(g, QM_GUI_CLIPBOARD_REQUEST, 0, NULL, 0);
	g_message("Ctrl-Shift-C: asking '%s' for its clipboard", g->cfg.name);
}

void gp_clipboard_received(struct gp_guest *g, const uint8_t *data,
			   size_t len)
{
	struct gp_clipboard *clip = &g->dpy->clipboard;

	/* The decoder capped len at QM_GUI_MAX_CLIPBOARD.  The bytes are
	 * the guest's; they only ever go to a guest the policy allows. */
	clear(clip);
	if (len == 0) {
		g_message("'%s' has nothing in its clipboard; the global "
			  "clipboard is empty", g->cfg.name);
		return;
	}
	clip->data = g_bytes_new(data, len);
	clip->source = g_strdup(g->cfg.name);
	g_message("copied %zu bytes from '%s' into the global clipboard",
		  len, g->cfg.name);
}

static struct gp_guest *find_guest(struct gp_display *dpy, const char *name)
{
	for (guint i = 0; i < dpy->guests->len; i++) {
		struct gp_guest *g = g_ptr_array_index(dpy->guests, i);

		if (strcmp(g->cfg.name, name) == 0)
			return g;
	}
	return NULL;
}

static void on_answer(GVariant *result, const GError *error, void *data)
{
	struct paste *p = data;
	struct gp_clipboard *clip = &p->dpy->clipboard;
	const char *decision = "deny", *reason = "";

	clip->paste_pending = false;
	if (error) {
		g_message("not pasting from '%s' into '%s': qmgrd did not "
			  "answer: %s", p->source, p->target, error->message);
		return;
	}
	g_variant_lookup(result, "decision", "&s", &decision);
	g_variant_lookup(result, "reason", "&s", &reason);
	if (strcmp(decision, "allow") != 0) {
		g_message("the policy does not let the clipboard of '%s' be "
			  "pasted into '%s' (%s); the global clipboard is "
			  "kept", p->source, p->target, reason);
		return;
	}
	/* The qube may have gone meanwhile (stopped, removed). */
	struct gp_guest *g = find_guest(p->dpy, p->target);
	if (!g || g->fd < 0) {
		g_message("not pasting into '%s': it is no longer connected",
			  p->target);
		return;
	}
	gsize len;
	const void *bytes = g_bytes_get_data(p->data, &len);
	gp_guest_send(g, QM_GUI_CLIPBOARD_SET, 0, bytes, len);
	g_message("pasted %zu bytes from '%s' into '%s'", len, p->source,
		  p->target);
	/* Once pasted, gone (unless copied again meanwhile). */
	if (clip->generation == p->generation)
		clear(clip);
}

void gp_clipboard_paste(struct gp_display *dpy, struct gp_window *w)
{
	struct gp_clipboard *clip = &dpy->clipboard;
	const char *target = w->guest->cfg.name;

	if (!clip->data) {
		g_message("Ctrl-Shift-V in '%s': the global clipboard is "
			  "empty (Ctrl-Shift-C copies)", target);
		return;
	}
	if (clip->paste_pending) {
		g_message("Ctrl-Shift-V in '%s': a paste is waiting for the "
			  "policy's answer already", target);
		return;
	}
	if (!dpy->admin) {
		g_message("not pasting into '%s': no qmgrd to ask for "
			  "qmgr.ClipboardPaste (give --admin-socket)", target);
		return;
	}
	struct paste *p = g_new0(struct paste, 1);
	p->dpy = dpy;
	p->source = g_strdup(clip->source);
	p->target = g_strdup(target);
	p->data = g_bytes_ref(clip->data);
	p->generation = clip->generation;

	GVariantDict args;
	g_variant_dict_init(&args, NULL);
	g_variant_dict_insert(&args, "source", "s", p->source);
	g_variant_dict_insert(&args, "target", "s", p->target);
	g_message("Ctrl-Shift-V: asking qmgrd whether '%s' may paste into "
		  "'%s'", p->source, p->target);
	clip->paste_pending = qm_admin_link_call(dpy->admin, "gui.ClipboardPaste",
					    "", g_variant_dict_end(&args),
					    on_answer, p,
					    (GDestroyNotify)paste_free);
	if (!clip->paste_pending)
		g_message("not pasting into '%s': qmgrd is not connected",
			  target);
}
