/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The policy text decoder: turns the lines of one policy file into rules and
 * directives.  This is the part that reads untrusted bytes (it has a fuzz
 * target, tests/fuzz/fuzz-policy-parser.c): nothing here trusts a length, a
 * character or a count it has not checked.
 *
 * Errors never stop the parse: each is recorded as FILE:LINE: message and the
 * line is skipped, so a user sees every mistake at once.  Any error makes the
 * whole policy invalid (see policy.c), so a skipped line never loosens it.
 */
#include "internal.h"

#include <string.h>

#include "suggest.h"

#define FIELDS_MAX 16  /* a rule has at most 5 fields + 5 options */

/* White space as Python's str.split() sees it in ASCII (Qubes splits rule
 * lines with it): g_ascii_isspace() plus the vertical tab. */
static bool is_space(char c)
{
	return g_ascii_isspace(c) || c == '\v';
}

/* Splits on ASCII white space, in place; returns the field count, or
 * FIELDS_MAX + 1 when there are more fields than that. */
static size_t split_fields(char *line, char **fields)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		while (*p != '\0' && is_space(*p))
			p++;
		if (*p == '\0')
			return n;
		if (n == FIELDS_MAX)
			return FIELDS_MAX + 1;
		fields[n++] = p;
		while (*p != '\0' && !is_space(*p))
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
}

bool service_chars_ok(const char *s, bool allow_plus)
{
	for (; *s != '\0'; s++) {
		char c = *s;
		if (g_ascii_isalnum(c) || c == '.' || c == '_' || c == '-' ||
		    (allow_plus && c == '+'))
			continue;
		return false;
	}
	return true;
}

/* Checks SERVICE and ARGUMENT; NULL in *out means '*'. */
static bool parse_service_argument(struct parse_ctx *ctx, const char *file,
				   unsigned line, const char *service,
				   const char *argument, char **out_service,
				   char **out_argument)
{
	struct pol_policy *pol = ctx->policy;
	bool any_service = strcmp(service, "*") == 0;
	bool any_argument = strcmp(argument, "*") == 0;
	bool ok = true;

	if (!any_service) {
		if (strlen(service) > POL_SERVICE_MAX) {
			policy_add_error(pol, file, line,
					 "service name longer than %d "
					 "characters", POL_SERVICE_MAX);
			ok = false;
		} else if (!service_chars_ok(service, false)) {
			g_autofree char *q = g_strescape(service, NULL);
			policy_add_error(pol, file, line,
					 "service '%s' has characters other "
					 "than letters, digits, '.', '_' and "
					 "'-'%s", q,
					 strchr(service, '+')
						 ? " (write the argument as a "
						   "separate field: SERVICE "
						   "+ARG)"
						 : "");
			ok = false;
		}
	}
	if (!any_argument) {
		if (argument[0] != '+') {
			g_autofree char *q = g_strescape(argument, NULL);
			policy_add_error(pol, file, line,
					 "argument '%s' must be '*' or start "
					 "with '+' ('+' alone is the empty "
					 "argument)", q);
			ok = false;
		} else if (strlen(argument) > POL_ARGUMENT_MAX) {
			policy_add_error(pol, file, line,
					 "argument longer than %d characters",
					 POL_ARGUMENT_MAX);
			ok = false;
		} else if (!service_chars_ok(argument, true)) {
			g_autofree char *q = g_strescape(argument, NULL);
			policy_add_error(pol, file, line,
					 "argument '%s' has characters other "
					 "than letters, digits, '.', '_', '-' "
					 "and '+'", q);
			ok = false;
		} else if (any_service) {
			policy_add_error(pol, file, line,
					 "only '*' argument allowed for '*' "
					 "service");
			ok = false;
		}
	}
	if (ok) {
		*out_service = any_service ? NULL : g_strdup(service);
		*out_argument = any_argument ? NULL : g_strdup(argument);
	}
	return ok;
}

static const char *const actions[] = { "allow", "deny", "ask" };
static const char *const action_names[] = {
	[POL_ACTION_DENY] = "deny",
	[POL_ACTION_ALLOW] = "allow",
	[POL_ACTION_ASK] = "ask",
};
static const char *const option_names[] = {
	"target", "default_target", "user", "notify", "autostart",
};

static bool parse_yes_no(struct pol_policy *pol, const char *file,
			 unsigned line, const char *key, const char *value,
			 bool *out)
{
	if (strcmp(value, "yes") == 0)
		*out = true;
	else if (strcmp(value, "no") == 0)
		*out = false;
	else {
		g_autofree char *q = g_strescape(value, NULL);
		policy_add_error(pol, file, line,
				 "'%s' is '%s', but can be only 'yes' or 'no'",
				 key, q);
		return false;
	}
	return true;
}

static bool user_is_valid(const char *user)
{
	size_t len = strlen(user);
	if (len == 0 || len > POL_USER_MAX || user[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = user[i];
		if (!g_ascii_isalnum(c) && c != '_' && c != '.' && c != '-')
			return false;
	}
	return true;
}

/* Parses the options of an action into `rule`. */
static bool parse_options(struct pol_policy *pol, const char *file,
			  unsigned line, struct pol_rule *rule,
			  char **params, size_t n_params)
{
	unsigned seen = 0;
	bool ok = true;
	const char *action = action_names[rule->action];

	for (size_t i = 0; i < n_params; i++) {
		char *p = params[i];
		char *eq = strchr(p, '=');
		g_autofree char *qp = g_strescape(p, NULL);
		if (eq == NULL) {
			policy_add_error(pol, file, line,
					 "invalid action parameter syntax: '%s' "
					 "(expected key=value)", qp);
			ok = false;
			continue;
		}
		*eq = '\0';
		const char *key = p, *value = eq + 1;
		int k = -1;
		for (size_t j = 0; j < G_N_ELEMENTS(option_names); j++)
			if (strcmp(key, option_names[j]) == 0)
				k = (int)j;
		if (k < 0) {
			g_autofree char *qk = g_strescape(key, NULL);
			const char *s = qm_suggest(key, option_names,
						   G_N_ELEMENTS(option_names));
			policy_add_error(pol, file, line,
					 "unknown option '%s'%s%s%s", qk,
					 s ? " (did you mean " : "",
					 s ? s : "", s ? "?)" : "");
			ok = false;
			continue;
		}
		if (seen & (1u << k)) {
			policy_add_error(pol, file, line,
					 "parameter given twice: '%s'", key);
			ok = false;
			continue;
		}
		seen |= 1u << k;

		bool allowed;
		switch (rule->action) {
		case POL_ACTION_DENY:
			allowed = strcmp(key, "notify") == 0;
			break;
		case POL_ACTION_ALLOW:
			allowed = strcmp(key, "default_target") != 0;
			break;
		default:
			allowed = true;
			break;
		}
		if (!allowed) {
			policy_add_error(pol, file, line,
					 "option '%s' is not valid for action "
					 "'%s'", key, action);
			ok = false;
			continue;
		}

		char *msg = NULL;
		if (strcmp(key, "target") == 0 ||
		    strcmp(key, "default_target") == 0) {
			struct pol_token *tok = strcmp(key, "target") == 0
							? &rule->redirect
							: &rule->default_target;
			if (!tok_parse(value, CTX_REDIRECT, key, tok, &msg)) {
				policy_add_error(pol, file, line, "%s=: %s",
						 key, msg);
				g_free(msg);
				ok = false;
			}
		} else if (strcmp(key, "user") == 0) {
			if (!user_is_valid(value)) {
				g_autofree char *q = g_strescape(value, NULL);
				policy_add_error(pol, file, line,
						 "invalid user '%s' (letters, "
						 "digits, '_', '.', '-', at "
						 "most %d characters)", q,
						 POL_USER_MAX);
				ok = false;
			} else {
				rule->user = g_strdup(value);
			}
		} else if (strcmp(key, "notify") == 0) {
			ok = parse_yes_no(pol, file, line, key, value,
					  &rule->notify) && ok;
		} else {
			ok = parse_yes_no(pol, file, line, key, value,
					  &rule->autostart) && ok;
		}
	}
	return ok;
}

static void parse_rule(struct parse_ctx *ctx, const char *file, unsigned line,
		       const char *service, const char *argument,
		       char **fields, size_t n)
{
	struct pol_policy *pol = ctx->policy;
	struct pol_rule *rule = g_new0(struct pol_rule, 1);
	char *msg = NULL;
	bool ok = true;

	/* Keep the rule's text before the option parser cuts it up. */
	{
		GString *text = g_string_new(NULL);
		if (service != NULL)
			g_string_append_printf(text, "%s %s ", service,
					       argument);
		for (size_t i = 0; i < n; i++)
			g_string_append_printf(text, i ? " %s" : "%s",
					       fields[i]);
		rule->text = g_string_free(text, FALSE);
	}

	if (service == NULL) {
		service = fields[0];
		argument = fields[1];
		fields += 2;
		n -= 2;
	}
	ok = parse_service_argument(ctx, file, line, service, argument,
				    &rule->service, &rule->argument);

	if (!tok_parse(fields[0], CTX_SOURCE, "source", &rule->source, &msg)) {
		policy_add_error(pol, file, line, "source: %s", msg);
		g_clear_pointer(&msg, g_free);
		ok = false;
	}
	if (!tok_parse(fields[1], CTX_TARGET, "target", &rule->target, &msg)) {
		policy_add_error(pol, file, line, "target: %s", msg);
		g_clear_pointer(&msg, g_free);
		ok = false;
	}

	int action = -1;
	for (size_t i = 0; i < G_N_ELEMENTS(actions); i++)
		if (strcmp(fields[2], actions[i]) == 0)
			action = (int)i;
	if (action < 0) {
		g_autofree char *q = g_strescape(fields[2], NULL);
		const char *s = qm_suggest(fields[2], actions,
					   G_N_ELEMENTS(actions));
		if (s != NULL)
			policy_add_error(pol, file, line,
					 "invalid action '%s' (did you mean "
					 "%s?)", q, s);
		else
			policy_add_error(pol, file, line,
					 "invalid action '%s' (expected allow, "
					 "deny or ask)", q);
		rule_free(rule);
		return;
	}
	static const enum pol_action action_values[] = {
		POL_ACTION_ALLOW, POL_ACTION_DENY, POL_ACTION_ASK,
	};
	rule->action = action_values[action];
	rule->notify = rule->action == POL_ACTION_DENY;
	rule->autostart = true;
	ok = parse_options(pol, file, line, rule, fields + 3, n - 3) && ok;

	if (ok && rule->action == POL_ACTION_ALLOW &&
	    rule->target.kind == TOK_DEFAULT &&
	    rule->redirect.kind == TOK_NONE) {
		policy_add_error(pol, file, line,
				 "allow action for @default rule must specify "
				 "target= option");
		ok = false;
	}
	if (ok && rule->service != NULL &&
	    strcmp(rule->service, POL_NET_SERVICE) == 0)
		network_rule_check(pol, file, line, rule, &ok);
	if (!ok) {
		rule_free(rule);
		return;
	}
	rule->file = policy_intern_file(pol, file);
	rule->line = line;
	rule->index = pol->rules->len;
	g_ptr_array_add(pol->rules, rule);
}

static void parse_directive(struct parse_ctx *ctx, const char *file,
			    unsigned line, char **fields, size_t n,
			    bool service_file, const char *service,
			    const char *argument)
{
	struct pol_policy *pol = ctx->policy;
	const char *d = fields[0];
	size_t want;
	const char *kind;

	if (strcmp(d, "!include") == 0) {
		want = 2;
		kind = service_file ? "include-service" : "include";
	} else if (!service_file && strcmp(d, "!include-dir") == 0) {
		want = 2;
		kind = "include-dir";
	} else if (!service_file && strcmp(d, "!include-service") == 0) {
		want = 4;
		kind = "include-service";
	} else if (!service_file && strcmp(d, "!compat-4.0") == 0) {
		policy_add_error(pol, file, line,
				 "!compat-4.0 is not supported by qmgr: move "
				 "the rules of the old per-service files into "
				 "a .policy file (SERVICE ARGUMENT SOURCE "
				 "TARGET ACTION)");
		return;
	} else {
		g_autofree char *q = g_strescape(d, NULL);
		policy_add_error(pol, file, line,
				 "invalid directive '%s' (known: !include, "
				 "!include-dir, !include-service)", q);
		return;
	}
	if (n != want) {
		policy_add_error(pol, file, line,
				 "invalid number of params for %s (expected "
				 "%zu)", d, want - 1);
		return;
	}
	if (ctx->include == NULL) {
		policy_add_error(pol, file, line,
				 "%s is not available here (no policy "
				 "directory to resolve it against)", d);
		return;
	}
	if (strcmp(kind, "include-service") == 0 && !service_file) {
		g_autofree char *s = NULL, *a = NULL;
		if (!parse_service_argument(ctx, file, line, fields[1],
					    fields[2], &s, &a))
			return;
		ctx->include(ctx, file, line, kind, fields[1], fields[2],
			     fields[3]);
		return;
	}
	ctx->include(ctx, file, line, kind, service, argument, fields[1]);
}

/* Rewrites a line of the old one-service format as Qubes does: "$include:"
 * becomes "!include ", "$" becomes "@" and "," a separator. */
static char *compat_rewrite(const char *line)
{
	GString *out = g_string_new(NULL);
	for (const char *p = line; *p != '\0'; p++) {
		if (g_str_has_prefix(p, "$include:")) {
			g_string_append(out, "!include ");
			p += strlen("$include:") - 1;
		} else if (*p == '$') {
			g_string_append_c(out, '@');
		} else if (*p == ',') {
			g_string_append_c(out, ' ');
		} else {
			g_string_append_c(out, *p);
		}
	}
	return g_string_free(out, FALSE);
}

static void parse_line(struct parse_ctx *ctx, const char *file, unsigned line,
		       char *text, const char *service, const char *argument)
{
	struct pol_policy *pol = ctx->policy;
	char *fields[FIELDS_MAX];
	g_autofree char *rewritten = NULL;
	bool service_file = service != NULL;

	g_strstrip(text);
	if (text[0] == '\0' || text[0] == '#')
		return;
	if (service_file) {
		rewritten = compat_rewrite(text);
		text = rewritten;
	}
	size_t n = split_fields(text, fields);
	if (n == 0)
		return;
	if (n > FIELDS_MAX) {
		policy_add_error(pol, file, line, "too many fields");
		return;
	}
	if (fields[0][0] == '!') {
		parse_directive(ctx, file, line, fields, n, service_file,
				service, argument);
		return;
	}
	if (n < (service_file ? 3u : 5u)) {
		policy_add_error(pol, file, line,
				 "wrong number of fields (expected %s)",
				 service_file
					 ? "SOURCE TARGET ACTION [OPTIONS]"
					 : "SERVICE ARGUMENT SOURCE TARGET "
					   "ACTION [OPTIONS]");
		return;
	}
	parse_rule(ctx, file, line, service, argument, fields, n);
}

void parse_text(struct parse_ctx *ctx, const char *file, const char *text,
		size_t len, const char *service, const char *argument)
{
	if (len > POL_FILE_MAX) {
		policy_add_error(ctx->policy, file, 0,
				 "file is larger than %u bytes", POL_FILE_MAX);
		return;
	}
	if (memchr(text, '\0', len) != NULL) {
		policy_add_error(ctx->policy, file, 0,
				 "file contains a NUL byte (is it a policy "
				 "file?)");
		return;
	}

	const char *p = text, *end = text + len;
	unsigned line = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		g_autofree char *copy = g_strndup(p, l);
		line++;
		parse_line(ctx, file, line, copy, service, argument);
		p += l + (nl != NULL);
	}
}
