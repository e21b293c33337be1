/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Benchmark of the policy engine (libqmgr-policy).
 *
 * Generates, from a fixed seed, a system of 50 VMs, a policy of 1,000 rules
 * over 200 services (as policy text) and 20,000 queries, then measures how
 * long loading the policy takes and how many decisions per second one thread
 * takes.  Absolute numbers depend on the machine, so the same run also
 * measures two naive baselines on the same data and reports ratios:
 *   - loading: copying the text and splitting it into fields in place;
 *   - deciding: a linear scan over the same rules (as structs) comparing the
 *     four columns as strings, without any index or VM semantics, which is
 *     what an unindexed evaluator (such as Qubes' Python one) does at least.
 * It also decides a second query set against a 100-rule subset and the full
 * 1,000-rule policy: with a per-service index both should run at about the
 * same speed, while the baseline slows down with the rule count.
 *
 * Missed targets are reported, never turned into a failing exit status: a
 * benchmark is not a test.  It exits non-zero only when it cannot run (the
 * generated policy or system is rejected).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib.h>

#include "bench-rng.h"
#include "policy.h"

#define N_VMS 50
#define N_DVM_TEMPLATES 3
#define N_SERVICES 200
#define N_RULES 1000
#define N_CATCHALL 5
#define N_SMALL_RULES 100
#define N_QUERIES 20000
#define MAX_ARGS 5
#define MAX_TAGS 3

#define TARGET_DECISIONS_PER_S 1000000.0
#define TARGET_LOAD_MS 5.0
/* What Qubes' Python implementation reaches on the same kind of policy. */
#define PYTHON_DECISIONS_PER_S 12000.0
#define PYTHON_LOAD_MS 21.0

/* ---- the generated world ---------------------------------------------- */

struct vm_desc {
	const char *name;
	enum pol_vm_class cls;
	const char *uuid;                 /* NULL or canonical */
	const char *tags[MAX_TAGS + 1];   /* NULL-terminated */
	const char *default_dispvm;
	const char *template_name;
	bool template_for_dispvms;
	bool running;
	bool internal;
};

struct rule_desc {
	unsigned service_index;   /* N_SERVICES for "*" */
	const char *service;      /* "*" or a name */
	const char *argument;     /* "*" or "+..." */
	const char *source;
	const char *target;
	enum pol_action action;
	const char *options;      /* "" or " key=value ..." */
};

struct world {
	struct rng rng;
	GStringChunk *strings;    /* every generated string */
	struct vm_desc vms[N_VMS];
	const char *dvm_templates[N_DVM_TEMPLATES];
	const char *services[N_SERVICES];
	const char *args[N_SERVICES][MAX_ARGS];
	unsigned n_args[N_SERVICES];
	bool in_small[N_SERVICES];
	GArray *rules;            /* struct rule_desc, policy order */
	GArray *small_rules;      /* the rules of the in_small services */
	GArray *queries;          /* struct pol_request */
	GArray *small_queries;    /* queries for the in_small services */
};

static const char *const tag_names[] = {
	"work", "personal", "audio", "usb", "net", "backup", "split-gpg",
	"vpn", "gui", "created-by-dom0",
};

static const char *const class_names[] = {
	"AdminVM", "AppVM", "TemplateVM", "StandaloneVM", "DispVM",
};

static const char *intern(struct world *w, const char *fmt, ...)
	G_GNUC_PRINTF(2, 3);

static const char *intern(struct world *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *s = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return g_string_chunk_insert_const(w->strings, s);
}

static const char *random_uuid(struct world *w)
{
	uint64_t a = rng_next(&w->rng), b = rng_next(&w->rng);
	/* Version 4, variant 1, like the ones libvirt hands out. */
	return intern(w, "%08" PRIx32 "-%04" PRIx32 "-4%03" PRIx32
		      "-%04" PRIx32 "-%012" PRIx64,
		      (uint32_t)a, (uint32_t)(a >> 32) & 0xffff,
		      (uint32_t)(a >> 48) & 0xfff,
		      0x8000 | ((uint32_t)b & 0x3fff),
		      (b >> 16) & UINT64_C(0xffffffffffff));
}

static void add_vm(struct world *w, size_t *n, const char *name,
		   enum pol_vm_class cls)
{
	g_assert(*n < N_VMS);
	struct vm_desc *vm = &w->vms[(*n)++];
	vm->name = g_string_chunk_insert_const(w->strings, name);
	vm->cls = cls;
	vm->running = rng_chance(&w->rng, cls == POL_CLASS_TEMPLATEVM ? 20 : 55);
	if (rng_chance(&w->rng, 60))
		vm->uuid = random_uuid(w);
	unsigned n_tags = rng_below(&w->rng, MAX_TAGS + 1);
	for (unsigned i = 0, k = 0; i < n_tags; i++) {
		const char *t = PICK(&w->rng, tag_names);
		bool dup = false;
		for (unsigned j = 0; j < k; j++)
			dup |= strcmp(vm->tags[j], t) == 0;
		if (!dup)
			vm->tags[k++] = t;
	}
}

static void generate_vms(struct world *w)
{
	static const char *const named_appvms[] = {
		"sys-net", "sys-firewall", "sys-usb", "sys-whonix", "work",
		"personal", "vault", "untrusted", "banking", "mail", "dev",
		"media",
	};
	static const char *const templates[] = {
		"debian-12", "fedora-40", "whonix-gw-17",
	};
	static const char *const dvms[N_DVM_TEMPLATES] = {
		"default-dvm", "work-dvm", "whonix-dvm",
	};
	size_t n = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(templates); i++)
		add_vm(w, &n, templates[i], POL_CLASS_TEMPLATEVM);
	add_vm(w, &n, "windows-10", POL_CLASS_STANDALONEVM);
	for (size_t i = 0; i < N_DVM_TEMPLATES; i++) {
		add_vm(w, &n, dvms[i], POL_CLASS_APPVM);
		w->vms[n - 1].template_for_dispvms = true;
		w->vms[n - 1].default_dispvm = dvms[i];
		w->dvm_templates[i] = w->vms[n - 1].name;
	}
	for (size_t i = 0; i < 6; i++) {
		char name[16];
		g_snprintf(name, sizeof(name), "disp%u",
			   1000 + rng_below(&w->rng, 9000));
		add_vm(w, &n, name, POL_CLASS_DISPVM);
		struct vm_desc *vm = &w->vms[n - 1];
		vm->template_name = PICK(&w->rng, w->dvm_templates);
		vm->default_dispvm = vm->template_name;
		vm->running = true;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(named_appvms); i++)
		add_vm(w, &n, named_appvms[i], POL_CLASS_APPVM);
	for (unsigned i = 0; n < N_VMS; i++) {
		char name[16];
		g_snprintf(name, sizeof(name), "app-%02u", i);
		add_vm(w, &n, name, POL_CLASS_APPVM);
	}
	/* Two names could have collided among the disposables; rename. */
	for (size_t i = 0; i < N_VMS; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(w->vms[i].name, w->vms[j].name) == 0)
				w->vms[i].name = intern(w, "%s-%zu",
							w->vms[i].name, i);
	for (size_t i = 0; i < N_VMS; i++) {
		struct vm_desc *vm = &w->vms[i];
		if ((vm->cls == POL_CLASS_APPVM && !vm->template_for_dispvms) ||
		    vm->cls == POL_CLASS_STANDALONEVM)
			vm->default_dispvm = rng_chance(&w->rng, 80) ?
				PICK(&w->rng, w->dvm_templates) : NULL;
		if (strncmp(vm->name, "sys-", 4) == 0)
			vm->running = true;
	}
	/* Some VMs carry a uuid for sure, so that uuid: tokens can be made. */
	w->vms[0].uuid = w->vms[0].uuid ? w->vms[0].uuid : random_uuid(w);
	w->vms[N_VMS - 1].internal = true;
}

static const struct vm_desc *random_vm(struct world *w)
{
	return &w->vms[rng_below(&w->rng, N_VMS)];
}

static const char *random_uuid_token(struct world *w, const char *prefix)
{
	for (;;) {
		const struct vm_desc *vm = random_vm(w);
		if (vm->uuid)
			return intern(w, "%suuid:%s", prefix, vm->uuid);
	}
}

static void generate_services(struct world *w)
{
	static const char *const well_known[] = {
		"qmgr.Filecopy", "qmgr.OpenInVM", "qmgr.OpenURL",
		"qmgr.VMShell", "qmgr.StartApp", "qmgr.GetDate",
		"qmgr.ClipboardPaste", "qmgr.UpdatesProxy", "qmgr.Gpg",
		"qmgr.PdfConvert", "qmgr.InputMouse", "qmgr.InputKeyboard",
		"qmgr.USB", "qmgr.ConnectTCP", "qmgr.WindowIconUpdater",
		"qmgr.GetImageRGBA", "qmgr.SyncAppMenus", "qmgr.NotifyUpdates",
		"qmgr.ReceiveUpdates", "qmgr.FeaturesRequest",
	};
	static const char *const spaces[] = {
		"admin.vm", "admin.vm.device.pci", "admin.vm.device.usb",
		"admin.vm.feature", "admin.vm.property", "admin.pool",
		"admin.backup", "org.example", "com.corp.tools", "qmgr.gpg",
	};
	static const char *const verbs[] = {
		"List", "Get", "Set", "Reset", "Create", "Remove", "Attach",
		"Detach", "Available", "Start", "Shutdown", "Pause", "Unpause",
		"Info", "Backup", "Restore", "Sign", "Encrypt", "Decrypt",
		"Paste", "Notify", "Convert", "Update", "Query", "Sync",
		"Import", "Export", "Kill",
	};
	static const char *const arg_words[] = {
		"22", "443", "8080", "sys-usb+2-1", "sys-usb+3-4",
		"dom0+00_14.0", "default", "read", "write", "label",
		"netvm", "memory", "kernelopts", "allow-all", "pool-lvm",
	};
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash,
						       g_str_equal);
	size_t n = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(well_known); i++) {
		w->services[n++] = well_known[i];
		g_hash_table_add(seen, (char *)well_known[i]);
	}
	while (n < N_SERVICES) {
		/* Two statements: the order of evaluation of arguments is
		 * unspecified, and the world must not depend on the
		 * compiler. */
		const char *space = PICK(&w->rng, spaces);
		const char *s = intern(w, "%s.%s", space,
				       PICK(&w->rng, verbs));
		if (g_hash_table_contains(seen, s))
			continue;
		g_hash_table_add(seen, (char *)s);
		w->services[n++] = s;
	}
	for (size_t i = 0; i < N_SERVICES; i++) {
		if (!rng_chance(&w->rng, 60))
			continue;
		unsigned k = 1 + rng_below(&w->rng, MAX_ARGS);
		for (unsigned j = 0; j < k; j++)
			w->args[i][w->n_args[i]++] = rng_chance(&w->rng, 40) ?
				intern(w, "+%s", random_vm(w)->name) :
				intern(w, "+%s", PICK(&w->rng, arg_words));
	}
}

static const char *random_source(struct world *w)
{
	unsigned p = rng_below(&w->rng, 100);
	if (p < 28)
		return "@anyvm";
	if (p < 42)
		return intern(w, "@tag:%s", PICK(&w->rng, tag_names));
	if (p < 47)
		return intern(w, "@type:%s", PICK(&w->rng, class_names));
	if (p < 77)
		return random_vm(w)->name;
	if (p < 83)
		return rng_chance(&w->rng, 50) ? "dom0" : "@adminvm";
	if (p < 89)
		return random_uuid_token(w, "");
	if (p < 94)
		return intern(w, "@dispvm:%s", PICK(&w->rng, w->dvm_templates));
	if (p < 97)
		return "*";
	return intern(w, "@dispvm:@tag:%s", PICK(&w->rng, tag_names));
}

static const char *random_target(struct world *w)
{
	unsigned p = rng_below(&w->rng, 100);
	if (p < 18)
		return "@default";
	if (p < 30)
		return "@dispvm";
	if (p < 35)
		return intern(w, "@dispvm:%s", PICK(&w->rng, w->dvm_templates));
	if (p < 50)
		return "@anyvm";
	if (p < 60)
		return intern(w, "@tag:%s", PICK(&w->rng, tag_names));
	if (p < 64)
		return intern(w, "@type:%s", PICK(&w->rng, class_names));
	if (p < 90)
		return random_vm(w)->name;
	if (p < 95)
		return rng_chance(&w->rng, 50) ? "dom0" : "@adminvm";
	if (p < 98)
		return random_uuid_token(w, "");
	return "*";
}

/* A token for target= / default_target=. */
static const char *random_redirect(struct world *w)
{
	unsigned p = rng_below(&w->rng, 100);
	if (p < 50)
		return random_vm(w)->name;
	if (p < 65)
		return rng_chance(&w->rng, 50) ? "dom0" : "@adminvm";
	if (p < 80)
		return "@dispvm";
	if (p < 95)
		return intern(w, "@dispvm:%s", PICK(&w->rng, w->dvm_templates));
	return random_uuid_token(w, "");
}

static const char *random_options(struct world *w, enum pol_action action,
				  const char *target)
{
	g_autoptr(GString) o = g_string_new(NULL);
	struct rng *r = &w->rng;

	switch (action) {
	case POL_ACTION_DENY:
		if (rng_chance(r, 25))
			g_string_append_printf(o, " notify=%s",
					       rng_chance(r, 80) ? "no" : "yes");
		break;
	case POL_ACTION_ALLOW:
		/* allow to @default must say where to. */
		if (strcmp(target, "@default") == 0 || rng_chance(r, 15))
			g_string_append_printf(o, " target=%s",
					       random_redirect(w));
		if (rng_chance(r, 15))
			g_string_append_printf(o, " user=%s",
					       rng_chance(r, 50) ? "root" : "user");
		if (rng_chance(r, 10))
			g_string_append(o, " notify=yes");
		if (rng_chance(r, 8))
			g_string_append(o, " autostart=no");
		break;
	case POL_ACTION_ASK:
		if (rng_chance(r, 8))
			g_string_append_printf(o, " target=%s",
					       random_redirect(w));
		if (rng_chance(r, 50))
			g_string_append_printf(o, " default_target=%s",
					       random_redirect(w));
		if (rng_chance(r, 10))
			g_string_append(o, " user=root");
		if (rng_chance(r, 5))
			g_string_append(o, " notify=yes");
		if (rng_chance(r, 5))
			g_string_append(o, " autostart=no");
		break;
	}
	return g_string_chunk_insert_const(w->strings, o->str);
}

static void random_rule(struct world *w, unsigned svc, const char *argument,
			struct rule_desc *out)
{
	unsigned p = rng_below(&w->rng, 100);
	out->service_index = svc;
	out->service = w->services[svc];
	out->argument = argument;
	out->source = random_source(w);
	out->target = random_target(w);
	out->action = p < 35 ? POL_ACTION_DENY :
		      p < 75 ? POL_ACTION_ALLOW : POL_ACTION_ASK;
	out->options = random_options(w, out->action, out->target);
}

/* Specific arguments first, then "+", then "*", as people write them. */
static int argument_rank(const char *argument)
{
	return strcmp(argument, "*") == 0 ? 2 : strcmp(argument, "+") == 0;
}

static gint compare_rank(gconstpointer a, gconstpointer b)
{
	const struct rule_desc *x = a, *y = b;
	return argument_rank(x->argument) - argument_rank(y->argument);
}

static void generate_rules(struct world *w)
{
	unsigned count[N_SERVICES], order[N_SERVICES];
	const unsigned n_service_rules = N_RULES - N_CATCHALL;

	/* Every service has a rule; popular (low-numbered) ones get more. */
	for (unsigned i = 0; i < N_SERVICES; i++)
		count[i] = 1;
	for (unsigned i = N_SERVICES; i < n_service_rules; i++) {
		unsigned a = rng_below(&w->rng, N_SERVICES);
		unsigned b = rng_below(&w->rng, N_SERVICES);
		count[MIN(a, b)]++;
	}
	/* Blocks of different services appear in random order. */
	for (unsigned i = 0; i < N_SERVICES; i++)
		order[i] = i;
	for (unsigned i = N_SERVICES - 1; i > 0; i--) {
		unsigned j = rng_below(&w->rng, i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	/* The subset for the scaling run: services whose blocks add up to
	 * N_SMALL_RULES together with the catch-all rules. */
	unsigned small = 0;
	for (unsigned i = 0; i < N_SERVICES; i++) {
		unsigned s = order[i];
		if (small + count[s] <= N_SMALL_RULES - N_CATCHALL) {
			w->in_small[s] = true;
			small += count[s];
		}
	}

	for (unsigned i = 0; i < N_SERVICES; i++) {
		unsigned s = order[i];
		g_autoptr(GArray) block = g_array_new(FALSE, TRUE,
						      sizeof(struct rule_desc));
		for (unsigned j = 0; j < count[s]; j++) {
			const char *arg;
			unsigned p = rng_below(&w->rng, 100);
			if (w->n_args[s] > 0 && p < 55)
				arg = w->args[s][rng_below(&w->rng,
							   w->n_args[s])];
			else if (p < 88)
				arg = "*";
			else
				arg = "+";
			struct rule_desc r;
			random_rule(w, s, arg, &r);
			g_array_append_val(block, r);
		}
		g_array_sort(block, compare_rank);
		/* Many blocks end by refusing whatever the block did not
		 * allow, which is what makes most of a real policy. */
		struct rule_desc *last = &g_array_index(block, struct rule_desc,
							block->len - 1);
		if (block->len > 1 && rng_chance(&w->rng, 40)) {
			last->argument = "*";
			last->source = "@anyvm";
			last->target = "@anyvm";
			last->action = POL_ACTION_DENY;
			last->options = "";
		}
		g_array_append_vals(w->rules, block->data, block->len);
		if (w->in_small[s])
			g_array_append_vals(w->small_rules, block->data,
					    block->len);
	}

	static const struct rule_desc catchall[N_CATCHALL] = {
		{ N_SERVICES, "*", "*", "@adminvm", "@anyvm",
		  POL_ACTION_ALLOW, "" },
		{ N_SERVICES, "*", "*", "@adminvm", "@dispvm",
		  POL_ACTION_ALLOW, " notify=yes" },
		{ N_SERVICES, "*", "*", "@tag:gui", "@anyvm",
		  POL_ACTION_ASK, "" },
		{ N_SERVICES, "*", "*", "@anyvm", "@adminvm",
		  POL_ACTION_DENY, "" },
		{ N_SERVICES, "*", "*", "@anyvm", "@anyvm",
		  POL_ACTION_DENY, "" },
	};
	g_array_append_vals(w->rules, catchall, N_CATCHALL);
	g_array_append_vals(w->small_rules, catchall, N_CATCHALL);
	g_assert(w->rules->len == N_RULES);
}

/* Whether a rule's column names one thing a caller can also name. */
static bool is_literal(const char *token)
{
	return token[0] != '@' && token[0] != '*' &&
	       strncmp(token, "uuid:", 5) != 0;
}

static void random_query(struct world *w, bool small, struct pol_request *q)
{
	struct rng *r = &w->rng;
	const struct rule_desc *rule = NULL;
	unsigned svc = N_SERVICES;

	/* Services: 80% known (half of them taken from a random rule, so
	 * busy services are called more, as they are written about more),
	 * the rest unknown to the policy. */
	if (rng_chance(r, 80)) {
		const GArray *rules = small ? w->small_rules : w->rules;
		do {
			rule = NULL;
			if (rng_chance(r, 50))
				rule = &g_array_index(rules, struct rule_desc,
					rng_below(r, rules->len - N_CATCHALL));
			svc = rule ? rule->service_index :
				rng_below(r, N_SERVICES);
		} while (small && !w->in_small[svc]);
		q->service = w->services[svc];
	} else {
		q->service = intern(w, "org.unknown.Service%u",
				    rng_below(r, 50));
	}
	/* Calls are mostly the ones the policy was written for: most
	 * columns of a query made from a rule are that rule's. */
	if (rule && !rng_chance(r, 70))
		rule = NULL;

	unsigned p = rng_below(r, 100);
	if (rule && rule->argument[0] == '+')
		q->argument = rule->argument;
	else if (svc < N_SERVICES && w->n_args[svc] > 0 && p < 60)
		q->argument = w->args[svc][rng_below(r, w->n_args[svc])];
	else if (p < 75)
		q->argument = "+";
	else if (p < 85)
		q->argument = NULL;
	else
		q->argument = intern(w, "+other%u", rng_below(r, 20));

	const struct vm_desc *vm = random_vm(w);
	p = rng_below(r, 100);
	if (rule && is_literal(rule->source))
		q->source = rule->source;
	else if (p < 85)
		q->source = vm->name;
	else if (p < 90)
		q->source = "dom0";
	else if (p < 98)
		q->source = vm->uuid ? intern(w, "uuid:%s", vm->uuid) :
			    vm->name;
	else
		q->source = "ghost";

	p = rng_below(r, 100);
	vm = random_vm(w);
	if (rule && (is_literal(rule->target) ||
		     strncmp(rule->target, "@dispvm", 7) == 0 ||
		     strcmp(rule->target, "@default") == 0))
		q->target = rule->target;
	else if (p < 25)
		q->target = NULL;
	else if (p < 33)
		q->target = "@default";
	else if (p < 45)
		q->target = "@dispvm";
	else if (p < 53)
		q->target = intern(w, "@dispvm:%s",
				   PICK(r, w->dvm_templates));
	else if (p < 85)
		q->target = vm->name;
	else if (p < 88)
		q->target = "dom0";
	else if (p < 93)
		q->target = vm->uuid ? intern(w, "uuid:%s", vm->uuid) :
			    vm->name;
	else if (p < 97)
		q->target = "nonexistent";
	else if (p < 99)
		q->target = "@anyvm";             /* not a valid intent */
	else
		q->target = intern(w, "@dispvm:%s", vm->name);
}

static void generate_queries(struct world *w)
{
	for (unsigned i = 0; i < N_QUERIES; i++) {
		struct pol_request q;
		random_query(w, false, &q);
		g_array_append_val(w->queries, q);
		random_query(w, true, &q);
		g_array_append_val(w->small_queries, q);
	}
}

static void world_init(struct world *w, uint64_t seed)
{
	memset(w, 0, sizeof(*w));
	w->rng.state = seed;
	w->strings = g_string_chunk_new(64 * 1024);
	w->rules = g_array_new(FALSE, TRUE, sizeof(struct rule_desc));
	w->small_rules = g_array_new(FALSE, TRUE, sizeof(struct rule_desc));
	w->queries = g_array_new(FALSE, TRUE, sizeof(struct pol_request));
	w->small_queries = g_array_new(FALSE, TRUE,
				       sizeof(struct pol_request));
	generate_vms(w);
	generate_services(w);
	generate_rules(w);
	generate_queries(w);
}

static void world_finish(struct world *w)
{
	g_array_unref(w->rules);
	g_array_unref(w->small_rules);
	g_array_unref(w->queries);
	g_array_unref(w->small_queries);
	g_string_chunk_free(w->strings);
}

static const char *action_name(enum pol_action a)
{
	return a == POL_ACTION_ALLOW ? "allow" :
	       a == POL_ACTION_ASK ? "ask" : "deny";
}

static char *policy_text(const GArray *rules)
{
	GString *s = g_string_new(
		"# Generated by bench-policy (see bench/README.md).\n"
		"# service                       argument       "
		"source               target               action\n");
	const char *last = NULL;

	for (guint i = 0; i < rules->len; i++) {
		const struct rule_desc *r = &g_array_index(rules,
						struct rule_desc, i);
		if (r->service != last)
			g_string_append_printf(s, "\n# %s\n", r->service);
		last = r->service;
		g_string_append_printf(s, "%-32s %-14s %-20s %-20s %s%s\n",
				       r->service, r->argument, r->source,
				       r->target, action_name(r->action),
				       r->options);
	}
	return g_string_free(s, FALSE);
}

static struct pol_system *build_system(const struct world *w)
{
	struct pol_system *sys = pol_system_create();
	g_autoptr(GError) error = NULL;

	for (size_t i = 0; i < N_VMS; i++) {
		const struct vm_desc *vm = &w->vms[i];
		struct pol_vm_info info = {
			.name = vm->name,
			.cls = vm->cls,
			.uuid = vm->uuid,
			.tags = vm->tags,
			.default_dispvm = vm->default_dispvm,
			.template_name = vm->template_name,
			.template_for_dispvms = vm->template_for_dispvms,
			.running = vm->running,
			.internal = vm->internal,
		};
		if (!pol_system_add_vm(sys, &info, &error)) {
			fprintf(stderr, "bench-policy: VM %s rejected: %s\n",
				vm->name, error->message);
			goto fail;
		}
	}
	if (!pol_system_check(sys, &error)) {
		fprintf(stderr, "bench-policy: system rejected: %s\n",
			error->message);
		goto fail;
	}
	return sys;
fail:
	pol_system_destroy(sys);
	return NULL;
}

/* The VMs in the format of `qvm-policy --vms`, to replay with the CLI. */
static bool dump_vms(const struct world *w, const char *path)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) error = NULL;

	for (size_t i = 0; i < N_VMS; i++) {
		const struct vm_desc *vm = &w->vms[i];
		g_key_file_set_string(kf, vm->name, "class",
				      class_names[vm->cls]);
		if (vm->tags[0])
			g_key_file_set_string_list(kf, vm->name, "tags",
				vm->tags, g_strv_length((char **)vm->tags));
		if (vm->default_dispvm)
			g_key_file_set_string(kf, vm->name, "default_dispvm",
					      vm->default_dispvm);
		if (vm->template_for_dispvms)
			g_key_file_set_boolean(kf, vm->name,
					       "template_for_dispvms", TRUE);
		g_key_file_set_string(kf, vm->name, "state",
				      vm->running ? "running" : "halted");
		if (vm->internal)
			g_key_file_set_boolean(kf, vm->name, "internal", TRUE);
		if (vm->uuid)
			g_key_file_set_string(kf, vm->name, "uuid", vm->uuid);
		if (vm->template_name)
			g_key_file_set_string(kf, vm->name, "template",
					      vm->template_name);
	}
	if (!g_key_file_save_to_file(kf, path, &error)) {
		fprintf(stderr, "bench-policy: %s\n", error->message);
		return false;
	}
	return true;
}

/* ---- timing ------------------------------------------------------------ */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), compare_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Keeps the compiler from dropping work whose result is unused. */
static volatile uint64_t sink;

/* ---- (a) loading ------------------------------------------------------ */

static struct pol_policy *load_checked(const char *text, size_t len)
{
	struct pol_policy *policy = pol_policy_load_string("bench.policy",
							   text, len, NULL);
	if (pol_policy_is_valid(policy))
		return policy;
	size_t n = pol_policy_error_count(policy);
	fprintf(stderr, "bench-policy: the generated policy is invalid "
		"(%zu errors; a bug in the bench or the parser):\n", n);
	for (size_t i = 0; i < n && i < 10; i++) {
		const char *e = pol_policy_error(policy, i);
		fprintf(stderr, "  %s\n", e ? e : "(null)");
	}
	pol_policy_destroy(policy);
	return NULL;
}

/*
 * The floor for loading: copy the text (as reading the file would) and cut
 * every rule line into whitespace-separated fields in place, without
 * validating or allocating anything per rule.
 */
static size_t split_fields(const char *text, size_t len, const char **fields,
			   size_t max_fields)
{
	char *buf = g_malloc(len + 1);
	char *p = buf, *end = buf + len;
	size_t n = 0;

	memcpy(buf, text, len);
	*end = '\0';
	while (p < end) {
		char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		*eol = '\0';
		while (p < eol && g_ascii_isspace(*p))
			p++;
		if (*p == '#')
			p = eol;
		while (p < eol) {
			char *f = p;
			while (p < eol && !g_ascii_isspace(*p))
				p++;
			*p++ = '\0';
			if (n < max_fields)
				fields[n++] = f;
			while (p < eol && g_ascii_isspace(*p))
				p++;
		}
		p = eol + 1;
	}
	if (n > 0)
		sink += (uintptr_t)fields[n / 2][0];
	g_free(buf);
	return n;
}

#define SPLITS_PER_SAMPLE 10   /* one split is too short to time alone */

/*
 * Median times of loading the text and of splitting it, in milliseconds.
 * The samples alternate so that both see the same state of the machine.
 */
static void measure_load(const char *text, size_t len, unsigned runs,
			 double *load_ms, double *split_ms)
{
	size_t max_fields = 16 * N_RULES;
	g_autofree const char **fields = g_new(const char *, max_fields);
	g_autofree double *tl = g_new(double, runs);
	g_autofree double *ts = g_new(double, runs);

	for (unsigned i = 0; i < runs; i++) {
		double t0 = now();
		struct pol_policy *p = pol_policy_load_string("bench.policy",
							      text, len,
							      NULL);
		tl[i] = (now() - t0) * 1e3;
		sink += pol_policy_rule_count(p);
		pol_policy_destroy(p);

		t0 = now();
		for (unsigned k = 0; k < SPLITS_PER_SAMPLE; k++)
			sink += split_fields(text, len, fields, max_fields);
		ts[i] = (now() - t0) * 1e3 / SPLITS_PER_SAMPLE;
	}
	*load_ms = median(tl, runs);
	*split_ms = median(ts, runs);
}

/* ---- (b) deciding ----------------------------------------------------- */

struct tally {
	uint64_t actions[3];
	uint64_t reasons[POL_DENY_ASK_EMPTY + 1];
	uint64_t ask_targets;
};

static void run_engine_once(const struct pol_policy *policy,
			    const struct pol_system *sys, const GArray *queries,
			    struct tally *tally)
{
	for (guint i = 0; i < queries->len; i++) {
		const struct pol_request *q = &g_array_index(queries,
						struct pol_request, i);
		struct pol_decision d;
		pol_policy_evaluate(policy, sys, q, &d);
		sink += d.action;
		if (tally) {
			if ((unsigned)d.action < 3)
				tally->actions[d.action]++;
			if ((unsigned)d.reason <= POL_DENY_ASK_EMPTY)
				tally->reasons[d.reason]++;
			if (d.ask_targets)
				tally->ask_targets += d.ask_targets->len;
		}
		pol_decision_finish(&d);
	}
}

/*
 * Separates the queries an ask rule decides (their candidate list walks the
 * service's rules and expands tokens to VM sets) from the plain allow/deny
 * ones (one index lookup and a first-match scan), to report both rates.
 */
static void split_by_ask(const struct pol_policy *policy,
			 const struct pol_system *sys, const GArray *queries,
			 GArray *plain, GArray *ask)
{
	for (guint i = 0; i < queries->len; i++) {
		const struct pol_request *q = &g_array_index(queries,
						struct pol_request, i);
		struct pol_decision d;
		pol_policy_evaluate(policy, sys, q, &d);
		if (d.action == POL_ACTION_ASK ||
		    d.reason == POL_DENY_ASK_EMPTY)
			g_array_append_val(ask, *q);
		else
			g_array_append_val(plain, *q);
		pol_decision_finish(&d);
	}
}

/* "*" and @anyvm match anything; every other token only itself. */
static bool baseline_token(const char *token, const char *value)
{
	return strcmp(token, "*") == 0 || strcmp(token, "@anyvm") == 0 ||
	       strcmp(token, value) == 0;
}

static enum pol_action baseline_evaluate(const GArray *rules,
					 const struct pol_request *q)
{
	const char *argument = q->argument ? q->argument : "+";
	const char *target = q->target && *q->target ? q->target : "@default";

	for (guint i = 0; i < rules->len; i++) {
		const struct rule_desc *r = &g_array_index(rules,
						struct rule_desc, i);
		if (strcmp(r->service, "*") != 0 &&
		    strcmp(r->service, q->service) != 0)
			continue;
		if (strcmp(r->argument, "*") != 0 &&
		    strcmp(r->argument, argument) != 0)
			continue;
		if (!baseline_token(r->source, q->source) ||
		    !baseline_token(r->target, target))
			continue;
		return r->action;
	}
	return POL_ACTION_DENY;
}

static void run_baseline_once(const GArray *rules, const GArray *queries)
{
	for (guint i = 0; i < queries->len; i++)
		sink += baseline_evaluate(rules, &g_array_index(queries,
						struct pol_request, i));
}

/* One rate to measure: the engine on a policy, or the baseline. */
struct job {
	const struct pol_policy *policy;   /* NULL: the baseline */
	const GArray *rules;               /* the baseline's rules */
	const GArray *queries;
	double rate;                       /* result: decisions/s */
};

#define SLICE_SECONDS 0.1

static double run_slice(const struct pol_system *sys, const struct job *j)
{
	uint64_t n = 0;
	double t0 = now(), t;

	do {
		if (j->policy)
			run_engine_once(j->policy, sys, j->queries, NULL);
		else
			run_baseline_once(j->rules, j->queries);
		n += j->queries->len;
		t = now();
	} while (t - t0 < SLICE_SECONDS);
	return (double)n / (t - t0);
}

/*
 * Measures the jobs in turns of short slices, `seconds` in all for each,
 * and takes the median slice of each: a machine that gets faster or slower
 * during the run (other guests, frequency changes) then affects the rates
 * that are compared with each other alike.
 */
static void run_jobs(const struct pol_system *sys, struct job *jobs,
		     size_t n_jobs, double seconds)
{
	unsigned rounds = MAX(3u, (unsigned)(seconds / SLICE_SECONDS));
	g_autofree double *rates = g_new(double, n_jobs * rounds);

	for (size_t j = 0; j < n_jobs; j++)
		if (jobs[j].policy)    /* warm caches and the allocator */
			run_engine_once(jobs[j].policy, sys, jobs[j].queries,
					NULL);
	/* The order rotates so that no job always runs on caches another
	 * job left behind. */
	for (unsigned r = 0; r < rounds; r++)
		for (size_t k = 0; k < n_jobs; k++) {
			size_t j = (r + k) % n_jobs;
			rates[j * rounds + r] = jobs[j].queries->len ?
				run_slice(sys, &jobs[j]) : 0;
		}
	for (size_t j = 0; j < n_jobs; j++)
		jobs[j].rate = median(&rates[j * rounds], rounds);
}

/*
 * The scaling run is only meaningful if the extra 900 rules really are
 * unrelated: both policies must decide every query of the small set alike.
 * A difference would be a bug in the engine's index.
 */
static size_t count_differences(const struct pol_policy *a,
				const struct pol_policy *b,
				const struct pol_system *sys,
				const GArray *queries)
{
	size_t diff = 0;

	for (guint i = 0; i < queries->len; i++) {
		const struct pol_request *q = &g_array_index(queries,
						struct pol_request, i);
		struct pol_decision da, db;
		pol_policy_evaluate(a, sys, q, &da);
		pol_policy_evaluate(b, sys, q, &db);
		g_autofree char *fa = pol_decision_format(&da);
		g_autofree char *fb = pol_decision_format(&db);
		if (g_strcmp0(fa, fb) != 0 || da.reason != db.reason) {
			if (diff++ < 3)
				fprintf(stderr, "  differs: %s %s %s -> %s: "
					"%s (100 rules) vs %s (1,000 rules)\n",
					q->service, q->argument ? q->argument :
					"+", q->source,
					q->target ? q->target : "@default",
					fa ? fa : "(null)", fb ? fb : "(null)");
		}
		pol_decision_finish(&da);
		pol_decision_finish(&db);
	}
	return diff;
}

static const char *reason_name(unsigned r)
{
	static const char *const names[] = {
		"none", "policy-invalid", "bad-service", "bad-source",
		"bad-target", "no-rule", "rule", "no-target", "no-dispvm",
		"redirect-invalid", "autostart", "ask-empty",
	};
	return r < G_N_ELEMENTS(names) ? names[r] : "?";
}

static void print_tally(const struct tally *t, size_t n)
{
	printf("  decisions:      allow %.1f%%, ask %.1f%% (%.1f targets "
	       "on average), deny %.1f%%\n",
	       100.0 * (double)t->actions[POL_ACTION_ALLOW] / (double)n,
	       100.0 * (double)t->actions[POL_ACTION_ASK] / (double)n,
	       t->actions[POL_ACTION_ASK] ? (double)t->ask_targets /
		       (double)t->actions[POL_ACTION_ASK] : 0.0,
	       100.0 * (double)t->actions[POL_ACTION_DENY] / (double)n);
	printf("  deny reasons:  ");
	for (unsigned r = 1; r <= POL_DENY_ASK_EMPTY; r++)
		if (t->reasons[r])
			printf(" %s %.1f%%", reason_name(r),
			       100.0 * (double)t->reasons[r] / (double)n);
	printf("\n");
}

static const char *met(bool ok)
{
	return ok ? "met" : "MISSED";
}

/* Everything a measurement run works on. */
struct bench {
	const struct world *w;
	const struct pol_system *sys;
	const struct pol_policy *policy;        /* the 1,000 rules */
	const struct pol_policy *small_policy;  /* the 100-rule subset */
	const char *text;
	size_t len;
	double seconds;
	unsigned loads;
	gint64 seed;
};

static void measure(const struct bench *b)
{
	const struct world *w = b->w;

	printf("bench-policy: seed %" G_GINT64_FORMAT ", %zu VMs + dom0, "
	       "%d services, %zu rules (%zu bytes), %u queries\n",
	       b->seed, pol_system_vm_count(b->sys) - 1, N_SERVICES,
	       pol_policy_rule_count(b->policy), b->len, N_QUERIES);

	/* (a) loading */
	double load_ms, split_ms;
	measure_load(b->text, b->len, b->loads, &load_ms, &split_ms);
	double load_ratio = load_ms / split_ms;
	printf("load:      %.3f ms median of %u (%.0f rules/ms); "
	       "read+split %.3f ms; ratio %.1f\n", load_ms, b->loads,
	       (double)N_RULES / load_ms, split_ms, load_ratio);

	/* (b) deciding, and (c) the baseline on the same queries */
	struct tally tally = { 0 };
	run_engine_once(b->policy, b->sys, w->queries, &tally);
	g_autoptr(GArray) plain = g_array_new(FALSE, FALSE,
					      sizeof(struct pol_request));
	g_autoptr(GArray) asks = g_array_new(FALSE, FALSE,
					     sizeof(struct pol_request));
	split_by_ask(b->policy, b->sys, w->queries, plain, asks);
	struct job main_jobs[] = {
		{ .policy = b->policy, .queries = w->queries },
		{ .rules = w->rules, .queries = w->queries },
	};
	run_jobs(b->sys, main_jobs, G_N_ELEMENTS(main_jobs), b->seconds);
	struct job kind_jobs[] = {
		{ .policy = b->policy, .queries = plain },
		{ .policy = b->policy, .queries = asks },
	};
	run_jobs(b->sys, kind_jobs, G_N_ELEMENTS(kind_jobs), b->seconds / 2);
	double rate = main_jobs[0].rate, base = main_jobs[1].rate;
	double rate_plain = kind_jobs[0].rate, rate_ask = kind_jobs[1].rate;
	double baseline_ratio = rate / base;

	printf("decide:    %.0f decisions/s (%.3f us each), one thread\n",
	       rate, 1e6 / rate);
	print_tally(&tally, N_QUERIES);
	printf("  by kind:        allow/deny %.0f decisions/s (%u queries), "
	       "ask %.0f decisions/s (%u)\n", rate_plain, plain->len,
	       rate_ask, asks->len);
	printf("baseline:  %.0f decisions/s (linear strcmp scan); "
	       "engine/baseline %.2f\n", base, baseline_ratio);

	/* Scaling with the rule count. */
	size_t differences = count_differences(b->small_policy, b->policy,
					       b->sys, w->small_queries);
	struct job scale_jobs[] = {
		{ .policy = b->small_policy, .queries = w->small_queries },
		{ .policy = b->policy, .queries = w->small_queries },
		{ .rules = w->small_rules, .queries = w->small_queries },
		{ .rules = w->rules, .queries = w->small_queries },
	};
	run_jobs(b->sys, scale_jobs, G_N_ELEMENTS(scale_jobs), b->seconds);
	double rate_100 = scale_jobs[0].rate, rate_1000 = scale_jobs[1].rate;
	double base_100 = scale_jobs[2].rate, base_1000 = scale_jobs[3].rate;
	printf("scaling:   same %u queries, %zu vs %zu rules: engine %.0f vs "
	       "%.0f decisions/s (x%.2f), baseline %.0f vs %.0f (x%.2f)\n",
	       N_QUERIES, pol_policy_rule_count(b->small_policy),
	       pol_policy_rule_count(b->policy), rate_100, rate_1000,
	       rate_1000 / rate_100, base_100, base_1000,
	       base_1000 / base_100);
	printf("           decisions identical under both policies: %s\n",
	       differences ? "NO (engine bug, see above)" : "yes");

	printf("targets:   >= %.0f decisions/s: %s; < %.1f ms load: %s "
	       "(Python: ~%.0f decisions/s, ~%.0f ms)\n",
	       TARGET_DECISIONS_PER_S, met(rate >= TARGET_DECISIONS_PER_S),
	       TARGET_LOAD_MS, met(load_ms < TARGET_LOAD_MS),
	       PYTHON_DECISIONS_PER_S, PYTHON_LOAD_MS);
	printf("RESULT load_ms=%.3f decisions_per_s=%.0f baseline_ratio=%.2f "
	       "load_ratio=%.2f split_ms=%.3f baseline_decisions_per_s=%.0f "
	       "allow_deny_per_s=%.0f ask_per_s=%.0f "
	       "decisions_per_s_100=%.0f decisions_per_s_1000=%.0f "
	       "scaling_ratio=%.2f baseline_scaling_ratio=%.2f "
	       "decisions_identical=%s decisions_target_met=%s "
	       "load_target_met=%s seed=%" G_GINT64_FORMAT "\n",
	       load_ms, rate, baseline_ratio, load_ratio, split_ms, base,
	       rate_plain, rate_ask, rate_100, rate_1000,
	       rate_1000 / rate_100, base_1000 / base_100,
	       differences ? "no" : "yes",
	       rate >= TARGET_DECISIONS_PER_S ? "yes" : "no",
	       load_ms < TARGET_LOAD_MS ? "yes" : "no", b->seed);
}

int main(int argc, char **argv)
{
	gint64 seed = 1;
	double seconds = 2.0;
	gint loads = 50;
	g_autofree char *dump_policy = NULL;
	g_autofree char *dump_vms_path = NULL;
	GOptionEntry entries[] = {
		{ "seed", 0, 0, G_OPTION_ARG_INT64, &seed,
		  "Seed of the generated VMs, rules and queries (1)", "N" },
		{ "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds,
		  "Duration of each decision measurement (2)", "S" },
		{ "loads", 0, 0, G_OPTION_ARG_INT, &loads,
		  "Number of policy loads to take the median of (50)", "N" },
		{ "dump-policy", 0, 0, G_OPTION_ARG_FILENAME, &dump_policy,
		  "Write the 1,000-rule policy to FILE", "FILE" },
		{ "dump-vms", 0, 0, G_OPTION_ARG_FILENAME, &dump_vms_path,
		  "Write the VMs to FILE (qvm-policy --vms format)", "FILE" },
		{ NULL },
	};
	g_autoptr(GOptionContext) octx = g_option_context_new(
		"- benchmark the qmgr policy engine");
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL, *small_text = NULL;
	struct pol_system *sys = NULL;
	struct pol_policy *policy = NULL, *small_policy = NULL;
	struct world w;
	int ret = 1;

	g_option_context_add_main_entries(octx, entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &error)) {
		fprintf(stderr, "bench-policy: %s\n", error->message);
		return 2;
	}
	if (loads < 1 || seconds <= 0) {
		fprintf(stderr, "bench-policy: --loads and --seconds must be "
			"positive\n");
		return 2;
	}

	world_init(&w, (uint64_t)seed);
	text = policy_text(w.rules);
	small_text = policy_text(w.small_rules);
	if (dump_policy && !g_file_set_contents(dump_policy, text, -1,
						&error)) {
		fprintf(stderr, "bench-policy: %s\n", error->message);
		goto out;
	}
	if (dump_vms_path && !dump_vms(&w, dump_vms_path))
		goto out;

	sys = build_system(&w);
	policy = load_checked(text, strlen(text));
	small_policy = load_checked(small_text, strlen(small_text));
	if (!sys || !policy || !small_policy)
		goto out;

	measure(&(struct bench){
		.w = &w,
		.sys = sys,
		.policy = policy,
		.small_policy = small_policy,
		.text = text,
		.len = strlen(text),
		.seconds = seconds,
		.loads = (unsigned)loads,
		.seed = seed,
	});
	ret = 0;
out:
	pol_policy_destroy(small_policy);
	pol_policy_destroy(policy);
	pol_system_destroy(sys);
	world_finish(&w);
	return ret;
}
