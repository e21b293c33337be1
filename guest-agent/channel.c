/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "channel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <gio/gio.h>

#include "config.h"
#include "conn.h"
#include "exec.h"
#include "port.h"
#include "wire.h"

/* How often to look for the port, or for the host end to connect.  There
 * is no event for either (virtio_console reports POLLHUP for as long as
 * the host is not connected), so poll on a short timer. */
#define RETRY_MS 50
/* After the host broke the protocol, do not hammer it with HELLOs. */
#define RETRY_AFTER_ERROR_MS 1000

struct agent_channel {
	char *port_name;
	char *sysfs_dir;
	char *device;
	char *service_dirs;
	guint32 version;       /* spoken on this conn, after HELLO */

	char *path;            /* the port we opened, for messages */
	int fd;                /* open port waiting for the host, or -1 */
	struct qm_conn *conn;  /* talking to the host */
	struct agent_exec *exec; /* its streams, once HELLO says version 2 */
	guint timer;
	bool host_hello;       /* the host's HELLO arrived on this conn */
	bool said_waiting;     /* logged "waiting for the port" once */

	agent_shutdown_fn on_shutdown;
	void *user_data;
	void (*destroy)(void *user_data);
};

static void schedule(struct agent_channel *ch, guint ms);

static double uptime_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int open_unix_socket(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Opens the port (or the --device); false to try again later. */
static bool open_port(struct agent_channel *ch)
{
	g_free(ch->path);
	ch->path = ch->device ? g_strdup(ch->device)
			      : agent_port_find(ch->sysfs_dir, ch->port_name);
	if (ch->path == NULL) {
		if (!ch->said_waiting)
			g_message("waiting for virtio port %s", ch->port_name);
		ch->said_waiting = true;
		return false;
	}

	struct stat st;
	if (stat(ch->path, &st) == 0 && S_ISSOCK(st.st_mode))
		ch->fd = open_unix_socket(ch->path);
	else
		ch->fd = open(ch->path, O_RDWR | O_NOCTTY | O_CLOEXEC |
					O_NONBLOCK);
	if (ch->fd < 0) {
		if (!ch->said_waiting)
			g_message("cannot open %s yet: %s", ch->path,
				  g_strerror(errno));
		ch->said_waiting = true;
		return false;
	}
	g_debug("opened %s", ch->path);
	return true;
}

/* virtio_console drops what the guest writes while no host program is
 * connected to the port's socket, so HELLO waits for POLLHUP to clear. */
static bool host_connected(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	if (poll(&pfd, 1, 0) < 0)
		return false;
	return !(pfd.revents & (POLLHUP | POLLERR | POLLNVAL));
}

static void drop(struct agent_channel *ch, guint retry_ms)
{
	/* Commands die with the channel: a new qmgrd knows nothing of them. */
	g_clear_pointer(&ch->exec, agent_exec_destroy);
	g_clear_pointer(&ch->conn, qm_conn_destroy);
	if (ch->fd >= 0) {
		close(ch->fd);
		ch->fd = -1;
	}
	ch->host_hello = false;
	ch->version = 0;
	schedule(ch, retry_ms);
}

static void on_hello(struct agent_channel *ch, GVariant *payload)
{
	guint32 untrusted_version;
	const char *untrusted_software;

	g_variant_get(payload, "(u&s)", &untrusted_version,
		      &untrusted_software);
	if (untrusted_version < QM_WIRE_VERSION_1) {
		g_warning("%s: host speaks protocol version %u, need >= %u: "
			  "dropping the channel",
			  ch->path, untrusted_version, QM_WIRE_VERSION_1);
		drop(ch, RETRY_AFTER_ERROR_MS);
		return;
	}
	/* Only logged: keep the string printable. */
	g_autofree char *software = g_strescape(untrusted_software, NULL);
	g_message("host HELLO: protocol %u, %s", untrusted_version, software);
	ch->host_hello = true;
	/* The channel speaks the lower of the two versions. */
	ch->version = MIN(untrusted_version, (guint32)QM_WIRE_VERSION);
	if (ch->version >= QM_WIRE_VERSION_2)
		ch->exec = agent_exec_create(ch->conn, ch->service_dirs);
}

static void on_stream_message(struct agent_channel *ch,
			      const struct qm_wire_msg *msg)
{
	g_autoptr(GError) err = NULL;

	if (agent_exec_handle(ch->exec, msg, &err))
		return;
	g_warning("%s: %s: dropping the channel", ch->path, err->message);
	drop(ch, RETRY_AFTER_ERROR_MS);
}

static void on_message(struct qm_conn *conn, struct qm_wire_msg *msg,
		       void *user_data)
{
	struct agent_channel *ch = user_data;
	const char *why = NULL;
	bool stream_msg = agent_exec_carries(msg->type);

	if (msg->stream != 0 && !stream_msg)
		why = "a control message on a call stream";
	else if (!ch->host_hello && msg->type != QM_MSG_HELLO)
		why = "a message before HELLO";
	else if (ch->host_hello && msg->type == QM_MSG_HELLO)
		why = "a second HELLO";

	if (why == NULL) {
		switch (msg->type) {
		case QM_MSG_HELLO:
			on_hello(ch, msg->payload);
			return;
		case QM_MSG_SHUTDOWN:
			g_message("host asked for shutdown");
			if (ch->on_shutdown)
				ch->on_shutdown(ch->user_data);
			return;
		default:
			if (stream_msg && ch->exec) {
				on_stream_message(ch, msg);
				return;
			}
			why = stream_msg ? "a stream message on protocol "
					   "version 1"
					 : "a message type the guest channel "
					   "does not carry";
			break;
		}
	}
	g_warning("%s: host sent %s (type %u): dropping the channel",
		  ch->path, why, msg->type);
	drop(ch, RETRY_AFTER_ERROR_MS);
}

static void on_closed(struct qm_conn *conn, const GError *why,
		      void *user_data)
{
	struct agent_channel *ch = user_data;
	bool violation = !g_error_matches(why, G_IO_ERROR, G_IO_ERROR_CLOSED);

	if (violation)
		g_warning("dropping the channel: %s", why->message);
	else
		g_message("host disconnected from %s", ch->path);
	drop(ch, violation ? RETRY_AFTER_ERROR_MS : RETRY_MS);
}

static void say_hello(struct agent_channel *ch)
{
	g_autofree char *software =
		g_strdup_printf("qmgr-agent %s", QMGR_VERSION);

	ch->conn = qm_conn_create(ch->fd, ch->path, on_message, on_closed,
				  ch, NULL);
	ch->fd = -1; /* the conn owns it */
	ch->host_hello = false;
	ch->said_waiting = false;
	qm_conn_send(ch->conn, QM_MSG_HELLO, 0,
		     g_variant_new("(us)", (guint32)QM_WIRE_VERSION, software));
	g_message("HELLO sent on %s (protocol %u, uptime %.2f s)", ch->path,
		  QM_WIRE_VERSION, uptime_s());
}

static gboolean on_timer(gpointer data)
{
	struct agent_channel *ch = data;

	ch->timer = 0;
	if (ch->fd < 0 && !open_port(ch)) {
		schedule(ch, RETRY_MS);
		return G_SOURCE_REMOVE;
	}
	if (!host_connected(ch->fd)) {
		schedule(ch, RETRY_MS);
		return G_SOURCE_REMOVE;
	}
	say_hello(ch);
	return G_SOURCE_REMOVE;
}

static void schedule(struct agent_channel *ch, guint ms)
{
	if (ch->timer == 0)
		ch->timer = g_timeout_add(ms, on_timer, ch);
}

struct agent_channel *agent_channel_create(
	const struct agent_channel_config *config,
	agent_shutdown_fn on_shutdown, void *user_data,
	void (*destroy)(void *user_data))
{
	struct agent_channel *ch = g_new0(struct agent_channel, 1);

	ch->port_name = g_strdup(config->port_name ? config->port_name
						    : AGENT_PORT_NAME_DEFAULT);
	ch->sysfs_dir = g_strdup(config->sysfs_dir ? config->sysfs_dir
						    : AGENT_PORT_SYSFS_DIR);
	ch->device = g_strdup(config->device);
	ch->service_dirs = g_strdup(config->service_dirs);
	ch->fd = -1;
	ch->on_shutdown = on_shutdown;
	ch->user_data = user_data;
	ch->destroy = destroy;
	/* First attempt right away: at boot the host is usually there. */
	ch->timer = g_idle_add(on_timer, ch);
	return ch;
}

void agent_channel_destroy(struct agent_channel *ch)
{
	if (ch == NULL)
		return;
	if (ch->timer)
		g_source_remove(ch->timer);
	g_clear_pointer(&ch->exec, agent_exec_destroy);
	g_clear_pointer(&ch->conn, qm_conn_destroy);
	if (ch->fd >= 0)
		close(ch->fd);
	if (ch->destroy)
		ch->destroy(ch->user_data);
	g_free(ch->path);
	g_free(ch->port_name);
	g_free(ch->sysfs_dir);
	g_free(ch->device);
	g_free(ch->service_dirs);
	g_free(ch);
}

struct agent_exec *agent_channel_calls(struct agent_channel *ch)
{
	return ch->version >= QM_WIRE_VERSION_3 ? ch->exec : NULL;
}
