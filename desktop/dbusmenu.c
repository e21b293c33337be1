/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The menu (menu-model.c) exported as com.canonical.dbusmenu, the menu
 * protocol of StatusNotifierItems (waybar, KDE Plasma, GNOME's AppIndicator
 * extension).  Every layout change bumps the revision and emits
 * LayoutUpdated; hosts fetch the layout again with GetLayout.
 *
 * Callers are other programs of the same session (the host, busctl): their
 * ids and arguments are checked, and only "clicked" on an enabled item
 * with an action does anything.
 */
#include "tray.h"

#include <string.h>

#define ICON_SIZE 16

static const char introspection_xml[] =
	"<node>"
	" <interface name='com.canonical.dbusmenu'>"
	"  <method name='GetLayout'>"
	"   <arg type='i' name='parentId' direction='in'/>"
	"   <arg type='i' name='recursionDepth' direction='in'/>"
	"   <arg type='as' name='propertyNames' direction='in'/>"
	"   <arg type='u' name='revision' direction='out'/>"
	"   <arg type='(ia{sv}av)' name='layout' direction='out'/>"
	"  </method>"
	"  <method name='GetGroupProperties'>"
	"   <arg type='ai' name='ids' direction='in'/>"
	"   <arg type='as' name='propertyNames' direction='in'/>"
	"   <arg type='a(ia{sv})' name='properties' direction='out'/>"
	"  </method>"
	"  <method name='GetProperty'>"
	"   <arg type='i' name='id' direction='in'/>"
	"   <arg type='s' name='name' direction='in'/>"
	"   <arg type='v' name='value' direction='out'/>"
	"  </method>"
	"  <method name='Event'>"
	"   <arg type='i' name='id' direction='in'/>"
	"   <arg type='s' name='eventId' direction='in'/>"
	"   <arg type='v' name='data' direction='in'/>"
	"   <arg type='u' name='timestamp' direction='in'/>"
	"  </method>"
	"  <method name='EventGroup'>"
	"   <arg type='a(isvu)' name='events' direction='in'/>"
	"   <arg type='ai' name='idErrors' direction='out'/>"
	"  </method>"
	"  <method name='AboutToShow'>"
	"   <arg type='i' name='id' direction='in'/>"
	"   <arg type='b' name='needUpdate' direction='out'/>"
	"  </method>"
	"  <method name='AboutToShowGroup'>"
	"   <arg type='ai' name='ids' direction='in'/>"
	"   <arg type='ai' name='updatesNeeded' direction='out'/>"
	"   <arg type='ai' name='idErrors' direction='out'/>"
	"  </method>"
	"  <signal name='ItemsPropertiesUpdated'>"
	"   <arg type='a(ia{sv})' name='updatedProps'/>"
	"   <arg type='a(ias)' name='removedProps'/>"
	"  </signal>"
	"  <signal name='LayoutUpdated'>"
	"   <arg type='u' name='revision'/>"
	"   <arg type='i' name='parent'/>"
	"  </signal>"
	"  <signal name='ItemActivationRequested'>"
	"   <arg type='i' name='id'/>"
	"   <arg type='u' name='timestamp'/>"
	"  </signal>"
	"  <property name='Version' type='u' access='read'/>"
	"  <property name='TextDirection' type='s' access='read'/>"
	"  <property name='Status' type='s' access='read'/>"
	"  <property name='IconThemePath' type='as' access='read'/>"
	" </interface>"
	"</node>";

struct qt_dbusmenu {
	GDBusConnection *bus;
	char *path;
	guint reg_id;
	uint32_t revision;
	struct qt_item *root;
	qt_dbusmenu_activate_fn fn;
	void *data;
};

/* Icons are per colour and small: the cache lives as long as the menu. */
static GHashTable *icon_cache;

static GBytes *icon_for(uint32_t rgb)
{
	if (!icon_cache)
		icon_cache = g_hash_table_new_full(NULL, NULL, NULL,
						   (GDestroyNotify)g_bytes_unref);
	GBytes *b = g_hash_table_lookup(icon_cache, GUINT_TO_POINTER(rgb + 1));
	if (!b) {
		b = qt_png_square(rgb, ICON_SIZE);
		g_hash_table_insert(icon_cache, GUINT_TO_POINTER(rgb + 1), b);
	}
	return b;
}

static bool wanted(const char *const *props, const char *name)
{
	if (props == NULL || props[0] == NULL)
		return true;
	return g_strv_contains(props, name);
}

static GVariant *item_props(const struct qt_item *it, const char *const *props)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	if (it->separator) {
		if (wanted(props, "type"))
			g_variant_builder_add(&b, "{sv}", "type",
					      g_variant_new_string("separator"));
		return g_variant_builder_end(&b);
	}
	if (it->id != 0 && wanted(props, "label"))
		g_variant_builder_add(&b, "{sv}", "label",
				      g_variant_new_string(it->label));
	if (!it->enabled && wanted(props, "enabled"))
		g_variant_builder_add(&b, "{sv}", "enabled",
				      g_variant_new_boolean(false));
	if (it->children && wanted(props, "children-display"))
		g_variant_builder_add(&b, "{sv}", "children-display",
				      g_variant_new_string("submenu"));
	if (it->has_color && wanted(props, "icon-data")) {
		GBytes *png = icon_for(it->color);
		g_variant_builder_add(
			&b, "{sv}", "icon-data",
			g_variant_new_from_bytes(G_VARIANT_TYPE("ay"), png,
						 true));
	}
	return g_variant_builder_end(&b);
}

GVariant *qt_dbusmenu_layout(const struct qt_item *item, int depth,
			     const char *const *props)
{
	GVariantBuilder kids;

	g_variant_builder_init(&kids, G_VARIANT_TYPE("av"));
	if (depth != 0 && item->children) {
		for (guint i = 0; i < item->children->len; i++)
			g_variant_builder_add(
				&kids, "v",
				qt_dbusmenu_layout(item->children->pdata[i],
						   depth < 0 ? -1 : depth - 1,
						   props));
	}
	return g_variant_new("(i@a{sv}av)", item->id, item_props(item, props),
			     &kids);
}

static const struct qt_item *find(struct qt_dbusmenu *m, int32_t id)
{
	return m->root ? qt_item_find(m->root, id) : NULL;
}

/* Only "clicked" acts; an unknown id is the caller's error. */
static bool event(struct qt_dbusmenu *m, int32_t id, const char *ev)
{
	const struct qt_item *it = find(m, id);

	if (!it)
		return false;
	if (strcmp(ev, "clicked") == 0 && it->enabled &&
	    it->action != QT_ACT_NONE && m->fn)
		m->fn(it, m->data);
	return true;
}

static void method_call(GDBusConnection *conn, const char *sender,
			const char *path, const char *iface,
			const char *method, GVariant *params,
			GDBusMethodInvocation *inv, gpointer data)
{
	struct qt_dbusmenu *m = data;

	if (strcmp(method, "GetLayout") == 0) {
		gint32 parent, depth;
		g_autofree const char **props = NULL;

		g_variant_get(params, "(ii^a&s)", &parent, &depth, &props);
		const struct qt_item *it = find(m, parent);
		if (!it) {
			g_dbus_method_invocation_return_error(
				inv, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
				"no menu item %d", parent);
			return;
		}
		g_dbus_method_invocation_return_value(
			inv, g_variant_new("(u@(ia{sv}av))", m->revision,
					   qt_dbusmenu_layout(it, depth,
							      props)));
	} else if (strcmp(method, "GetGroupProperties") == 0) {
		g_autoptr(GVariant) ids = NULL;
		g_autofree const char **props = NULL;
		GVariantBuilder b;

		g_variant_get(params, "(@ai^a&s)", &ids, &props);
		g_variant_builder_init(&b, G_VARIANT_TYPE("a(ia{sv})"));
		gsize n;
		const gint32 *v = g_variant_get_fixed_array(ids, &n,
							    sizeof(gint32));
		for (gsize i = 0; i < n; i++) {
			const struct qt_item *it = find(m, v[i]);
			if (it)
				g_variant_builder_add(&b, "(i@a{sv})", v[i],
						      item_props(it, props));
		}
		g_dbus_method_invocation_return_value(
			inv, g_variant_new("(a(ia{sv}))", &b));
	} else if (strcmp(method, "GetProperty") == 0) {
		gint32 id;
		const char *name;

		g_variant_get(params, "(i&s)", &id, &name);
		const struct qt_item *it = find(m, id);
		const char *one[] = { name, NULL };
		g_autoptr(GVariant) props = it ? g_variant_ref_sink(
			item_props(it, one)) : NULL;
		g_autoptr(GVariant) value = props ? g_variant_lookup_value(
			props, name, NULL) : NULL;
		if (!value) {
			g_dbus_method_invocation_return_error(
				inv, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
				"no property '%s' on menu item %d", name, id);
			return;
		}
		g_dbus_method_invocation_return_value(
			inv, g_variant_new("(v)", value));
	} else if (strcmp(method, "Event") == 0) {
		gint32 id;
		const char *ev;

		g_variant_get(params, "(i&svu)", &id, &ev, NULL, NULL);
		if (!event(m, id, ev)) {
			g_dbus_method_invocation_return_error(
				inv, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
				"no menu item %d", id);
			return;
		}
		g_dbus_method_invocation_return_value(inv, NULL);
	} else if (strcmp(method, "EventGroup") == 0) {
		g_autoptr(GVariantIter) iter = NULL;
		GVariantBuilder errs;
		gint32 id;
		const char *ev;

		g_variant_get(params, "(a(isvu))", &iter);
		g_variant_builder_init(&errs, G_VARIANT_TYPE("ai"));
		while (g_variant_iter_next(iter, "(i&svu)", &id, &ev, NULL,
					   NULL))
			if (!event(m, id, ev))
				g_variant_builder_add(&errs, "i", id);
		g_dbus_method_invocation_return_value(
			inv, g_variant_new("(ai)", &errs));
	} else if (strcmp(method, "AboutToShow") == 0) {
		g_dbus_method_invocation_return_value(
			inv, g_variant_new("(b)", false));
	} else if (strcmp(method, "AboutToShowGroup") == 0) {
		g_autoptr(GVariant) ids = NULL;
		GVariantBuilder errs;

		g_variant_get(params, "(@ai)", &ids);
		g_variant_builder_init(&errs, G_VARIANT_TYPE("ai"));
		gsize n;
		const gint32 *v = g_variant_get_fixed_array(ids, &n,
							    sizeof(gint32));
		for (gsize i = 0; i < n; i++)
			if (!find(m, v[i]))
				g_variant_builder_add(&errs, "i", v[i]);
		g_dbus_method_invocation_return_value(
			inv, g_variant_new("(@aiai)",
					   g_variant_new_array(G_VARIANT_TYPE_INT32,
							       NULL, 0),
					   &errs));
	} else {
		g_dbus_method_invocation_return_error(
			inv, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
			"no method %s", method);
	}
}

static GVariant *get_property(GDBusConnection *conn, const char *sender,
			      const char *path, const char *iface,
			      const char *prop, GError **error, gpointer data)
{
	if (strcmp(prop, "Version") == 0)
		return g_variant_new_uint32(3);
	if (strcmp(prop, "TextDirection") == 0)
		return g_variant_new_string("ltr");
	if (strcmp(prop, "Status") == 0)
		return g_variant_new_string("normal");
	if (strcmp(prop, "IconThemePath") == 0)
		return g_variant_new_strv(NULL, 0);
	g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY,
		    "no property %s", prop);
	return NULL;
}

static const GDBusInterfaceVTable vtable = {
	.method_call = method_call,
	.get_property = get_property,
};

struct qt_dbusmenu *qt_dbusmenu_create(GDBusConnection *bus,
				       const char *path,
				       qt_dbusmenu_activate_fn fn,
				       void *user_data, GError **error)
{
	g_autoptr(GDBusNodeInfo) info =
		g_dbus_node_info_new_for_xml(introspection_xml, error);
	if (!info)
		return NULL;
	struct qt_dbusmenu *m = g_new0(struct qt_dbusmenu, 1);
	m->bus = g_object_ref(bus);
	m->path = g_strdup(path);
	m->fn = fn;
	m->data = user_data;
	m->revision = 1;
	m->reg_id = g_dbus_connection_register_object(
		bus, path, info->interfaces[0], &vtable, m, NULL, error);
	if (!m->reg_id) {
		qt_dbusmenu_destroy(m);
		return NULL;
	}
	return m;
}

void qt_dbusmenu_destroy(struct qt_dbusmenu *m)
{
	if (!m)
		return;
	if (m->reg_id)
		g_dbus_connection_unregister_object(m->bus, m->reg_id);
	g_object_unref(m->bus);
	qt_item_destroy(m->root);
	g_free(m->path);
	g_free(m);
	g_clear_pointer(&icon_cache, g_hash_table_destroy);
}

void qt_dbusmenu_set(struct qt_dbusmenu *m, struct qt_item *root)
{
	qt_item_destroy(m->root);
	m->root = root;
	m->revision++;
	g_dbus_connection_emit_signal(m->bus, NULL, m->path,
				      "com.canonical.dbusmenu",
				      "LayoutUpdated",
				      g_variant_new("(ui)", m->revision, 0),
				      NULL);
}
