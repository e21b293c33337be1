/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvm-prompt: the terminal prompt agent.  Registers with qmgrd as the agent
 * that answers the policy's `ask` (prompt.Register), then shows each
 * question, "work wants to call qmgr.Filecopy; targets: 1) personal ...",
 * reads the user's choice from standard input and sends it back
 * (prompt.Answer).  Questions that arrive while one is shown wait their
 * turn; one that qmgrd takes back (prompt-cancel: its time ran out) is
 * dropped.
 *
 *   qvm-prompt [--once]
 *
 * Source, service and argument come from a qube: all that qmgrd sends is
 * shown with control characters made harmless.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "prompt-question.h"

#define PROG "qvm-prompt"
#define SYNOPSIS "qvm-prompt [--once]"

/* The longest answer line read; a longer one is not a choice. */
#define ANSWER_MAX 1024
/*
 * The client's I/O is blocking and it does not hand out its socket, so
 * while a question waits for the user, standard input and qmgrd's events
 * are looked at in turns: a prompt-cancel is noticed within this long.
 * Between questions qvm-prompt sleeps in the client until qmgrd sends one.
 */
#define TICK_MS 200

static const char help_text[] =
	"usage: " SYNOPSIS "\n"
	"Answer the RPC policy's 'ask' questions: register with qmgrd as the "
	"prompt agent,\n"
	"show each question and read the choice from standard input.\n"
	"\n"
	"Answers, one line each: a target's number or name; an empty line "
	"for the\n"
	"default target (when there is one); n, no or deny to refuse.\n"
	"\n"
	"  --once        answer one question, then exit\n"
	"  -h, --help    show this help\n"
	"\n"
	"Questions are shown on the terminal (/dev/tty), or on standard "
	"output when\n"
	"there is none.  Lines given ahead are kept for the next questions; "
	"once\n"
	"standard input has ended, a question with no line left for it is "
	"refused and\n"
	"qvm-prompt exits.\n"
	"\n"
	"Exit status: 0 the answers were taken (with --once: one was); 1 "
	"qmgrd took the\n"
	"question back (with --once) or is unreachable or went away; 2 usage "
	"error.\n"
	QM_TOOL_HELP_ENV
	"See qvm-prompt(1).\n";

/* A question waiting for its answer: what qmgrd asked (decoded by
 * common/prompt-question.c; its strings come from a qube) and when its
 * time runs out. */
struct question {
	struct qm_prompt_question *ask;
	gint64 deadline;        /* monotonic µs */
};

struct agent {
	struct qm_client *client;
	FILE *out;              /* the terminal, or stdout */
	GQueue questions;       /* struct question *, in the order asked */
	bool shown;             /* the head is on the screen */
	bool head_cancelled;    /* and qmgrd took it back */
	char *bad;              /* what was wrong with a message of qmgrd's */
	GString *input;         /* from stdin, not yet used */
	bool input_eof;
};

enum outcome {
	ANSWERED,        /* qmgrd took the answer */
	CANCELLED,       /* qmgrd took the question back first */
	INPUT_ENDED,     /* stdin ended: the question was refused */
	FAILED,          /* qmgrd went away or broke the protocol */
};

static void question_free(struct question *q)
{
	qm_prompt_question_destroy(q->ask);
	g_free(q);
}

/* A prompt-ask's properties, checked: NULL and *why when they are not a
 * question qvm-prompt can show. */
static struct question *question_parse(GVariant *props, char **why)
{
	g_autoptr(GError) err = NULL;
	struct qm_prompt_question *ask = qm_prompt_question_parse(props, &err);

	if (ask == NULL) {
		*why = g_strdup(err->message);
		return NULL;
	}
	struct question *q = g_new0(struct question, 1);
	q->ask = ask;
	q->deadline = g_get_monotonic_time() +
		      (gint64)ask->timeout_s * G_USEC_PER_SEC;
	return q;
}

static GList *find_question(struct agent *a, guint32 id)
{
	for (GList *l = a->questions.head; l != NULL; l = l->next)
		if (((struct question *)l->data)->ask->id == id)
			return l;
	return NULL;
}

/* "work wants to call qmgr.Filecopy+ARG", made safe to print. */
static void print_call(struct agent *a, const struct question *q)
{
	g_autofree char *what = NULL;
	const char *arg = q->ask->untrusted_argument;
	if (*arg == '\0' || strcmp(arg, "+") == 0)
		what = g_strdup(q->ask->untrusted_service);
	else
		what = g_strconcat(q->ask->untrusted_service,
				   *arg == '+' ? "" : "+", arg, NULL);
	qm_tool_fputs_safe(q->ask->untrusted_source, a->out);
	fputs(" wants to call ", a->out);
	qm_tool_fputs_safe(what, a->out);
}

/*
 * Events, delivered inside qm_client_dispatch().  Returns false (making
 * dispatch return) when the questions changed, so the caller looks.
 */
static bool on_event(const char *event, const char *vm, GVariant *props,
		     void *data)
{
	struct agent *a = data;

	if (strcmp(event, "prompt-ask") == 0) {
		struct question *q = question_parse(props, &a->bad);
		if (q == NULL)
			return false;
		if (find_question(a, q->ask->id) != NULL) {
			question_free(q);   /* already queued */
			return true;
		}
		g_queue_push_tail(&a->questions, q);
		return false;
	}
	if (strcmp(event, "prompt-cancel") == 0) {
		guint32 id;
		if (!g_variant_lookup(props, "id", "u", &id)) {
			a->bad = g_strdup("a prompt-cancel without id (is "
					  "qmgrd the same version as "
					  "qvm-prompt?)");
			return false;
		}
		GList *l = find_question(a, id);
		if (l == NULL)
			return true;   /* answered meanwhile */
		if (l == a->questions.head && a->shown) {
			a->head_cancelled = true;
			return false;
		}
		struct question *q = l->data;
		fputs("Timed out before it was shown, refused: ", a->out);
		print_call(a, q);
		fputc('\n', a->out);
		fflush(a->out);
		g_queue_delete_link(&a->questions, l);
		question_free(q);
		return false;
	}
	/* the vm-* events that come with events.Subscribe: not ours */
	return true;
}

/* Delivers the events that have come, without waiting. */
static bool pump(struct agent *a)
{
	GError *err = NULL;
	if (qm_client_dispatch(a->client, 0, &err))
		return true;
	if (g_error_matches(err, QM_CLIENT_ERROR, QM_CLIENT_ERROR_NO_ANSWER)) {
		g_error_free(err);   /* nothing more for now */
		return true;
	}
	qm_tool_print_error(PROG, err);
	g_error_free(err);
	return false;
}

/* Waits up to TICK_MS for standard input and keeps what it reads. */
static void read_input(struct agent *a)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	if (poll(&pfd, 1, TICK_MS) <= 0)
		return;
	if (pfd.revents & POLLNVAL) {
		a->input_eof = true;   /* no stdin at all */
		return;
	}
	char buf[4096];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n < 0)
		fprintf(stderr, "%s: cannot read standard input: %s\n", PROG,
			g_strerror(errno));
	if (n <= 0) {
		a->input_eof = true;
		return;
	}
	g_string_append_len(a->input, buf, n);
}

/* The next whole line of input (the last one may lack its newline), or
 * NULL.  A line too long to be a choice comes out as "" + overflow. */
static char *take_line(struct agent *a, bool *too_long)
{
	*too_long = false;
	const char *nl = memchr(a->input->str, '\n', a->input->len);
	gsize len;
	if (nl != NULL)
		len = (gsize)(nl - a->input->str);
	else if (a->input_eof && a->input->len > 0)
		len = a->input->len;
	else if (a->input->len > ANSWER_MAX)
		len = a->input->len;
	else
		return NULL;
	char *line = g_strndup(a->input->str, len);
	g_string_erase(a->input, 0,
		       (gssize)MIN(len + (nl != NULL), a->input->len));
	*too_long = len > ANSWER_MAX;
	return line;
}

static void print_choices(struct agent *a, const struct question *q)
{
	gint64 left = (q->deadline - g_get_monotonic_time() + 999999) /
		      G_USEC_PER_SEC;
	fprintf(a->out, "Choose 1-%u or a name", q->ask->ntargets);
	if (q->ask->untrusted_default != NULL) {
		fputs(", Enter for ", a->out);
		qm_tool_fputs_safe(q->ask->untrusted_default, a->out);
	}
	fprintf(a->out, ", n to refuse (%" G_GINT64_FORMAT " s left): ",
		MAX(left, 0));
	fflush(a->out);
}

static void show(struct agent *a, const struct question *q)
{
	print_call(a, q);
	fputs("; targets:", a->out);
	for (guint i = 0; i < q->ask->ntargets; i++) {
		fprintf(a->out, " %u) ", i + 1);
		qm_tool_fputs_safe(q->ask->untrusted_targets[i], a->out);
	}
	if (q->ask->untrusted_default != NULL) {
		fputs("; default: ", a->out);
		qm_tool_fputs_safe(q->ask->untrusted_default, a->out);
	}
	guint waiting = a->questions.length - 1;
	if (waiting > 0)
		fprintf(a->out, " [%u more waiting]", waiting);
	fputc('\n', a->out);
	print_choices(a, q);
}

/*
 * What a line of input chooses: true with *target (owned by q, or "" to
 * refuse), false when it is not a choice.  "n" refuses even when a target
 * is named n (it is still chosen by its number): a refusal must never be
 * read as a permission.
 */
static bool parse_choice(const struct question *q, const char *line,
			 const char **target)
{
	g_autofree char *s = g_strstrip(g_strdup(line));
	guint64 n;

	if (*s == '\0') {
		*target = q->ask->untrusted_default;
		return *target != NULL;
	}
	if (g_ascii_strcasecmp(s, "n") == 0 ||
	    g_ascii_strcasecmp(s, "no") == 0 ||
	    g_ascii_strcasecmp(s, "deny") == 0) {
		*target = "";
		return true;
	}
	if (g_ascii_string_to_unsigned(s, 10, 1, q->ask->ntargets, &n,
				       NULL)) {
		*target = q->ask->untrusted_targets[n - 1];
		return true;
	}
	for (guint i = 0; i < q->ask->ntargets; i++) {
		if (strcmp(q->ask->untrusted_targets[i], s) == 0) {
			*target = q->ask->untrusted_targets[i];
			return true;
		}
	}
	return false;
}

/* Sends the answer ("" refuses).  True when it is settled: qmgrd took it,
 * or no longer waits for it (*outcome says which); false to ask again. */
static bool send_answer(struct agent *a, const struct question *q,
			const char *target, enum outcome *outcome)
{
	g_autoptr(GError) err = NULL;
	GVariantDict args;
	g_variant_dict_init(&args, NULL);
	g_variant_dict_insert(&args, "id", "u", q->ask->id);
	g_variant_dict_insert(&args, "target", "s", target);
	g_autoptr(GVariant) r = qm_client_call(a->client, "prompt.Answer", "",
					       g_variant_dict_end(&args),
					       &err);
	if (r != NULL) {
		if (*target == '\0') {
			fputs("Refused.\n", a->out);
		} else {
			fputs("Allowed: ", a->out);
			qm_tool_fputs_safe(target, a->out);
			fputc('\n', a->out);
		}
		fflush(a->out);
		*outcome = ANSWERED;
		return true;
	}
	if (g_error_matches(err, QM_CLIENT_ERROR, QM_CLIENT_ERROR_NOT_FOUND)) {
		/* It timed out as the answer was on its way. */
		qm_tool_print_error(PROG, err);
		*outcome = CANCELLED;
		return true;
	}
	qm_tool_print_error(PROG, err);
	if (g_error_matches(err, QM_CLIENT_ERROR, QM_CLIENT_ERROR_INVALID))
		return false;   /* the question is still open */
	*outcome = FAILED;
	return true;
}

/* Shows the head question and settles it. */
static enum outcome ask_user(struct agent *a, struct question *q)
{
	enum outcome outcome;

	a->shown = true;
	a->head_cancelled = false;
	show(a, q);
	for (;;) {
		bool too_long;
		g_autofree char *line = take_line(a, &too_long);
		if (line != NULL) {
			const char *target = NULL;
			if (!isatty(STDIN_FILENO)) {
				/* what a terminal would have echoed */
				qm_tool_fputs_safe(too_long ? "..." : line,
						   a->out);
				fputc('\n', a->out);
			}
			if (too_long || !parse_choice(q, line, &target)) {
				if (*line == '\0')
					fputs("There is no default. ", a->out);
				else
					fputs("Not a choice. ", a->out);
				print_choices(a, q);
				continue;
			}
			if (send_answer(a, q, target, &outcome))
				return outcome;
			print_choices(a, q);
			continue;
		}
		if (a->input_eof) {
			/* Nobody is left to answer: refuse rather than let
			 * the caller wait for the timeout. */
			fputs("\nEnd of input: refusing.\n", a->out);
			if (send_answer(a, q, "", &outcome) &&
			    outcome == FAILED)
				return FAILED;
			return INPUT_ENDED;
		}
		read_input(a);
		if (!pump(a) || a->bad != NULL)
			return FAILED;
		if (a->head_cancelled) {
			fputs("\nTimed out: qmgrd refused the call.\n",
			      a->out);
			fflush(a->out);
			return CANCELLED;
		}
	}
}

int main(int argc, char **argv)
{
	gboolean help = FALSE, once = FALSE;
	GOptionEntry entries[] = {
		{ "once", 0, 0, G_OPTION_ARG_NONE, &once, NULL, NULL },
		{ "help", 'h', 0, G_OPTION_ARG_NONE, &help, NULL, NULL },
		{ NULL },
	};
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) r = NULL;
	struct agent a = { 0 };
	int rc = QM_EXIT_USAGE;

	g_queue_init(&a.questions);
	a.input = g_string_new(NULL);
	rc = qm_tool_parse_options(PROG, SYNOPSIS, help_text, entries, &help,
				   &argc, &argv);
	if (rc >= 0)
		goto out;
	rc = QM_EXIT_USAGE;
	if (argc > 1) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS,
					 "unexpected argument '%s'", argv[1]);
		goto out;
	}

	rc = QM_EXIT_FAIL;
	a.client = qm_tool_connect(PROG);
	if (a.client == NULL)
		goto out;
	a.out = fopen("/dev/tty", "we");
	if (a.out == NULL)
		a.out = stdout;
	/* The client library takes EVENTs only after events.Subscribe;
	 * qmgrd sends the prompt's to its agent either way, and the vm-*
	 * events that subscribing brings are ignored. */
	if (!qm_client_subscribe(a.client, on_event, &a, NULL, &err) ||
	    (r = qm_client_call(a.client, "prompt.Register", "", NULL,
				&err)) == NULL) {
		qm_tool_print_error(PROG, err);
		goto out;
	}
	fputs("qvm-prompt: answering qmgrd's ask questions (Control-C to "
	      "stop)\n", a.out);
	fflush(a.out);

	for (;;) {
		/* Take in what has come, so that a question shows how many
		 * wait behind it. */
		if (!pump(&a) || a.bad != NULL)
			break;
		if (g_queue_is_empty(&a.questions)) {
			if (!qm_client_dispatch(a.client, -1, &err)) {
				qm_tool_print_error(PROG, err);
				break;
			}
			continue;
		}
		struct question *q = g_queue_peek_head(&a.questions);
		enum outcome outcome = ask_user(&a, q);
		g_queue_pop_head(&a.questions);
		question_free(q);
		a.shown = false;
		if (outcome == FAILED)
			break;   /* reported */
		if (outcome == INPUT_ENDED) {
			rc = QM_EXIT_OK;
			break;
		}
		if (once) {
			rc = outcome == ANSWERED ? QM_EXIT_OK : QM_EXIT_FAIL;
			break;
		}
	}
	if (a.bad != NULL) {
		fprintf(stderr, "%s: qmgrd sent ", PROG);
		qm_tool_fputs_safe(a.bad, stderr);
		fputc('\n', stderr);
	}
out:
	if (a.out != NULL && a.out != stdout)
		fclose(a.out);
	g_queue_clear_full(&a.questions, (GDestroyNotify)question_free);
	g_string_free(a.input, TRUE);
	g_free(a.bad);
	qm_client_destroy(a.client);
	return rc;
}
