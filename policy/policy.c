/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The policy object: its rules, its errors, and the per-service index. */
#include "internal.h"

#include <string.h>

void rule_free(struct pol_rule *rule)
{
	if (rule == NULL)
		return;
	g_free(rule->service);
	g_free(rule->argument);
	tok_finish(&rule->source);
	tok_finish(&rule->target);
	tok_finish(&rule->redirect);
	tok_finish(&rule->default_target);
	g_free(rule->user);
	g_free(rule->text);
	g_free(rule);
}

static void index_free(gpointer p)
{
	g_array_free(p, TRUE);
}

struct pol_policy *policy_new(void)
{
	struct pol_policy *pol = g_new0(struct pol_policy, 1);
	pol->rules = g_ptr_array_new_with_free_func((GDestroyNotify)rule_free);
	pol->errors = g_ptr_array_new_with_free_func(g_free);
	pol->files = g_ptr_array_new_with_free_func(g_free);
	pol->by_service = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
						index_free);
	pol->any_service = g_array_new(FALSE, FALSE, sizeof(guint));
	return pol;
}

void pol_policy_destroy(struct pol_policy *pol)
{
	if (pol == NULL)
		return;
	g_hash_table_destroy(pol->by_service);
	g_array_free(pol->any_service, TRUE);
	g_ptr_array_free(pol->rules, TRUE);
	g_ptr_array_free(pol->errors, TRUE);
	g_ptr_array_free(pol->files, TRUE);
	g_free(pol);
}

void policy_add_error(struct pol_policy *pol, const char *file, unsigned line,
		      const char *fmt, ...)
{
	if (pol->errors->len >= POL_ERRORS_MAX) {
		pol->errors_dropped++;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (line > 0)
		g_ptr_array_add(pol->errors,
				g_strdup_printf("%s:%u: %s", file, line, msg));
	else
		g_ptr_array_add(pol->errors,
				g_strdup_printf("%s: %s", file, msg));
}

const char *policy_intern_file(struct pol_policy *pol, const char *path)
{
	/* Files are few; the last one is almost always the one asked for. */
	for (guint i = pol->files->len; i > 0; i--) {
		const char *f = g_ptr_array_index(pol->files, i - 1);
		if (strcmp(f, path) == 0)
			return f;
	}
	char *copy = g_strdup(path);
	g_ptr_array_add(pol->files, copy);
	return copy;
}

/*
 * Builds, for every service named in a rule, the ordered list of rules that
 * can match a call of that service: its own rules merged with the '*' rules.
 * A decision then walks only that list (first match still wins, since the
 * merge keeps policy order) instead of every rule of the policy.
 */
void policy_build_index(struct pol_policy *pol)
{
	for (guint i = 0; i < pol->rules->len; i++) {
		const struct pol_rule *rule = g_ptr_array_index(pol->rules, i);
		if (rule->service != NULL &&
		    !g_hash_table_contains(pol->by_service, rule->service))
			g_hash_table_insert(pol->by_service, rule->service,
					    g_array_new(FALSE, FALSE,
							sizeof(guint)));
	}
	/* In policy order, so that every list keeps first-match order. */
	for (guint i = 0; i < pol->rules->len; i++) {
		const struct pol_rule *rule = g_ptr_array_index(pol->rules, i);
		if (rule->service != NULL) {
			g_array_append_val(g_hash_table_lookup(pol->by_service,
							       rule->service),
					   i);
			continue;
		}
		g_array_append_val(pol->any_service, i);
		GHashTableIter it;
		gpointer list;
		g_hash_table_iter_init(&it, pol->by_service);
		while (g_hash_table_iter_next(&it, NULL, &list))
			g_array_append_val((GArray *)list, i);
	}
	if (pol->errors_dropped > 0)
		g_ptr_array_add(pol->errors,
				g_strdup_printf("(%zu more errors not shown)",
						pol->errors_dropped));
}

const GArray *policy_candidates(const struct pol_policy *pol,
				const char *service)
{
	const GArray *list = g_hash_table_lookup(pol->by_service, service);
	return list != NULL ? list : pol->any_service;
}

bool pol_policy_is_valid(const struct pol_policy *pol)
{
	return pol->errors->len == 0;
}

size_t pol_policy_error_count(const struct pol_policy *pol)
{
	return pol->errors->len;
}

const char *pol_policy_error(const struct pol_policy *pol, size_t i)
{
	return i < pol->errors->len ? g_ptr_array_index(pol->errors, i) : NULL;
}

size_t pol_policy_rule_count(const struct pol_policy *pol)
{
	return pol->rules->len;
}

size_t pol_policy_file_count(const struct pol_policy *pol)
{
	return pol->files->len;
}

const char *pol_policy_file(const struct pol_policy *pol, size_t i)
{
	return i < pol->files->len ? g_ptr_array_index(pol->files, i) : NULL;
}

const char *pol_rule_file(const struct pol_rule *rule)
{
	return rule->file;
}

unsigned pol_rule_line(const struct pol_rule *rule)
{
	return rule->line;
}

const char *pol_rule_text(const struct pol_rule *rule)
{
	return rule->text;
}
