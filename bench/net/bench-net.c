/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Benchmark of qmgrd's network ruleset (issue 5): how long a change of the
 * qmgr.Network policy or of the running qubes takes to reach the kernel.
 *
 * Generates, from a fixed seed, 100 networked qubes (taps, addresses, MACs,
 * tags) and a policy of 100 qmgr.Network rules per qube, then measures in
 * interleaved rounds, in a network namespace of its own (the host's tables
 * are never touched):
 *   (a) qmgrd's path: qm_net_ruleset_compile() + qm_net_nft_apply(), what
 *       qmgrd/net.c does on every change;
 *   (b) the baseline: `nft -f FILE` of qm_net_ruleset_render()'s text of
 *       the same ruleset, with a leading `add table; delete table` so that
 *       it replaces the table atomically as (a) does, timed wall-clock from
 *       the spawn to nft's exit (what a user of nft -f pays).
 * Both load the same table name, so each round replaces a full table.
 *
 * With --load-into-netns NS it only compiles and loads a (smaller) policy
 * into the named namespace, for bench-forward.sh.
 *
 * Missed targets are reported, never turned into a failing exit status: a
 * benchmark is not a test.  It exits 77 (skipped) without root or nft, and
 * 1 when it cannot run (the generated policy is rejected, a load fails).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "net-compile.h"
#include "net-nft.h"
#include "bench-rng.h"
#include "policy.h"

#define TABLE "qmgr_00000000"
#define TAP_PREFIX "qm000000v"
#define MAX_TAGS 2

#define TARGET_RATIO 1.0
#define TARGET_APPLY_MS 50.0

#define EXIT_SKIP 77

/* ---- the generated world ---------------------------------------------- */

struct vm_desc {
	char name[POL_VM_NAME_MAX + 1];
	char tap[QM_NET_IFNAME_SIZE];
	uint32_t ip4;
	uint8_t mac[6];
	const char *tags[MAX_TAGS + 1];   /* NULL-terminated */
	enum pol_vm_class cls;
};

struct world {
	struct rng rng;
	size_t n_vms;
	struct vm_desc *vms;
	GString *policy;          /* the generated policy text */
	size_t n_rules;
};

static const char *const tag_names[] = {
	"work", "personal", "vpn", "banking", "dev", "media", "untrusted",
	"mail",
};

/* Ports people open: most generated single-port rules use one of these. */
static const unsigned common_ports[] = {
	22, 25, 53, 80, 110, 123, 143, 443, 465, 587, 993, 995, 1194, 3000,
	3306, 5432, 5900, 6379, 8000, 8080, 8443, 9000, 9090, 51820,
};

static const char *const name_stems[] = {
	"work", "personal", "banking", "dev", "mail", "web", "vpn", "media",
	"chat", "build",
};

/*
 * Qube 0 is 10.137.0.2 (tap qm000000v2, MAC 00:16:3e:89:00:02, the values
 * bench-forward.sh gives its namespace `a`); the others get distinct random
 * addresses in 10.137.0.0/16.  Tap and MAC follow qmgrd's scheme
 * (docs/network.md): the tap ends in the decimal of the address's low 16
 * bits, the MAC is 00:16:3e and the address's low three bytes.
 */
static void generate_vms(struct world *w)
{
	g_autoptr(GHashTable) used = g_hash_table_new(NULL, NULL);

	for (size_t i = 0; i < w->n_vms; i++) {
		struct vm_desc *v = &w->vms[i];
		unsigned low = 2;

		if (i > 0) {
			do
				low = 3 + rng_below(&w->rng, 65530);
			while (g_hash_table_contains(used,
						     GUINT_TO_POINTER(low)));
		}
		g_hash_table_add(used, GUINT_TO_POINTER(low));
		g_snprintf(v->name, sizeof(v->name), "%s-%03zu",
			   PICK(&w->rng, name_stems), i);
		g_snprintf(v->tap, sizeof(v->tap), TAP_PREFIX "%u", low);
		v->ip4 = (10u << 24) | (137u << 16) | low;
		v->mac[0] = 0x00;
		v->mac[1] = 0x16;
		v->mac[2] = 0x3e;
		v->mac[3] = 137;
		v->mac[4] = (uint8_t)(low >> 8);
		v->mac[5] = (uint8_t)low;
		v->cls = rng_below(&w->rng, 10) == 0 ? POL_CLASS_STANDALONEVM
						      : POL_CLASS_APPVM;
		unsigned n_tags = rng_below(&w->rng, MAX_TAGS + 1);
		for (unsigned t = 0; t < n_tags; t++) {
			const char *tag = PICK(&w->rng, tag_names);
			if (t == 1 && strcmp(tag, v->tags[0]) == 0)
				break;
			v->tags[t] = tag;
		}
	}
}

static void append_argument(struct world *w, GString *out)
{
	unsigned k = rng_below(&w->rng, 100);
	const char *proto = rng_below(&w->rng, 3) == 0 ? "udp" : "tcp";

	if (k < 40) {
		unsigned port = rng_below(&w->rng, 10) < 7
					? PICK(&w->rng, common_ports)
					: 1024 + rng_below(&w->rng, 64512);
		g_string_append_printf(out, "+%s-%u", proto, port);
	} else if (k < 65) {
		unsigned lo = 1 + rng_below(&w->rng, 65000);
		unsigned hi = lo + rng_below(&w->rng, 2000);
		hi = MIN(hi, 65535u);
		g_string_append_printf(out, "+%s-%u-%u", proto, lo, hi);
	} else if (k < 80) {
		g_string_append(out, "+icmp");
	} else if (k < 95) {
		g_string_append_printf(out, "+%s", proto);
	} else {
		g_string_append(out, "*");
	}
}

static const char *random_tag(struct world *w)
{
	return PICK(&w->rng, tag_names);
}

/*
 * One block of `per_vm` rules per qube, each mostly about that qube:
 * sources are the qube itself (90%) or a @tag: (10%); targets sys-net
 * (80%), another qube (15%) or a @tag: (5%);
 * arguments single ports (mostly well known), port ranges, icmp, a whole
 * protocol or *; 60% allow.  With allow_port (deny_port), qube 0's block
 * starts with `+tcp-PORT ... sys-net allow` (deny), so that its flow to
 * that port passes (is dropped) whatever follows.  The shipped default's
 * two rules close the policy.
 */
static void generate_policy(struct world *w, size_t per_vm,
			    unsigned allow_port, unsigned deny_port)
{
	GString *out = w->policy;

	g_string_append_printf(out, "# bench-net: %zu qubes, %zu "
			       "qmgr.Network rules each\n", w->n_vms, per_vm);
	for (size_t s = 0; s < w->n_vms; s++) {
		const struct vm_desc *v = &w->vms[s];
		g_string_append_printf(out, "\n# %s\n", v->name);
		for (size_t j = 0; j < per_vm; j++) {
			g_string_append(out, "qmgr.Network\t");
			if (s == 0 && j == 0 && allow_port != 0) {
				g_string_append_printf(
					out, "+tcp-%u\t%s\tsys-net\tallow\n",
					allow_port, v->name);
				w->n_rules++;
				continue;
			}
			if (s == 0 && j == 1 && deny_port != 0) {
				g_string_append_printf(
					out, "+tcp-%u\t%s\tsys-net\tdeny\n",
					deny_port, v->name);
				w->n_rules++;
				continue;
			}
			append_argument(w, out);
			g_string_append_c(out, '\t');
			if (rng_below(&w->rng, 10) == 0)
				g_string_append_printf(out, "@tag:%s",
						       random_tag(w));
			else
				g_string_append(out, v->name);
			g_string_append_c(out, '\t');
			unsigned k = rng_below(&w->rng, 100);
			if (k < 80 || w->n_vms < 2) {
				g_string_append(out, "sys-net");
			} else if (k < 95) {
				size_t t = rng_below(&w->rng,
						     (unsigned)w->n_vms - 1);
				g_string_append(out,
						w->vms[t >= s ? t + 1 : t].name);
			} else {
				g_string_append_printf(out, "@tag:%s",
						       random_tag(w));
			}
			g_string_append(out, rng_below(&w->rng, 10) < 6
						     ? "\tallow\n"
						     : "\tdeny\n");
			w->n_rules++;
		}
	}
	g_string_append(out, "\n# the shipped default (90-default.policy)\n"
			"qmgr.Network\t*\t@anyvm\tsys-net\tallow\n"
			"qmgr.Network\t*\t@anyvm\t@anyvm\tdeny\n");
	w->n_rules += 2;
}

static struct pol_system *build_system(const struct world *w)
{
	g_autoptr(pol_system) sys = pol_system_create();
	g_autoptr(GError) error = NULL;

	for (size_t i = 0; i < w->n_vms; i++) {
		const struct vm_desc *v = &w->vms[i];
		struct pol_vm_info info = {
			.name = v->name,
			.cls = v->cls,
			.tags = v->tags,
			.running = true,
		};
		if (!pol_system_add_vm(sys, &info, &error)) {
			fprintf(stderr, "bench-net: %s: %s\n", v->name,
				error->message);
			return NULL;
		}
	}
	if (!pol_system_check(sys, &error)) {
		fprintf(stderr, "bench-net: %s\n", error->message);
		return NULL;
	}
	return g_steal_pointer(&sys);
}

static struct pol_policy *load_checked(const GString *text)
{
	struct pol_policy *policy = pol_policy_load_string(
		"bench-net.policy", text->str, text->len, NULL);

	if (!pol_policy_is_valid(policy)) {
		fprintf(stderr, "bench-net: the generated policy is "
			"invalid:\n");
		for (size_t i = 0; i < pol_policy_error_count(policy); i++)
			fprintf(stderr, "  %s\n", pol_policy_error(policy, i));
		pol_policy_destroy(policy);
		return NULL;
	}
	return policy;
}

/* ---- timing ------------------------------------------------------------ */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median, and the range, of v[0..n); v is sorted in place. */
static double median(double *v, size_t n, double *lo, double *hi)
{
	qsort(v, n, sizeof(*v), compare_double);
	if (lo)
		*lo = v[0];
	if (hi)
		*hi = v[n - 1];
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const char *met(bool ok)
{
	return ok ? "met" : "MISSED";
}

/* ---- the two ways of loading the table -------------------------------- */

struct bench {
	const struct world *w;
	const struct pol_policy *policy;
	const struct pol_system *sys;
	struct qm_net_vm *vms;
	struct qm_net_config config;
	const char *nft;           /* path of nft */
	char *nft_file;            /* the baseline's input */
};

/* qmgrd's path; the times of its two halves in *compile_ms, *apply_ms. */
static bool load_qmgrd(const struct bench *b, double *compile_ms,
		       double *apply_ms, size_t *n_flows)
{
	g_autoptr(GError) error = NULL;
	double t0 = now_ms();
	g_autoptr(qm_net_ruleset) rs = qm_net_ruleset_compile(
		b->policy, b->sys, b->vms, b->w->n_vms, &b->config, &error);
	double t1 = now_ms();

	if (rs == NULL || rs->fail_closed) {
		fprintf(stderr, "bench-net: compile: %s\n",
			rs ? "the ruleset is fail-closed" : error->message);
		return false;
	}
	if (!qm_net_nft_apply(rs, &error)) {
		fprintf(stderr, "bench-net: apply: %s\n", error->message);
		return false;
	}
	double t2 = now_ms();
	if (compile_ms)
		*compile_ms = t1 - t0;
	if (apply_ms)
		*apply_ms = t2 - t1;
	if (n_flows)
		*n_flows = rs->flows->len;
	return true;
}

static bool run_nft(const char *const *argv, char **out)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *err = NULL;
	int status;

	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL,
			  NULL, out, &err, &status, &error) ||
	    !g_spawn_check_wait_status(status, &error)) {
		fprintf(stderr, "bench-net: %s: %s%s%s\n", argv[0],
			error->message, err && *err ? "\n" : "",
			err ? err : "");
		return false;
	}
	return true;
}

/* The baseline: `nft -f FILE`, from the spawn to its exit. */
static bool load_nft(const struct bench *b, double *ms)
{
	const char *argv[] = { b->nft, "-f", b->nft_file, NULL };
	g_autofree char *out = NULL;
	double t0 = now_ms();

	if (!run_nft(argv, &out))
		return false;
	*ms = now_ms() - t0;
	return true;
}

static int compare_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* `nft list table`, its lines stripped and sorted: the two loads should
 * give the same table, whatever order the kernel lists elements in. */
static char *list_table_sorted(const struct bench *b)
{
	const char *argv[] = { b->nft, "list", "table", "inet", TABLE, NULL };
	g_autofree char *out = NULL;

	if (!run_nft(argv, &out))
		return NULL;
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
	guint n = g_strv_length(lines);
	for (guint i = 0; i < n; i++)
		g_strstrip(lines[i]);
	qsort(lines, n, sizeof(char *), compare_str);
	return g_strjoinv("\n", lines);
}

/* ---- the measurements ---------------------------------------------------- */

static bool measure(struct bench *b, unsigned rounds, gint64 seed,
		    size_t text_len)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(qm_net_ruleset) rs = qm_net_ruleset_compile(
		b->policy, b->sys, b->vms, b->w->n_vms, &b->config, &error);

	if (rs == NULL) {
		fprintf(stderr, "bench-net: compile: %s\n", error->message);
		return false;
	}
	g_autofree char *rendered = qm_net_ruleset_render(rs);
	g_autofree char *nft_text = g_strdup_printf(
		"add table inet %s\ndelete table inet %s\n%s", TABLE, TABLE,
		rendered);
	int fd = g_file_open_tmp("bench-net-XXXXXX.nft", &b->nft_file,
				 &error);
	if (fd < 0) {
		fprintf(stderr, "bench-net: %s\n", error->message);
		return false;
	}
	close(fd);
	if (!g_file_set_contents(b->nft_file, nft_text, -1, &error)) {
		fprintf(stderr, "bench-net: %s\n", error->message);
		return false;
	}

	guint to_uplink = 0, per_set[QM_NET_FWD_N] = { 0 };
	for (guint i = 0; i < rs->flows->len; i++) {
		const struct qm_net_flow *f =
			&g_array_index(rs->flows, struct qm_net_flow, i);
		to_uplink += !g_str_has_prefix(f->oif, TAP_PREFIX);
		per_set[qm_net_flow_set(f)]++;
	}
	printf("ruleset:   %zu qubes, %zu qmgr.Network rules (%zu KiB of "
	       "policy) -> %u flows (%u to sys-net, %u qube to qube: "
	       "fwd_any %u, fwd_proto %u, fwd_port %u, fwd_range %u), "
	       "fwd_pairs %u, vm_addrs %u; nft text %zu KiB\n",
	       b->w->n_vms, b->w->n_rules, text_len / 1024, rs->flows->len,
	       to_uplink, rs->flows->len - to_uplink,
	       per_set[QM_NET_FWD_ANY], per_set[QM_NET_FWD_PROTO],
	       per_set[QM_NET_FWD_PORT], per_set[QM_NET_FWD_RANGE],
	       rs->pairs->len, rs->addrs->len, strlen(nft_text) / 1024);

	/* One untimed load of each (the first creates the table; the
	 * kernel's and nft's caches warm up), and check that both give the
	 * same table. */
	double ms;
	if (!load_qmgrd(b, NULL, NULL, NULL))
		return false;
	g_autofree char *listed_a = list_table_sorted(b);
	if (!load_nft(b, &ms))
		return false;
	g_autofree char *listed_b = list_table_sorted(b);
	bool same = listed_a && listed_b && strcmp(listed_a, listed_b) == 0;
	printf("check:     nft lists the same table after both loads: %s\n",
	       same ? "yes" : "NO");

	g_autofree double *compile = g_new(double, rounds);
	g_autofree double *apply = g_new(double, rounds);
	g_autofree double *total = g_new(double, rounds);
	g_autofree double *nft = g_new(double, rounds);
	g_autofree double *load = g_new(double, rounds);
	g_autofree double *ratio = g_new(double, rounds);
	for (unsigned i = 0; i < rounds; i++) {
		/* Alternate which goes first, so that neither always
		 * follows the other's work. */
		for (int k = 0; k < 2; k++) {
			if ((k == 0) == (i % 2 == 0)) {
				if (!load_qmgrd(b, &compile[i], &apply[i],
						NULL))
					return false;
				total[i] = compile[i] + apply[i];
			} else if (!load_nft(b, &nft[i])) {
				return false;
			}
		}
		ratio[i] = total[i] / nft[i];
		/* What qmgrd adds when the policy itself changed: the
		 * reload of the text, before the compile (not part of (a)). */
		double t0 = now_ms();
		pol_policy_destroy(load_checked(b->w->policy));
		load[i] = now_ms() - t0;
	}

	double lo, hi, nlo, nhi, clo, chi, alo, ahi, rlo, rhi;
	double total_ms = median(total, rounds, &lo, &hi);
	double nft_ms = median(nft, rounds, &nlo, &nhi);
	double compile_ms = median(compile, rounds, &clo, &chi);
	double apply_ms = median(apply, rounds, &alo, &ahi);
	double load_ms = median(load, rounds, NULL, NULL);
	double ratio_med = median(ratio, rounds, &rlo, &rhi);
	bool ratio_ok = ratio_med <= TARGET_RATIO;
	bool abs_ok = total_ms < TARGET_APPLY_MS;

	printf("qmgrd:     compile + apply %.1f ms median of %u (%.1f-%.1f)\n"
	       "           compile %.1f ms (%.1f-%.1f), apply %.1f ms "
	       "(%.1f-%.1f)\n",
	       total_ms, rounds, lo, hi, compile_ms, clo, chi, apply_ms, alo,
	       ahi);
	printf("nft -f:    %.1f ms median (%.1f-%.1f), process start "
	       "included\n", nft_ms, nlo, nhi);
	printf("ratio:     qmgrd / nft -f %.2f median of the rounds' ratios "
	       "(%.2f-%.2f)\n", ratio_med, rlo, rhi);
	printf("reload:    pol_policy_load_string of the policy %.1f ms "
	       "(on a policy edit qmgrd also reloads; not in the above)\n",
	       load_ms);
	printf("targets:   ratio <= %.1f: %s; compile + apply < %.0f ms: "
	       "%s\n", TARGET_RATIO, met(ratio_ok), TARGET_APPLY_MS,
	       met(abs_ok));
	printf("RESULT apply_total_ms=%.2f compile_ms=%.2f apply_ms=%.2f "
	       "nft_ms=%.2f ratio=%.3f policy_load_ms=%.2f elements=%u "
	       "rules=%zu vms=%zu same_table=%s ratio_target_met=%s "
	       "abs_target_met=%s rounds=%u seed=%" G_GINT64_FORMAT "\n",
	       total_ms, compile_ms, apply_ms, nft_ms, ratio_med, load_ms,
	       rs->flows->len, b->w->n_rules, b->w->n_vms,
	       same ? "yes" : "no", ratio_ok ? "yes" : "no",
	       abs_ok ? "yes" : "no", rounds, seed);
	return true;
}

/* For bench-forward.sh: load the ruleset into namespace `ns` once. */
static bool load_into_netns(struct bench *b, const char *ns)
{
	g_autofree char *path = g_strdup_printf("/run/netns/%s", ns);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n_flows = 0;
	double compile_ms, apply_ms;

	if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
		fprintf(stderr, "bench-net: network namespace %s: %s\n", path,
			g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);
	if (!load_qmgrd(b, &compile_ms, &apply_ms, &n_flows))
		return false;
	printf("loaded table inet %s into %s: %zu qubes, %zu rules, %zu "
	       "flows (fwd_* elements), compile %.1f ms, apply %.1f ms\n", TABLE,
	       ns, b->w->n_vms, b->w->n_rules, n_flows, compile_ms, apply_ms);
	printf("LOADED elements=%zu rules=%zu vms=%zu\n", n_flows,
	       b->w->n_rules, b->w->n_vms);
	return true;
}

int main(int argc, char **argv)
{
	gint64 seed = 1;
	gint rounds = 10, n_vms = 100, per_vm = 100;
	gint allow_port = 0, deny_port = 0;
	g_autofree char *uplink = NULL, *netns = NULL, *dump = NULL;
	GOptionEntry entries[] = {
		{ "seed", 0, 0, G_OPTION_ARG_INT64, &seed,
		  "Seed of the generated qubes and rules (1)", "N" },
		{ "rounds", 0, 0, G_OPTION_ARG_INT, &rounds,
		  "Interleaved rounds to take the median of (10)", "N" },
		{ "vms", 0, 0, G_OPTION_ARG_INT, &n_vms,
		  "Number of networked qubes (100)", "N" },
		{ "rules-per-vm", 0, 0, G_OPTION_ARG_INT, &per_vm,
		  "qmgr.Network rules per qube (100)", "N" },
		{ "uplink", 0, 0, G_OPTION_ARG_STRING, &uplink,
		  "Interface sys-net stands for (eth0)", "IFACE" },
		{ "allow-port", 0, 0, G_OPTION_ARG_INT, &allow_port,
		  "Allow the first qube tcp to PORT on sys-net, first", "PORT" },
		{ "deny-port", 0, 0, G_OPTION_ARG_INT, &deny_port,
		  "Deny the first qube tcp to PORT on sys-net, second", "PORT" },
		{ "load-into-netns", 0, 0, G_OPTION_ARG_STRING, &netns,
		  "Only load the ruleset into network namespace NS", "NS" },
		{ "dump-policy", 0, 0, G_OPTION_ARG_FILENAME, &dump,
		  "Write the generated policy to FILE", "FILE" },
		{ NULL },
	};
	g_autoptr(GOptionContext) octx = g_option_context_new(
		"- benchmark loading qmgrd's nftables table");
	g_autoptr(GError) error = NULL;
	struct world w = { 0 };
	struct bench b = { .w = &w };
	g_autofree char *nft = NULL;
	struct pol_system *sys = NULL;
	struct pol_policy *policy = NULL;
	int ret = 1;

	g_option_context_add_main_entries(octx, entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &error)) {
		fprintf(stderr, "bench-net: %s\n", error->message);
		return 2;
	}
	if (rounds < 1 || n_vms < 1 || n_vms > 10000 || per_vm < 1 ||
	    allow_port < 0 || allow_port > 65535 || deny_port < 0 ||
	    deny_port > 65535) {
		fprintf(stderr, "bench-net: --rounds, --vms and "
			"--rules-per-vm must be positive, --vms at most "
			"10000, --allow-port and --deny-port ports\n");
		return 2;
	}

	w.rng.state = (uint64_t)seed;
	w.n_vms = (size_t)n_vms;
	w.vms = g_new0(struct vm_desc, w.n_vms);
	w.policy = g_string_new(NULL);
	generate_vms(&w);
	generate_policy(&w, (size_t)per_vm, (unsigned)allow_port,
			(unsigned)deny_port);
	if (dump && !g_file_set_contents(dump, w.policy->str,
					 (gssize)w.policy->len, &error)) {
		fprintf(stderr, "bench-net: %s\n", error->message);
		goto out;
	}

	if (geteuid() != 0) {
		printf("bench-net: needs root (CAP_NET_ADMIN in a network "
		       "namespace of its own): skipped\n");
		ret = EXIT_SKIP;
		goto out;
	}
	nft = g_find_program_in_path("nft");
	if (nft == NULL && netns == NULL) {
		printf("bench-net: needs nft (apt-get install nftables): "
		       "skipped\n");
		ret = EXIT_SKIP;
		goto out;
	}

	sys = build_system(&w);
	policy = sys ? load_checked(w.policy) : NULL;
	b.sys = sys;
	b.policy = policy;
	b.nft = nft;
	b.vms = g_new0(struct qm_net_vm, w.n_vms);
	for (size_t i = 0; i < w.n_vms; i++) {
		b.vms[i] = (struct qm_net_vm){
			.name = w.vms[i].name, .tap = w.vms[i].tap,
			.ip4 = w.vms[i].ip4, .netvm = POL_NET_UPLINK,
		};
		memcpy(b.vms[i].mac, w.vms[i].mac, 6);
	}
	/* As qmgrd configures it (qmgrd/net.c), DNS forwarding included. */
	const char *uplinks[] = { uplink ? uplink : "eth0", NULL };
	static const uint32_t dns_upstream = (192u << 24) | (2u << 8) | 53u;
	b.config = (struct qm_net_config){
		.table = TABLE,
		.uplinks = uplinks,
		.tap_prefix = TAP_PREFIX,
		.dns_addr = (10u << 24) | (139u << 16) | (1u << 8) | 1u,
		.dns_upstream = &dns_upstream,
		.n_dns_upstream = 1,
		/* as qmgrd loads it: connections judged by this table are
		 * marked and skip the lookup */
		.ct_mark = 0x51c0ffee,
	};

	if (policy == NULL) {
		/* already said why */
	} else if (netns != NULL) {
		ret = load_into_netns(&b, netns) ? 0 : 1;
	} else if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "bench-net: unshare(CLONE_NEWNET): %s\n",
			g_strerror(errno));
	} else {
		ret = measure(&b, (unsigned)rounds, seed, w.policy->len) ? 0
									: 1;
	}

out:
	if (b.nft_file)
		g_unlink(b.nft_file);
	g_free(b.nft_file);
	g_free(b.vms);
	pol_policy_destroy(policy);
	pol_system_destroy(sys);
	g_string_free(w.policy, TRUE);
	g_free(w.vms);
	return ret;
}
