/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The org.kde.StatusNotifierItem: the icon in the panel's tray (waybar's
 * tray module, KDE Plasma, GNOME with AppIndicator support).  The icon is
 * a pixmap drawn by icon.c (no icon theme needed); its menu is the
 * dbusmenu at `menu_path` (ItemIsMenu: a click opens it).
 *
 * The item owns org.kde.StatusNotifierItem-PID-1 and registers with the
 * org.kde.StatusNotifierWatcher whenever one appears on the bus (the panel
 * may start after the tray, or be restarted).
 */
#include "tray.h"

#include <string.h>
#include <unistd.h>

#define SNI_PATH "/StatusNotifierItem"
#define SNI_IFACE "org.kde.StatusNotifierItem"
#define WATCHER "org.kde.StatusNotifierWatcher"

static const char introspection_xml[] =
	"<node>"
	" <interface name='org.kde.StatusNotifierItem'>"
	"  <property name='Category' type='s' access='read'/>"
	"  <property name='Id' type='s' access='read'/>"
	"  <property name='Title' type='s' access='read'/>"
	"  <property name='Status' type='s' access='read'/>"
	"  <property name='WindowId' type='i' access='read'/>"
	"  <property name='IconThemePath' type='s' access='read'/>"
	"  <property name='IconName' type='s' access='read'/>"
	"  <property name='IconPixmap' type='a(iiay)' access='read'/>"
	"  <property name='OverlayIconName' type='s' access='read'/>"
	"  <property name='OverlayIconPixmap' type='a(iiay)' access='read'/>"
	"  <property name='AttentionIconName' type='s' access='read'/>"
	"  <property name='AttentionIconPixmap' type='a(iiay)' access='read'/>"
	"  <property name='AttentionMovieName' type='s' access='read'/>"
	"  <property name='ToolTip' type='(sa(iiay)ss)' access='read'/>"
	"  <property name='ItemIsMenu' type='b' access='read'/>"
	"  <property name='Menu' type='o' access='read'/>"
	"  <method name='ContextMenu'>"
	"   <arg name='x' type='i' direction='in'/>"
	"   <arg name='y' type='i' direction='in'/>"
	"  </method>"
	"  <method name='Activate'>"
	"   <arg name='x' type='i' direction='in'/>"
	"   <arg name='y' type='i' direction='in'/>"
	"  </method>"
	"  <method name='SecondaryActivate'>"
	"   <arg name='x' type='i' direction='in'/>"
	"   <arg name='y' type='i' direction='in'/>"
	"  </method>"
	"  <method name='Scroll'>"
	"   <arg name='delta' type='i' direction='in'/>"
	"   <arg name='orientation' type='s' direction='in'/>"
	"  </method>"
	"  <signal name='NewTitle'/>"
	"  <signal name='NewIcon'/>"
	"  <signal name='NewAttentionIcon'/>"
	"  <signal name='NewOverlayIcon'/>"
	"  <signal name='NewToolTip'/>"
	"  <signal name='NewStatus'><arg name='status' type='s'/></signal>"
	" </interface>"
	"</node>";

struct qt_sni {
	GDBusConnection *bus;
	char *bus_name;
	char *menu_path;
	guint own_id;
	guint watch_id;
	guint reg_id;
	enum qt_icon_state state;
	char *tooltip;
};

static GVariant *pixmaps(enum qt_icon_state state)
{
	static const int sizes[] = { 16, 22, 24, 32, 48, 64 };
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a(iiay)"));
	for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
		g_autoptr(GBytes) px = qt_icon_pixmap(state, sizes[i]);
		g_variant_builder_add(
			&b, "(ii@ay)", sizes[i], sizes[i],
			g_variant_new_from_bytes(G_VARIANT_TYPE("ay"), px,
						 true));
	}
	return g_variant_builder_end(&b);
}

static GVariant *get_property(GDBusConnection *conn, const char *sender,
			      const char *path, const char *iface,
			      const char *prop, GError **error, gpointer data)
{
	struct qt_sni *s = data;

	if (strcmp(prop, "Category") == 0)
		return g_variant_new_string("SystemServices");
	if (strcmp(prop, "Id") == 0)
		return g_variant_new_string("qmgr-tray");
	if (strcmp(prop, "Title") == 0)
		return g_variant_new_string("qmgr");
	if (strcmp(prop, "Status") == 0)
		return g_variant_new_string(s->state == QT_ICON_REQUEST
						    ? "NeedsAttention"
						    : "Active");
	if (strcmp(prop, "WindowId") == 0)
		return g_variant_new_int32(0);
	if (strcmp(prop, "IconThemePath") == 0 ||
	    strcmp(prop, "IconName") == 0 ||
	    strcmp(prop, "OverlayIconName") == 0 ||
	    strcmp(prop, "AttentionIconName") == 0 ||
	    strcmp(prop, "AttentionMovieName") == 0)
		return g_variant_new_string("");
	if (strcmp(prop, "IconPixmap") == 0)
		return pixmaps(s->state);
	if (strcmp(prop, "AttentionIconPixmap") == 0)
		return pixmaps(QT_ICON_REQUEST);
	if (strcmp(prop, "OverlayIconPixmap") == 0)
		return g_variant_new_array(G_VARIANT_TYPE("(iiay)"), NULL, 0);
	if (strcmp(prop, "ToolTip") == 0)
		return g_variant_new("(s@a(iiay)ss)", "",
				     g_variant_new_array(
					     G_VARIANT_TYPE("(iiay)"), NULL,
					     0),
				     "qmgr", s->tooltip ? s->tooltip : "");
	if (strcmp(prop, "ItemIsMenu") == 0)
		return g_variant_new_boolean(true);
	if (strcmp(prop, "Menu") == 0)
		return g_variant_new_object_path(s->menu_path);
	g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY,
		    "no property %s", prop);
	return NULL;
}

/* Activate and the others: the menu is the item's only use (ItemIsMenu),
 * hosts open it themselves. */
static void method_call(GDBusConnection *conn, const char *sender,
			const char *path, const char *iface,
			const char *method, GVariant *params,
			GDBusMethodInvocation *inv, gpointer data)
{
	g_dbus_method_invocation_return_value(inv, NULL);
}

static const GDBusInterfaceVTable vtable = {
	.method_call = method_call,
	.get_property = get_property,
};

static void registered(GObject *src, GAsyncResult *res, gpointer data)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) r = g_dbus_connection_call_finish(
		G_DBUS_CONNECTION(src), res, &err);

	if (!r)
		g_warning("the StatusNotifierWatcher refused the item: %s",
			  err->message);
	else
		g_message("registered with the StatusNotifierWatcher");
}

static void watcher_appeared(GDBusConnection *conn, const char *name,
			     const char *owner, gpointer data)
{
	struct qt_sni *s = data;

	g_dbus_connection_call(conn, WATCHER, "/StatusNotifierWatcher",
			       WATCHER, "RegisterStatusNotifierItem",
			       g_variant_new("(s)", s->bus_name), NULL,
			       G_DBUS_CALL_FLAGS_NONE, 5000, NULL, registered,
			       NULL);
}

static void watcher_vanished(GDBusConnection *conn, const char *name,
			     gpointer data)
{
	g_message("no StatusNotifierWatcher on the bus; waiting for one");
}

struct qt_sni *qt_sni_create(GDBusConnection *bus, const char *menu_path,
			     GError **error)
{
	g_autoptr(GDBusNodeInfo) info =
		g_dbus_node_info_new_for_xml(introspection_xml, error);
	if (!info)
		return NULL;
	struct qt_sni *s = g_new0(struct qt_sni, 1);
	s->bus = g_object_ref(bus);
	s->menu_path = g_strdup(menu_path);
	s->state = QT_ICON_UNREACHABLE;
	s->bus_name = g_strdup_printf("org.kde.StatusNotifierItem-%d-1",
				      (int)getpid());
	s->reg_id = g_dbus_connection_register_object(
		bus, SNI_PATH, info->interfaces[0], &vtable, s, NULL, error);
	if (!s->reg_id) {
		qt_sni_destroy(s);
		return NULL;
	}
	s->own_id = g_bus_own_name_on_connection(
		bus, s->bus_name, G_BUS_NAME_OWNER_FLAGS_NONE, NULL, NULL, NULL,
		NULL);
	s->watch_id = g_bus_watch_name_on_connection(
		bus, WATCHER, G_BUS_NAME_WATCHER_FLAGS_NONE, watcher_appeared,
		watcher_vanished, s, NULL);
	return s;
}

void qt_sni_destroy(struct qt_sni *s)
{
	if (!s)
		return;
	if (s->watch_id)
		g_bus_unwatch_name(s->watch_id);
	if (s->own_id)
		g_bus_unown_name(s->own_id);
	if (s->reg_id)
		g_dbus_connection_unregister_object(s->bus, s->reg_id);
	g_object_unref(s->bus);
	g_free(s->bus_name);
	g_free(s->menu_path);
	g_free(s->tooltip);
	g_free(s);
}

static void emit(struct qt_sni *s, const char *signal, GVariant *params)
{
	g_dbus_connection_emit_signal(s->bus, NULL, SNI_PATH, SNI_IFACE,
				      signal, params, NULL);
}

void qt_sni_set_state(struct qt_sni *s, enum qt_icon_state state,
		      const char *tooltip)
{
	bool icon = state != s->state;
	bool tip = g_strcmp0(tooltip, s->tooltip) != 0;

	s->state = state;
	if (tip) {
		g_free(s->tooltip);
		s->tooltip = g_strdup(tooltip);
		emit(s, "NewToolTip", NULL);
	}
	if (icon) {
		emit(s, "NewIcon", NULL);
		emit(s, "NewStatus",
		     g_variant_new("(s)", state == QT_ICON_REQUEST
						  ? "NeedsAttention"
						  : "Active"));
	}
}
