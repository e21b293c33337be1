/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VM specifications ("tokens"): parsing them out of policy text, checking
 * where each may appear, and matching / expanding them against the VMs.
 *
 * Policy text is untrusted input: every token is checked against an
 * allow-list of characters and a length limit before it is stored.
 */
#include "internal.h"

#include <string.h>

#include "suggest.h"

bool name_is_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > POL_VM_NAME_MAX || !g_ascii_isalpha(name[0]))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!g_ascii_isalnum(c) && c != '_' && c != '.' && c != '-')
			return false;
	}
	return true;
}

bool tag_is_valid(const char *tag)
{
	size_t len = strlen(tag);
	if (len == 0 || len > POL_TAG_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = tag[i];
		if (!g_ascii_isalnum(c) && c != '_' && c != '-')
			return false;
	}
	return true;
}

bool uuid_canonical(const char *text, char out[37])
{
	if (strlen(text) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		char c = text[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!g_ascii_isxdigit(c)) {
			return false;
		}
		out[i] = g_ascii_tolower(c);
	}
	out[36] = '\0';
	return true;
}

bool pol_tag_is_valid(const char *tag)
{
	return tag_is_valid(tag);
}

bool pol_uuid_canonical(const char *text, char out[37])
{
	return uuid_canonical(text, out);
}

static const char *const keywords[] = {
	"@adminvm", "@anyvm", "@default", "@dispvm", "@tag:", "@type:",
	"@dispvm:", "@dispvm:@tag:", "dom0", "*",
};

static const char *const class_names[POL_CLASS_COUNT] = {
	[POL_CLASS_ADMINVM] = "AdminVM",
	[POL_CLASS_APPVM] = "AppVM",
	[POL_CLASS_TEMPLATEVM] = "TemplateVM",
	[POL_CLASS_STANDALONEVM] = "StandaloneVM",
	[POL_CLASS_DISPVM] = "DispVM",
};

const char *pol_vm_class_name(enum pol_vm_class cls)
{
	return (unsigned)cls < POL_CLASS_COUNT ? class_names[cls] : NULL;
}

bool pol_vm_class_from_name(const char *name, enum pol_vm_class *out)
{
	for (unsigned i = 0; i < POL_CLASS_COUNT; i++) {
		if (strcmp(name, class_names[i]) == 0) {
			*out = i;
			return true;
		}
	}
	return false;
}

/* Where each kind may appear (Qubes' table, see docs/policy.md). */
static unsigned kind_contexts(enum tok_kind kind)
{
	switch (kind) {
	case TOK_NAME:
	case TOK_UUID:
	case TOK_ADMINVM:
	case TOK_DISPVM_NAME:
	case TOK_DISPVM_UUID:
		return CTX_SOURCE | CTX_TARGET | CTX_REDIRECT | CTX_INTENDED;
	case TOK_ANYVM:
	case TOK_WILDCARD:
	case TOK_TYPE:
	case TOK_TAG:
	case TOK_DISPVM_TAG:
		return CTX_SOURCE | CTX_TARGET;
	case TOK_DEFAULT:
		return CTX_TARGET | CTX_INTENDED;
	case TOK_DISPVM:
		return CTX_TARGET | CTX_REDIRECT | CTX_INTENDED;
	case TOK_NONE:
		break;
	}
	return 0;
}

static bool fail(char **msg, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static bool fail(char **msg, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	*msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return false;
}

/* Messages quote what was written; keep hostile bytes out of them. */
static char *quote(const char *text)
{
	size_t len = strlen(text);
	g_autofree char *cut = g_strndup(text, len > 80 ? 80 : len);
	char *esc = g_strescape(cut, NULL);
	if (len > 80) {
		char *longer = g_strconcat(esc, "...", NULL);
		g_free(esc);
		return longer;
	}
	return esc;
}

static bool parse_uuid_value(const char *text, const char *uuid_text,
			     char canon[37], char **msg)
{
	if (*uuid_text == '\0')
		return fail(msg, "empty uuid in '%s'", text);
	if (!uuid_canonical(uuid_text, canon)) {
		g_autofree char *q = quote(text);
		return fail(msg,
			    "invalid uuid in '%s' (expected 8-4-4-4-12 "
			    "hexadecimal digits)", q);
	}
	return true;
}

/* Sorts the text into a kind without checking the context. */
static bool classify(const char *text, struct pol_token *out, char **msg)
{
	char canon[37];
	g_autofree char *q = quote(text);

	if (strcmp(text, "dom0") == 0 || strcmp(text, "@adminvm") == 0) {
		out->kind = TOK_ADMINVM;
		return true;
	}
	if (strcmp(text, "*") == 0) {
		out->kind = TOK_WILDCARD;
		return true;
	}
	if (g_str_has_prefix(text, "uuid:")) {
		if (!parse_uuid_value(text, text + 5, canon, msg))
			return false;
		if (strcmp(canon, POL_ADMINVM_UUID) == 0) {
			out->kind = TOK_ADMINVM;
			return true;
		}
		out->kind = TOK_UUID;
		out->value = g_strdup(canon);
		return true;
	}
	if (text[0] != '@') {
		if (!name_is_valid(text))
			return fail(msg,
				    "invalid qube name '%s' (a name starts "
				    "with a letter, has only letters, digits, "
				    "'_', '.', '-' and at most %d characters)",
				    q, POL_VM_NAME_MAX);
		out->kind = TOK_NAME;
		out->value = g_strdup(text);
		return true;
	}
	if (strcmp(text, "@anyvm") == 0) {
		out->kind = TOK_ANYVM;
		return true;
	}
	if (strcmp(text, "@default") == 0) {
		out->kind = TOK_DEFAULT;
		return true;
	}
	if (strcmp(text, "@dispvm") == 0) {
		out->kind = TOK_DISPVM;
		return true;
	}
	if (g_str_has_prefix(text, "@type:")) {
		const char *cls = text + 6;
		if (*cls == '\0')
			return fail(msg, "empty class in '@type:'");
		if (!pol_vm_class_from_name(cls, &out->cls)) {
			const char *s = qm_suggest(cls, class_names,
						   POL_CLASS_COUNT);
			return fail(msg,
				    "unknown class in '%s'%s%s%s (classes: "
				    "AdminVM, AppVM, TemplateVM, StandaloneVM, "
				    "DispVM)",
				    q, s ? " (did you mean @type:" : "",
				    s ? s : "", s ? "?)" : "");
		}
		out->kind = TOK_TYPE;
		return true;
	}
	if (g_str_has_prefix(text, "@tag:")) {
		const char *tag = text + 5;
		if (*tag == '\0')
			return fail(msg, "empty tag in '@tag:'");
		if (!tag_is_valid(tag))
			return fail(msg,
				    "invalid tag in '%s' (a tag has only "
				    "letters, digits, '_' and '-', at most %d "
				    "characters)", q, POL_TAG_MAX);
		out->kind = TOK_TAG;
		out->value = g_strdup(tag);
		return true;
	}
	if (g_str_has_prefix(text, "@dispvm:@tag:")) {
		const char *tag = text + 13;
		if (*tag == '\0')
			return fail(msg, "empty tag in '@dispvm:@tag:'");
		if (!tag_is_valid(tag))
			return fail(msg,
				    "invalid tag in '%s' (a tag has only "
				    "letters, digits, '_' and '-', at most %d "
				    "characters)", q, POL_TAG_MAX);
		out->kind = TOK_DISPVM_TAG;
		out->value = g_strdup(tag);
		return true;
	}
	if (g_str_has_prefix(text, "@dispvm:")) {
		const char *rest = text + 8;
		if (*rest == '\0')
			return fail(msg, "empty template name in '@dispvm:'");
		if (g_str_has_prefix(rest, "uuid:")) {
			if (!parse_uuid_value(text, rest + 5, canon, msg))
				return false;
			out->kind = TOK_DISPVM_UUID;
			out->value = g_strdup(canon);
			return true;
		}
		if (rest[0] == '@')
			return fail(msg,
				    "invalid token '%s' (after '@dispvm:' "
				    "comes a qube name, uuid:UUID or @tag:TAG)",
				    q);
		if (strcmp(rest, "dom0") == 0 || !name_is_valid(rest))
			return fail(msg,
				    "invalid disposable template name in "
				    "'%s'", q);
		out->kind = TOK_DISPVM_NAME;
		out->value = g_strdup(rest);
		return true;
	}
	const char *s = qm_suggest(text, keywords, G_N_ELEMENTS(keywords));
	return fail(msg, "unknown token '%s'%s%s%s", q,
		    s ? " (did you mean " : "", s ? s : "", s ? "?)" : "");
}

static const char *context_help(unsigned allowed)
{
	if (allowed & CTX_INTENDED)
		return "a target a caller may ask for";
	if (allowed & CTX_REDIRECT)
		return "a redirect target (a qube name, uuid:UUID, @adminvm, "
		       "@dispvm or @dispvm:NAME)";
	if (allowed & CTX_SOURCE)
		return "a source";
	return "a target";
}

bool tok_parse(const char *text, unsigned allowed, const char *what,
	       struct pol_token *out, char **msg)
{
	memset(out, 0, sizeof(*out));
	if (*text == '\0')
		return fail(msg, "empty %s", what);
	if (!classify(text, out, msg)) {
		tok_finish(out);
		return false;
	}
	if (!(kind_contexts(out->kind) & allowed)) {
		g_autofree char *q = quote(text);
		tok_finish(out);
		return fail(msg, "'%s' cannot be used as %s", q,
			    context_help(allowed));
	}
	out->text = g_strdup(text);
	return true;
}

void tok_finish(struct pol_token *tok)
{
	g_clear_pointer(&tok->text, g_free);
	g_clear_pointer(&tok->value, g_free);
	tok->kind = TOK_NONE;
}

/* ---- matching ---- */

/* The VM a name/uuid token denotes, or NULL. */
static const struct pol_vm *token_vm(const struct pol_token *tok,
				     const struct pol_system *sys)
{
	switch (tok->kind) {
	case TOK_NAME:
	case TOK_DISPVM_NAME:
		return sys_find_name(sys, tok->value);
	case TOK_UUID:
	case TOK_DISPVM_UUID:
		return sys_find_uuid(sys, tok->value);
	case TOK_ADMINVM:
		return sys->adminvm;
	default:
		return NULL;
	}
}

const struct pol_vm *dispvm_of_source(const struct pol_system *sys,
				      const struct pol_vm *source)
{
	if (source == NULL || source->default_dispvm == NULL)
		return NULL;
	return sys_find_name(sys, source->default_dispvm);
}

/* Does a VM-denoting token (as a plain VM set) contain vm? */
static bool vm_in_set(const struct pol_token *tok, const struct pol_system *sys,
		      const struct pol_vm *vm)
{
	switch (tok->kind) {
	case TOK_NAME:
		/* Names are unique: the same as looking the name up, without
		 * hashing it at every rule (the network compiler matches
		 * every rule against every qube). */
		return strcmp(tok->value, vm->name) == 0;
	case TOK_UUID:
	case TOK_ADMINVM:
		return token_vm(tok, sys) == vm;
	case TOK_ANYVM:
		return vm->cls != POL_CLASS_ADMINVM;
	case TOK_WILDCARD:
		return true;
	case TOK_TYPE:
		return vm->cls == tok->cls;
	case TOK_TAG:
		return vm_has_tag(vm, tok->value);
	default:
		return false;
	}
}

bool tok_match_source(const struct pol_token *tok, const struct pol_system *sys,
		      const struct pol_vm *source)
{
	const struct pol_vm *tmpl;

	switch (tok->kind) {
	case TOK_DISPVM_NAME:
	case TOK_DISPVM_UUID:
	case TOK_DISPVM_TAG:
		/* A disposable, recognised by its disposable template. */
		if (source->cls != POL_CLASS_DISPVM ||
		    source->template_name == NULL)
			return false;
		tmpl = sys_find_name(sys, source->template_name);
		if (tmpl == NULL)
			return false;
		if (tok->kind == TOK_DISPVM_TAG)
			return tmpl->template_for_dispvms &&
			       vm_has_tag(tmpl, tok->value);
		return token_vm(tok, sys) == tmpl;
	default:
		return vm_in_set(tok, sys, source);
	}
}

bool tok_match_target(const struct pol_token *tok, const struct pol_system *sys,
		      const struct pol_vm *source, const struct intended *it)
{
	const struct pol_vm *tmpl = NULL;

	switch (tok->kind) {
	case TOK_WILDCARD:
		return true;
	case TOK_ANYVM:
		return it->kind != IT_ADMINVM;
	case TOK_DEFAULT:
		return it->kind == IT_DEFAULT;
	case TOK_DISPVM:
		return it->kind == IT_DISPVM;
	case TOK_NAME:
	case TOK_UUID:
	case TOK_ADMINVM:
	case TOK_TYPE:
	case TOK_TAG:
		if (it->kind == IT_ADMINVM)
			return vm_in_set(tok, sys, sys->adminvm);
		return it->kind == IT_VM && vm_in_set(tok, sys, it->vm);
	case TOK_DISPVM_NAME:
	case TOK_DISPVM_UUID:
	case TOK_DISPVM_TAG:
		if (it->kind == IT_DISPVM_TEMPLATE)
			tmpl = it->vm;
		else if (it->kind == IT_DISPVM)
			tmpl = dispvm_of_source(sys, source);
		if (tmpl == NULL)
			return false;
		if (tok->kind == TOK_DISPVM_TAG)
			return tmpl->template_for_dispvms &&
			       vm_has_tag(tmpl, tok->value);
		return token_vm(tok, sys) == tmpl;
	case TOK_NONE:
		break;
	}
	return false;
}

/* ---- expansion, for the ask target list ---- */

static void set_bit(struct target_set *set, size_t bit, bool add)
{
	guint64 mask = (guint64)1 << (bit % 64);
	if (add)
		set->bits[bit / 64] |= mask;
	else
		set->bits[bit / 64] &= ~mask;
}

static void expand_vm(const struct pol_vm *vm, struct target_set *set,
		      bool add)
{
	set_bit(set, 2 * (size_t)vm->index, add);
}

static void expand_dispvm_template(const struct pol_vm *vm,
				   struct target_set *set, bool add)
{
	if (vm != NULL && vm->template_for_dispvms)
		set_bit(set, 2 * (size_t)vm->index + 1, add);
}

void tok_expand(const struct pol_token *tok, const struct pol_system *sys,
		struct target_set *set, bool add)
{
	const struct pol_vm *vm;

	switch (tok->kind) {
	case TOK_NAME:
	case TOK_UUID:
	case TOK_ADMINVM:
		vm = token_vm(tok, sys);
		if (vm != NULL)
			expand_vm(vm, set, add);
		return;
	case TOK_ANYVM:
	case TOK_WILDCARD:
		for (guint i = 0; i < sys->vms->len; i++) {
			vm = g_ptr_array_index(sys->vms, i);
			if (vm->cls != POL_CLASS_ADMINVM ||
			    tok->kind == TOK_WILDCARD)
				expand_vm(vm, set, add);
			expand_dispvm_template(vm, set, add);
		}
		set->dispvm = add;
		return;
	case TOK_TYPE:
	case TOK_TAG:
		for (guint i = 0; i < sys->vms->len; i++) {
			vm = g_ptr_array_index(sys->vms, i);
			if (vm_in_set(tok, sys, vm))
				expand_vm(vm, set, add);
		}
		return;
	case TOK_DISPVM:
		set->dispvm = add;
		return;
	case TOK_DISPVM_NAME:
	case TOK_DISPVM_UUID:
		expand_dispvm_template(token_vm(tok, sys), set, add);
		return;
	case TOK_DISPVM_TAG:
		for (guint i = 0; i < sys->vms->len; i++) {
			vm = g_ptr_array_index(sys->vms, i);
			if (vm_has_tag(vm, tok->value))
				expand_dispvm_template(vm, set, add);
		}
		return;
	case TOK_DEFAULT:
	case TOK_NONE:
		return;
	}
}
