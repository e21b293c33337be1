/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host end of a guest's agent channel, for tests: connects to the unix
 * socket libvirt made for the virtio-serial port, says HELLO, waits for the
 * agent's HELLO and reports how long it took, then (--shutdown) sends
 * SHUTDOWN and waits for QEMU to close the socket as the guest powers off.
 *
 * Prints "hello protocol=N software=S ms=T" (T counted from --since-us, or
 * from the start of this program) and "eof ms=T" (from sending SHUTDOWN).
 * Exit status: 0 ok, 1 timeout or protocol error, 2 bad usage.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib.h>

#include "wire.h"

static int connect_unix(const char *path, gint64 deadline)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "agent-client: socket path too long: %s\n",
			path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return fd;
		int e = errno;
		close(fd);
		if (g_get_monotonic_time() > deadline) {
			fprintf(stderr, "agent-client: connect %s: %s\n", path,
				g_strerror(e));
			return -1;
		}
		g_usleep(20 * 1000);
	}
}

static bool send_msg(int fd, enum qm_msg_type type, GVariant *payload)
{
	g_autoptr(GBytes) b = qm_wire_encode(type, 0, payload);
	gsize size;
	const uint8_t *p = g_bytes_get_data(b, &size);

	while (size > 0) {
		ssize_t n = write(fd, p, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "agent-client: write: %s\n",
				g_strerror(errno));
			return false;
		}
		p += n;
		size -= (size_t)n;
	}
	return true;
}

/* Reads until a whole message is decoded (true), EOF (false, *eof set),
 * an error or the deadline (false). */
static bool read_msg(int fd, GByteArray *in, gint64 deadline,
		     struct qm_wire_msg *msg, bool *eof)
{
	*eof = false;
	for (;;) {
		g_autoptr(GError) err = NULL;
		size_t used;
		switch (qm_wire_decode(in->data, in->len, &used, msg, &err)) {
		case QM_WIRE_OK:
			g_byte_array_remove_range(in, 0, (guint)used);
			return true;
		case QM_WIRE_ERROR:
			fprintf(stderr, "agent-client: bad message from the "
					"agent: %s\n", err->message);
			return false;
		case QM_WIRE_NEED_MORE:
			break;
		}
		gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
		if (left_ms <= 0)
			return false;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)left_ms) <= 0)
			continue;
		uint8_t buf[4096];
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*eof = true;
			return false;
		}
		g_byte_array_append(in, buf, (guint)n);
	}
}

int main(int argc, char **argv)
{
	g_autofree char *socket_path = NULL;
	gint64 since_us = 0;
	int hello_timeout = 60, eof_timeout = 30;
	gboolean shutdown = FALSE;
	GOptionEntry entries[] = {
		{ "socket", 's', 0, G_OPTION_ARG_FILENAME, &socket_path,
		  "unix socket of the agent channel", "PATH" },
		{ "since-us", 0, 0, G_OPTION_ARG_INT64, &since_us,
		  "count the HELLO time from this CLOCK_REALTIME instant",
		  "MICROSECONDS" },
		{ "hello-timeout", 0, 0, G_OPTION_ARG_INT, &hello_timeout,
		  "seconds to wait for HELLO (60)", "S" },
		{ "shutdown", 0, 0, G_OPTION_ARG_NONE, &shutdown,
		  "then send SHUTDOWN and wait for the channel to close", NULL },
		{ "eof-timeout", 0, 0, G_OPTION_ARG_INT, &eof_timeout,
		  "seconds to wait for the close after SHUTDOWN (30)", "S" },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("");
	g_autoptr(GError) err = NULL;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err) ||
	    socket_path == NULL) {
		fprintf(stderr, "agent-client: %s\n",
			err ? err->message : "--socket is required");
		return 2;
	}
	if (since_us == 0)
		since_us = g_get_real_time();

	gint64 deadline = g_get_monotonic_time() + hello_timeout * G_USEC_PER_SEC;
	int fd = connect_unix(socket_path, deadline);
	if (fd < 0)
		return 1;
	if (!send_msg(fd, QM_MSG_HELLO,
		      g_variant_new("(us)", (guint32)QM_WIRE_VERSION,
				    "qmgr boot-test")))
		return 1;

	g_autoptr(GByteArray) in = g_byte_array_new();
	struct qm_wire_msg msg;
	bool eof;
	if (!read_msg(fd, in, deadline, &msg, &eof)) {
		fprintf(stderr, "agent-client: no HELLO from the agent within "
				"%d s%s\n", hello_timeout,
			eof ? " (channel closed)" : "");
		return 1;
	}
	if (msg.type != QM_MSG_HELLO) {
		fprintf(stderr, "agent-client: first message is type %u, not "
				"HELLO\n", msg.type);
		return 1;
	}
	guint32 version;
	const char *software;
	g_variant_get(msg.payload, "(u&s)", &version, &software);
	printf("hello protocol=%u software=\"%s\" ms=%" G_GINT64_FORMAT "\n",
	       version, software, (g_get_real_time() - since_us) / 1000);
	fflush(stdout);
	qm_wire_msg_clear(&msg);

	if (!shutdown)
		return 0;
	gint64 sent = g_get_monotonic_time();
	if (!send_msg(fd, QM_MSG_SHUTDOWN, NULL))
		return 1;
	deadline = sent + eof_timeout * G_USEC_PER_SEC;
	while (read_msg(fd, in, deadline, &msg, &eof)) {
		fprintf(stderr, "agent-client: ignoring message type %u\n",
			msg.type);
		qm_wire_msg_clear(&msg);
	}
	if (!eof) {
		fprintf(stderr, "agent-client: channel still open %d s after "
				"SHUTDOWN\n", eof_timeout);
		return 1;
	}
	printf("eof ms=%" G_GINT64_FORMAT "\n",
	       (g_get_monotonic_time() - sent) / 1000);
	close(fd);
	return 0;
}
