/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wl_seat "seat0" with a keyboard and a pointer, fed by the host's input
 * messages for a window.  The keymap is the host's (KEYMAP), handed to
 * clients as a sealed memfd.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gui-proto.h"

struct ga_server;
struct ga_seat;
struct ga_window;

struct ga_seat *ga_seat_create(struct ga_server *server);
void ga_seat_destroy(struct ga_seat *seat);

/* XKB keymap text (xkb_v1, without NUL); false when it cannot be kept */
bool ga_seat_set_keymap(struct ga_seat *seat, const char *text, size_t len);

void ga_seat_focus_in(struct ga_seat *seat, struct ga_window *window);
void ga_seat_focus_out(struct ga_seat *seat, struct ga_window *window);
void ga_seat_key(struct ga_seat *seat, struct ga_window *window,
		 const struct qm_gui_key *key);
void ga_seat_modifiers(struct ga_seat *seat, struct ga_window *window,
		       const struct qm_gui_modifiers *mods);
void ga_seat_pointer_motion(struct ga_seat *seat, struct ga_window *window,
			    const struct qm_gui_pointer *p);
void ga_seat_pointer_leave(struct ga_seat *seat, struct ga_window *window);
void ga_seat_button(struct ga_seat *seat, struct ga_window *window,
		    const struct qm_gui_button *b);
void ga_seat_axis(struct ga_seat *seat, struct ga_window *window,
		  const struct qm_gui_axis *a);

/* The link drained: sends what was held back. */
void ga_seat_flush(struct ga_seat *seat);

/* The window is being unmapped: focus leaves it. */
void ga_seat_window_gone(struct ga_seat *seat, struct ga_window *window);
