/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host-events.h"

#include <glib.h>

#include "data-device.h"
#include "host-port.h"
#include "seat.h"
#include "server.h"
#include "window.h"
#include "window-shm.h"

static void on_message(const struct ga_host_msg *msg, void *data)
{
	struct ga_server *server = data;
	struct ga_window *w = NULL;

	if (msg->window != 0 && msg->type != QM_GUI_DESTROYED) {
		w = ga_window_lookup(server, msg->window);
		/* messages may cross our DESTROY on the wire */
		if (w == NULL) {
			g_debug("host: message %u for window %u, which is gone",
				msg->type, msg->window);
			return;
		}
	}
	switch (msg->type) {
	case QM_GUI_CONFIGURE:
		w->impl->configure(w->owner, &msg->u.configure);
		break;
	case QM_GUI_CLOSE:
		w->impl->close(w->owner);
		break;
	case QM_GUI_DESTROYED:
		ga_window_destroyed(server, msg->window);
		break;
	case QM_GUI_FRAME_DONE:
		ga_window_frame_done(server, msg->window);
		break;
	case QM_GUI_SHM_RELEASE:
		ga_window_shm_release(w, msg->u.shm_release.offset);
		/* a frame may have waited for the slot */
		ga_window_flush_all(server);
		break;
	case QM_GUI_KEYMAP:
		ga_seat_set_keymap(server->seat, (const char *)msg->data,
				   msg->data_len);
		break;
	case QM_GUI_FOCUS_IN:
		ga_seat_focus_in(server->seat, w);
		break;
	case QM_GUI_FOCUS_OUT:
		ga_seat_focus_out(server->seat, w);
		break;
	case QM_GUI_KEY:
		ga_seat_key(server->seat, w, &msg->u.key);
		break;
	case QM_GUI_MODIFIERS:
		ga_seat_modifiers(server->seat, w, &msg->u.modifiers);
		break;
	case QM_GUI_POINTER_MOTION:
		ga_seat_pointer_motion(server->seat, w, &msg->u.pointer);
		break;
	case QM_GUI_POINTER_LEAVE:
		ga_seat_pointer_leave(server->seat, w);
		break;
	case QM_GUI_BUTTON:
		if (msg->u.button.pressed)
			w->impl->button_pressed(w->owner);
		ga_seat_button(server->seat, w, &msg->u.button);
		break;
	case QM_GUI_AXIS:
		ga_seat_axis(server->seat, w, &msg->u.axis);
		break;
	case QM_GUI_CLIPBOARD_REQUEST:
		ga_data_request_selection(server->data);
		break;
	case QM_GUI_CLIPBOARD_SET:
		ga_data_set_selection(server->data, msg->data, msg->data_len);
		break;
	default:
		/* the decoder lets through only the types above */
		g_assert_not_reached();
	}
}

static void on_drained(void *data)
{
	struct ga_server *server = data;

	ga_seat_flush(server->seat);
	ga_window_flush_all(server);
}

static void on_closed(const char *why, bool violation, void *data)
{
	struct ga_server *server = data;

	g_warning("link to the host closed: %s", why);
	ga_window_host_lost(server);
	if (server->port == NULL) {
		server->exit_status = 1;
		g_main_loop_quit(server->main_loop);
		return;
	}
	/* apps keep running; their windows come back with the next host.
	 * After a violation, do not hammer the host. */
	ga_host_port_schedule(server->port, violation ? 1000 : 50);
}

const struct ga_link_handler ga_host_events_handler = {
	.message = on_message,
	.drained = on_drained,
	.closed = on_closed,
};
