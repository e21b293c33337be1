/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host-port.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "gui-proto.h"
#include "port.h"

#define DEFAULT_PORT "/dev/virtio-ports/" QM_GUI_PORT_NAME
#define RETRY_MS 50

struct ga_host_port {
	char *port_path, *unix_path;
	ga_host_port_fn connected;
	void *data;
	int fd;                 /* an open port whose host is not there yet */
	guint timer;
	bool said_waiting;
};

int ga_host_port_connect_unix(const char *path, bool quiet)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		g_warning("socket path too long: %s", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		if (!quiet)
			g_warning("cannot connect to %s: %s", path,
				  g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int open_port(const char *path)
{
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd < 0 && errno == ENOENT && strcmp(path, DEFAULT_PORT) == 0) {
		/* no udev in the minimal template: find the port by name */
		g_autofree char *dev = agent_port_find(
			"/sys/class/virtio-ports", QM_GUI_PORT_NAME);
		if (dev != NULL)
			fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC |
					       O_NOCTTY);
	}
	return fd;
}

static bool host_listens(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };

	if (poll(&pfd, 1, 0) < 0)
		return false;
	return !(pfd.revents & (POLLHUP | POLLERR | POLLNVAL));
}

static gboolean on_timer(gpointer data)
{
	struct ga_host_port *p = data;
	int fd = -1;

	p->timer = 0;
	if (p->unix_path != NULL) {
		fd = ga_host_port_connect_unix(p->unix_path, true);
	} else {
		if (p->fd < 0)
			p->fd = open_port(p->port_path);
		if (p->fd >= 0 && host_listens(p->fd)) {
			fd = p->fd;
			p->fd = -1;
		}
	}
	if (fd < 0) {
		if (!p->said_waiting)
			g_message("waiting for the host on %s",
				  p->unix_path ? p->unix_path : p->port_path);
		p->said_waiting = true;
		ga_host_port_schedule(p, RETRY_MS);
		return G_SOURCE_REMOVE;
	}
	g_message("host connected on %s",
		  p->unix_path ? p->unix_path : p->port_path);
	p->said_waiting = false;
	p->connected(fd, p->data);
	return G_SOURCE_REMOVE;
}

void ga_host_port_schedule(struct ga_host_port *p, guint ms)
{
	if (p->timer == 0)
		p->timer = g_timeout_add(ms, on_timer, p);
}

struct ga_host_port *ga_host_port_create(const char *port_path,
					 const char *unix_path,
					 ga_host_port_fn connected,
					 void *data)
{
	struct ga_host_port *p = g_new0(struct ga_host_port, 1);

	p->port_path = g_strdup(port_path ? port_path : DEFAULT_PORT);
	p->unix_path = g_strdup(unix_path);
	p->connected = connected;
	p->data = data;
	p->fd = -1;
	return p;
}

void ga_host_port_destroy(struct ga_host_port *p)
{
	if (p == NULL)
		return;
	if (p->timer)
		g_source_remove(p->timer);
	if (p->fd >= 0)
		close(p->fd);
	g_free(p->port_path);
	g_free(p->unix_path);
	g_free(p);
}
