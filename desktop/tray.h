/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmgr-tray: the desktop side of qmgr (docs/desktop.md).  One file per
 * concern:
 *   sanitize.c    menu labels escaped (guest text is sanitized by
 *                 common/text-sanitize.c: qt_sanitize)
 *   icon.c        the tray icon's state and pixmaps, label-colour PNGs
 *   config.c      ~/.config/qmgr/tray.conf: the qubes' menu entries
 *   menu-model.c  the menu built from the qubes and open questions
 *   dbusmenu.c    that menu exported as com.canonical.dbusmenu
 *   sni.c         the org.kde.StatusNotifierItem and its registration
 *   notify.c      notices and questions as notifications (on the
 *                 client common/notify-client.c, gui-proxy's too)
 *   prompt-agent.c the `ask` questions qmgrd puts to the session
 *   main.c        the glue: events in, menu, icon and notifications out
 * qmgrd's admin socket is common/admin-link.c's, as gui-proxy's.
 * Everything in this header is free of D-Bus and sockets except where
 * said, so that the unit tests (tests/desktop) exercise what the tray runs.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <gio/gio.h>

#include "label.h"
#include "text-sanitize.h"

/* ---- sanitize.c ---- */

/* The longest string (in characters) any guest-controlled text keeps. */
#define QT_TEXT_MAX 80

/*
 * `untrusted` (NUL-terminated, NULL allowed) as text safe to show, by the
 * shared sanitizer (common/text-sanitize.h) in the mode that marks what it
 * removes: invalid UTF-8 as U+FFFD, control characters and line
 * separators as '?', bidi and invisible characters removed, cut to `max`
 * characters with "…" appended when cut.  Never returns NULL.
 */
static inline char *qt_sanitize(const char *untrusted, size_t max)
{
	return qm_text_sanitize(untrusted, -1, max, QM_TEXT_MARK);
}

/* `text` for a dbusmenu label: '_' doubled (a single one marks the access
 * key). */
char *qt_menu_escape(const char *text);

/* ---- icon.c ---- */

enum qt_icon_state {
	QT_ICON_UNREACHABLE,   /* qmgrd not reachable: grey, crossed */
	QT_ICON_IDLE,          /* no qube running: hollow square */
	QT_ICON_RUNNING,       /* some qube running: filled green square */
	QT_ICON_REQUEST,       /* a question waits: orange with a '?' mark */
};

enum qt_icon_state qt_icon_state_of(bool reachable, unsigned int running,
				    unsigned int questions);
const char *qt_icon_state_name(enum qt_icon_state state);
/* The icon as SNI IconPixmap data: size*size ARGB32 pixels, each in network
 * byte order (A, R, G, B bytes). */
GBytes *qt_icon_pixmap(enum qt_icon_state state, int size);
/* A size*size PNG (RGB, 8 bit) of one colour with a dark 1-pixel frame. */
GBytes *qt_png_square(uint32_t rgb, int size);

/* ---- config.c ---- */

struct qt_menu_entry {
	char *name;      /* shown in the menu */
	char *command;   /* run with vm.Run as /bin/sh -c */
};

struct qt_config;
/* Reads `path` (NULL: $XDG_CONFIG_HOME/qmgr/tray.conf).  A missing file
 * gives the defaults; an invalid one is an error that names it. */
struct qt_config *qt_config_load(const char *path, GError **error);
/* The defaults: [menu] Terminal=foot. */
struct qt_config *qt_config_new_default(void);
void qt_config_destroy(struct qt_config *cfg);
/* The entries for qube `vm`: [menu] then [vm:NAME] (which may override an
 * entry of the same name, or remove it with an empty command).  A
 * GPtrArray of const struct qt_menu_entry *, valid while cfg lives. */
GPtrArray *qt_config_entries(const struct qt_config *cfg, const char *vm);
/* The command that opens a terminal ("foot" unless [tray] terminal=). */
const char *qt_config_terminal(const struct qt_config *cfg);

/* ---- menu-model.c ---- */

struct qt_qube {
	char *name;
	char *state;              /* Halted, Running, ... */
	char *klass;              /* AppVM, TemplateVM, DispVM, ... */
	char *label;
	bool dispvm_template;     /* template_for_dispvms */
};

struct qt_question {
	uint32_t id;
	char *source, *service, *argument;   /* untrusted, kept as received */
	char **targets;                      /* default first */
	char *default_target;                /* one of targets, or NULL */
	int64_t deadline;                    /* monotonic µs */
};

enum qt_action {
	QT_ACT_NONE,
	QT_ACT_START,
	QT_ACT_SHUTDOWN,
	QT_ACT_KILL,
	QT_ACT_RUN,         /* vm.Run vm command */
	QT_ACT_ANSWER,      /* prompt.Answer id target ("" denies) */
};

struct qt_item {
	int32_t id;
	char *label;             /* dbusmenu label, already escaped */
	bool separator;
	bool enabled;
	uint32_t color;          /* label colour for icon-data */
	bool has_color;
	enum qt_action action;
	char *vm;                /* the qube acted on (or @dispvm:NAME) */
	char *arg;               /* command, or answer target */
	uint32_t question;       /* for QT_ACT_ANSWER */
	GPtrArray *children;     /* struct qt_item *, or NULL */
};

/* Ids stay the same for the same item across rebuilds (so an Event for an
 * id from an older layout acts on what the user saw, or on nothing). */
struct qt_menu_ids;
struct qt_menu_ids *qt_menu_ids_create(void);
void qt_menu_ids_destroy(struct qt_menu_ids *ids);

struct qt_menu_input {
	bool reachable;
	const char *unreachable_why;     /* may be NULL */
	GPtrArray *qubes;                /* struct qt_qube * */
	GPtrArray *questions;            /* struct qt_question *, in order */
	const struct qt_config *config;
};

/* The root item (id 0) of the menu for `in`. */
struct qt_item *qt_menu_build(const struct qt_menu_input *in,
			      struct qt_menu_ids *ids);
void qt_item_destroy(struct qt_item *item);
/* The item with `id` under root, or NULL. */
const struct qt_item *qt_item_find(const struct qt_item *root, int32_t id);
void qt_qube_free(struct qt_qube *q);
void qt_question_free(struct qt_question *q);
/* How many qubes run (Running, Transient, Halting, Paused). */
unsigned int qt_qubes_running(GPtrArray *qubes);
/* What a state change from `old` (NULL: unknown) to `now` tells the user:
 * "started", "stopped", "crashed", or NULL for nothing worth a notice. */
const char *qt_state_notice(const char *old, const char *now);

/* ---- dbusmenu.c ---- */

struct qt_dbusmenu;
typedef void (*qt_dbusmenu_activate_fn)(const struct qt_item *item,
					void *user_data);
struct qt_dbusmenu *qt_dbusmenu_create(GDBusConnection *bus,
				       const char *path,
				       qt_dbusmenu_activate_fn fn,
				       void *user_data, GError **error);
void qt_dbusmenu_destroy(struct qt_dbusmenu *menu);
/* Takes root; emits LayoutUpdated. */
void qt_dbusmenu_set(struct qt_dbusmenu *menu, struct qt_item *root);
/* The (ia{sv}av) layout of `item` to `depth` (-1: all), for GetLayout;
 * exported for the tests. */
GVariant *qt_dbusmenu_layout(const struct qt_item *item, int depth,
			     const char *const *props);

/* ---- sni.c ---- */

struct qt_sni;
/* Owns org.kde.StatusNotifierItem-PID-1, exports the item at
 * /StatusNotifierItem (its menu at `menu_path`) and registers it with every
 * StatusNotifierWatcher that appears. */
struct qt_sni *qt_sni_create(GDBusConnection *bus, const char *menu_path,
			     GError **error);
void qt_sni_destroy(struct qt_sni *sni);
void qt_sni_set_state(struct qt_sni *sni, enum qt_icon_state state,
		      const char *tooltip);

/* ---- notify.c ---- */

struct qt_notify;
struct qm_session_bus;
typedef void (*qt_notify_action_fn)(uint32_t question, const char *target,
				    void *user_data);
/* On `bus` (common/session-bus.h; NULL: log only). */
struct qt_notify *qt_notify_create(struct qm_session_bus *bus,
				   qt_notify_action_fn fn, void *user_data);
void qt_notify_destroy(struct qt_notify *n);
/* A rate-limited notice; summary and body are plain text (escaped here
 * when the server reads markup). */
void qt_notify_event(struct qt_notify *n, const char *summary,
		     const char *body);
/* A question: a notification with an action per target and Deny when the
 * server supports actions. */
void qt_notify_question(struct qt_notify *n, const struct qt_question *q);
/* Takes the question's notification off the screen. */
void qt_notify_question_done(struct qt_notify *n, uint32_t question);

/* ---- prompt-agent.c ---- */

struct qt_prompts;
struct qt_prompts *qt_prompts_create(void);
void qt_prompts_destroy(struct qt_prompts *p);
/* A prompt-ask's properties checked and kept; NULL (logged) when they are
 * malformed.  The question belongs to p. */
const struct qt_question *qt_prompts_ask(struct qt_prompts *p,
					 GVariant *props, int64_t now);
/* prompt-cancel, or an answer given: forgets question `id` (false: not
 * open). */
bool qt_prompts_forget(struct qt_prompts *p, uint32_t id);
const struct qt_question *qt_prompts_find(struct qt_prompts *p, uint32_t id);
/* Whether `target` is one of question id's targets ("" is Deny: always). */
bool qt_prompts_offers(struct qt_prompts *p, uint32_t id, const char *target);
void qt_prompts_clear(struct qt_prompts *p);
/* The open questions, in the order they came (struct qt_question *). */
GPtrArray *qt_prompts_list(struct qt_prompts *p);
