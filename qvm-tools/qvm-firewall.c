/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvm-firewall: a qube's network rules in Qubes' syntax, kept as qmgr.Network
 * policy lines in a policy file of its own (docs/network.md).
 *
 *   qvm-firewall VM [list] [--raw]
 *   qvm-firewall VM add [--before N] RULE...
 *   qvm-firewall VM del --rule-no N | RULE...
 *   qvm-firewall VM reset
 *
 * The file (POLICY_DIR/30-qvm-firewall.policy) holds one block per qube:
 *
 *   # qvm-firewall: work
 *   # comment: the web
 *   qmgr.Network  +tcp-443  work  sys-net  allow
 *   # specialtarget=dns
 *   qmgr.Network  +udp-53  work  sys-net  allow
 *   qmgr.Network  +tcp-53  work  sys-net  allow
 *
 * The policy lines are the truth: `list` reads them back, the two comment
 * forms only carry what the lines cannot (a comment, and that two lines
 * are one dns rule).  A block is parsed only when its qube is named, and
 * the others are written back byte for byte, so a hand edit in one block
 * does not stop work on another.  Every change is checked by loading the
 * whole policy with the new file before it replaces the old one.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic-file.h"
#include "client.h"
#include "policy.h"
#include "vm.h"

#define PROG "qvm-firewall"
#define SYNOPSIS "qvm-firewall [--policy-dir DIR]... VM [list [--raw] | " \
		 "add [--before N] RULE... | del [--rule-no N | RULE...] | " \
		 "reset]"
#define FW_FILE "30-qvm-firewall.policy"
#define MARKER "# qvm-firewall:"
#define COMMENT "# comment:"
#define DNS_MARK "# specialtarget=dns"

static const char help_text[] =
	"usage: " SYNOPSIS "\n"
	"Show or change a qube's network rules (qmgr.Network policy lines in\n"
	"POLICY_DIR/" FW_FILE ").\n"
	"\n"
	"  list [--raw]        print the rules, numbered from 0 (the default);\n"
	"                      --raw: one rule per line in RULE syntax\n"
	"  add [--before N] RULE...\n"
	"                      add one rule at the end, or before rule N\n"
	"  del --rule-no N     remove rule N\n"
	"  del RULE...         remove the first rule equal to RULE\n"
	"  reset               remove all the qube's rules\n"
	"  --policy-dir DIR    the policy directories (repeatable; the file is\n"
	"                      in the first), instead of /etc/qmgr/policy.d and\n"
	"                      /run/qmgr/policy.d\n"
	"  -h, --help          show this help\n"
	"\n"
	"RULE: action=accept|drop [proto=tcp|udp|icmp] [dstports=N|N-M]\n"
	"      [specialtarget=dns] [target=VM] [comment=TEXT]\n"
	"The first matching rule decides; traffic no rule matches falls through\n"
	"to the rest of the policy (by default: allowed to sys-net). End with\n"
	"'action=drop' to allow only what the rules accept.\n"
	"\n"
	"Exit status: 0 done, 1 failed (invalid policy, unknown qube, no such\n"
	"rule, unreadable file), 2 usage error.\n"
	"Environment: QMGR_ROOT=DIR uses DIR/etc/qmgr/policy.d and talks to the\n"
	"qmgrd started with --root DIR.\n"
	"See qvm-firewall(1).\n";

static const char header[] =
	"## Network rules of qubes, written by qvm-firewall(1). Change them with\n"
	"## `qvm-firewall VM add|del|reset`; the file is rewritten each time.\n"
	"## One block per qube; its rules are tried in order and the first match\n"
	"## decides. Traffic no rule matches falls through to the files read\n"
	"## after this one (90-default.policy lets every qube reach sys-net).\n"
	"\n";

enum proto { PROTO_ANY, PROTO_TCP, PROTO_UDP, PROTO_ICMP };
static const char *const proto_names[] = { "-", "tcp", "udp", "icmp" };

struct rule {
	bool accept;
	enum proto proto;
	guint16 port_lo, port_hi;      /* 0-0: not limited */
	bool dns;                      /* udp and tcp 53 to sys-net */
	char *target;                  /* POL_NET_UPLINK or a qube */
	char *comment;                 /* NULL: none */
};

static void rule_free(struct rule *r)
{
	if (r == NULL)
		return;
	g_free(r->target);
	g_free(r->comment);
	g_free(r);
}

struct block {
	char *vm;
	GString *raw;          /* as read; written back unless changed */
	unsigned first_line;   /* of raw, 1-based */
	bool changed;
	GPtrArray *rules;      /* struct rule; after block_parse() */
};

static void block_free(struct block *b)
{
	if (b == NULL)
		return;
	g_free(b->vm);
	if (b->raw)
		g_string_free(b->raw, TRUE);
	if (b->rules)
		g_ptr_array_unref(b->rules);
	g_free(b);
}

struct fw_file {
	char *path;
	char *fix_hint;        /* how to repair a hand-edited file */
	bool exists;
	mode_t mode;
	GString *orig;
	GString *preamble;     /* lines before the first block */
	GPtrArray *blocks;     /* struct block */
};

static void fw_file_clear(struct fw_file *f)
{
	g_free(f->path);
	g_free(f->fix_hint);
	if (f->orig)
		g_string_free(f->orig, TRUE);
	if (f->preamble)
		g_string_free(f->preamble, TRUE);
	if (f->blocks)
		g_ptr_array_unref(f->blocks);
}

/* ---- RULE words (Qubes' syntax) ---------------------------------------- */

static bool unset_key(GPtrArray *order, const char *key)
{
	for (guint i = 0; i < order->len; i++)
		if (strcmp(order->pdata[i], key) == 0)
			return g_ptr_array_remove_index(order, i) != NULL;
	return false;
}

/* "N" or "LOW-HIGH", ports 1 to 65535 in plain decimal. */
static bool parse_ports(const char *v, struct rule *r, char **why)
{
	g_auto(GStrv) parts = g_strsplit(v, "-", 3);
	guint n = g_strv_length(parts);
	guint64 p[2] = { 0, 0 };
	for (guint i = 0; i < n && n <= 2; i++) {
		const char *s = parts[i];
		if (*s == '\0' || strspn(s, "0123456789") != strlen(s) ||
		    (s[0] == '0' && s[1] != '\0') || strlen(s) > 6)
			n = 3;
		else
			p[i] = g_ascii_strtoull(s, NULL, 10);
	}
	if (n < 1 || n > 2) {
		*why = g_strdup_printf("dstports=%s: expected a port or a "
				       "range LOW-HIGH (e.g. 443 or 1200-1400)",
				       v);
		return false;
	}
	if (n == 1)
		p[1] = p[0];
	for (guint i = 0; i < 2; i++) {
		if (p[i] < 1 || p[i] > 65535) {
			*why = g_strdup_printf("dstports=%s: ports are 1 to "
					       "65535", v);
			return false;
		}
	}
	if (p[0] > p[1]) {
		*why = g_strdup_printf("dstports=%s: the range's LOW is above "
				       "its HIGH", v);
		return false;
	}
	r->port_lo = (guint16)p[0];
	r->port_hi = (guint16)p[1];
	return true;
}

static bool check_target(const char *v, const char *vm, char **why)
{
	const char *name_why = NULL;
	if (strcmp(v, POL_NET_UPLINK) == 0)
		return true;
	if (!qm_vm_name_check(v, &name_why)) {
		*why = g_strdup_printf("target=%s: invalid qube name: %s "
				       "(the target is sys-net, the default, "
				       "or a qube)", v, name_why);
		return false;
	}
	if (strcmp(v, vm) == 0) {
		*why = g_strdup_printf("target=%s: a qube's traffic to itself "
				       "does not pass the firewall", v);
		return false;
	}
	return true;
}

static bool set_value(struct rule *r, const char *key, const char *v,
		      bool positional, const char *vm, GPtrArray *order,
		      char **why)
{
	if (strcmp(key, "action") == 0) {
		if (strcmp(v, "accept") != 0 && strcmp(v, "drop") != 0) {
			*why = g_strdup_printf(
				"action=%s: a network rule is action=accept "
				"or action=drop%s", v,
				strcmp(v, "ask") == 0
					? " (traffic cannot wait for a "
					  "question)" : "");
			return false;
		}
		r->accept = strcmp(v, "accept") == 0;
	} else if (strcmp(key, "dsthost") == 0) {
		*why = g_strdup_printf(
			"dsthost=%s%s: destination hosts are not supported: "
			"qmgr's network policy knows the uplink (sys-net) and "
			"qubes (target=VM), not addresses or names; narrow the "
			"rule with proto= and dstports= instead", v,
			positional ? " (the word after the action names the "
				     "host, as in Qubes)" : "");
		return false;
	} else if (strcmp(key, "icmptype") == 0) {
		*why = g_strdup_printf("icmptype=%s: ICMP types are not "
				       "supported: a rule accepts or drops all "
				       "of ICMP (proto=icmp)", v);
		return false;
	} else if (strcmp(key, "expire") == 0) {
		*why = g_strdup_printf("expire=%s: rules that expire are not "
				       "supported; remove the rule with "
				       "'qvm-firewall %s del' when it should "
				       "end", v, vm);
		return false;
	} else if (strcmp(key, "proto") == 0) {
		if (strcmp(v, "tcp") == 0)
			r->proto = PROTO_TCP;
		else if (strcmp(v, "udp") == 0)
			r->proto = PROTO_UDP;
		else if (strcmp(v, "icmp") == 0)
			r->proto = PROTO_ICMP;
		else {
			*why = g_strdup_printf("proto=%s: expected tcp, udp "
					       "or icmp", v);
			return false;
		}
		/* as Qubes: after tcp/udp a bare word is ports, after
		 * icmp an ICMP type */
		unset_key(order, r->proto == PROTO_ICMP ? "dstports"
							: "icmptype");
	} else if (strcmp(key, "dstports") == 0) {
		return parse_ports(v, r, why);
	} else if (strcmp(key, "specialtarget") == 0) {
		if (strcmp(v, "dns") != 0) {
			*why = g_strdup_printf("specialtarget=%s: only "
					       "specialtarget=dns is supported",
					       v);
			return false;
		}
		r->dns = true;
	} else if (strcmp(key, "target") == 0) {
		if (!check_target(v, vm, why))
			return false;
		g_free(r->target);
		r->target = g_strdup(v);
	} else if (strcmp(key, "comment") == 0) {
		for (const char *p = v; *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				*why = g_strdup("comment= may not contain "
						"control characters");
				return false;
			}
		}
		if (!g_utf8_validate(v, -1, NULL)) {
			*why = g_strdup("comment= is not valid UTF-8");
			return false;
		}
		g_free(r->comment);
		r->comment = *v ? g_strdup(v) : NULL;
	}
	return true;
}

/*
 * Parses RULE words: KEY=VALUE, or bare words taken in Qubes' order
 * (action, dsthost, proto, dstports or icmptype).  On failure *why says
 * what is wrong; the caller exits with a usage error.
 */
static struct rule *rule_from_words(char **words, const char *vm,
				    char **why)
{
	static const char *const keys[] = {
		"action", "dsthost", "proto", "dstports", "icmptype",
		"specialtarget", "target", "comment", "expire",
	};
	g_autoptr(GPtrArray) order = g_ptr_array_new();
	for (int i = 0; i < 5; i++)
		g_ptr_array_add(order, (char *)keys[i]);
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash,
							 g_str_equal, g_free, NULL);
	struct rule *r = g_new0(struct rule, 1);
	r->target = g_strdup(POL_NET_UPLINK);

	for (char **w = words; *w; w++) {
		const char *eq = strchr(*w, '=');
		g_autofree char *key = eq ? g_strndup(*w, (gsize)(eq - *w))
					  : NULL;
		const char *v = eq ? eq + 1 : *w;
		bool positional = key == NULL;
		if (positional) {
			if (order->len == 0) {
				*why = g_strdup_printf("too many words in "
						       "the rule: '%s'", *w);
				goto fail;
			}
			key = g_strdup(order->pdata[0]);
		}
		if (strcmp(key, "dst4") == 0 || strcmp(key, "dst6") == 0) {
			g_free(key);
			key = g_strdup("dsthost");
		}
		bool known = false;
		for (size_t k = 0; k < G_N_ELEMENTS(keys); k++)
			known = known || strcmp(key, keys[k]) == 0;
		if (!known) {
			g_autofree char *s = g_strescape(*w, NULL);
			*why = g_strdup_printf(
				"unknown rule element '%s' (known: action, "
				"proto, dstports, specialtarget, target, "
				"comment)", s);
			goto fail;
		}
		if (!g_hash_table_add(seen, g_strdup(key))) {
			*why = g_strdup_printf("%s= given twice", key);
			goto fail;
		}
		unset_key(order, key);
		if (!set_value(r, key, v, positional, vm, order, why))
			goto fail;
	}
	if (!g_hash_table_contains(seen, "action")) {
		*why = g_strdup("a rule needs action=accept or action=drop");
		goto fail;
	}
	if (r->dns && (r->proto != PROTO_ANY || r->port_lo != 0 ||
		       strcmp(r->target, POL_NET_UPLINK) != 0)) {
		*why = g_strdup("specialtarget=dns means udp and tcp port 53 "
				"to sys-net: do not combine it with proto=, "
				"dstports= or target=");
		goto fail;
	}
	if (r->port_lo != 0 && r->proto != PROTO_TCP &&
	    r->proto != PROTO_UDP) {
		*why = g_strdup("dstports= needs proto=tcp or proto=udp");
		goto fail;
	}
	return r;
fail:
	rule_free(r);
	return NULL;
}

static bool rule_equal(const struct rule *a, const struct rule *b)
{
	return a->accept == b->accept && a->proto == b->proto &&
	       a->port_lo == b->port_lo && a->port_hi == b->port_hi &&
	       a->dns == b->dns && strcmp(a->target, b->target) == 0 &&
	       (b->comment == NULL ||
		g_strcmp0(a->comment, b->comment) == 0);
}

static char *ports_text(const struct rule *r)
{
	if (r->port_lo == 0)
		return g_strdup("-");
	if (r->port_lo == r->port_hi)
		return g_strdup_printf("%u", r->port_lo);
	return g_strdup_printf("%u-%u", r->port_lo, r->port_hi);
}

/* ---- policy lines ---------------------------------------------------- */

static void append_line(GString *out, const char *arg, const char *vm,
			const char *target, bool accept)
{
	g_string_append_printf(out, "qmgr.Network  %s  %s  %s  %s\n", arg, vm,
			       target, accept ? "allow" : "deny");
}

static void rule_render(const struct rule *r, const char *vm, GString *out)
{
	if (r->comment)
		g_string_append_printf(out, COMMENT " %s\n", r->comment);
	if (r->dns) {
		g_string_append(out, DNS_MARK "\n");
		append_line(out, "+udp-53", vm, POL_NET_UPLINK, r->accept);
		append_line(out, "+tcp-53", vm, POL_NET_UPLINK, r->accept);
		return;
	}
	g_autofree char *arg = NULL;
	if (r->proto == PROTO_ANY)
		arg = g_strdup("*");
	else if (r->port_lo == 0)
		arg = g_strdup_printf("+%s", proto_names[r->proto]);
	else if (r->port_lo == r->port_hi)
		arg = g_strdup_printf("+%s-%u", proto_names[r->proto],
				      r->port_lo);
	else
		arg = g_strdup_printf("+%s-%u-%u", proto_names[r->proto],
				      r->port_lo, r->port_hi);
	append_line(out, arg, vm, r->target, r->accept);
}

/* One "qmgr.Network ARG VM TARGET allow|deny" line as a rule. */
static struct rule *rule_from_line(const char *line, const char *vm,
				   char **why)
{
	g_auto(GStrv) all = g_strsplit_set(line, " \t", -1);
	const char *f[6];
	guint n = 0;
	for (char **x = all; *x; x++)
		if (**x != '\0' && n < G_N_ELEMENTS(f))
			f[n++] = *x;
	if (n != 5 || strcmp(f[0], POL_NET_SERVICE) != 0) {
		*why = g_strdup("not a line qvm-firewall writes (expected "
				"'qmgr.Network ARGUMENT VM TARGET allow|deny')");
		return NULL;
	}
	if (strcmp(f[2], vm) != 0) {
		*why = g_strdup_printf("the rule's source '%s' is not the "
				       "block's qube '%s'", f[2], vm);
		return NULL;
	}
	struct pol_net_match m;
	if (!pol_net_argument_parse(f[1], &m)) {
		*why = g_strdup_printf("invalid argument '%s'", f[1]);
		return NULL;
	}
	bool accept = strcmp(f[4], "allow") == 0;
	if (!accept && strcmp(f[4], "deny") != 0) {
		*why = g_strdup_printf("action '%s' (expected allow or deny)",
				       f[4]);
		return NULL;
	}
	g_autofree char *target_why = NULL;
	if (!check_target(f[3], vm, &target_why)) {
		*why = g_steal_pointer(&target_why);
		return NULL;
	}
	struct rule *r = g_new0(struct rule, 1);
	r->accept = accept;
	r->target = g_strdup(f[3]);
	static const enum proto map[] = {
		[POL_NET_PROTO_ALL] = PROTO_ANY, [POL_NET_PROTO_TCP] = PROTO_TCP,
		[POL_NET_PROTO_UDP] = PROTO_UDP,
		[POL_NET_PROTO_ICMP] = PROTO_ICMP,
	};
	r->proto = map[m.proto];
	if ((r->proto == PROTO_TCP || r->proto == PROTO_UDP) &&
	    !(m.port_lo == 0 && m.port_hi == 65535)) {
		r->port_lo = m.port_lo;
		r->port_hi = m.port_hi;
	}
	return r;
}

static bool is_port53(const struct rule *r, enum proto p)
{
	return r->proto == p && r->port_lo == 53 && r->port_hi == 53 &&
	       strcmp(r->target, POL_NET_UPLINK) == 0;
}

/* Reads the rules of a block; false with "FILE:LINE: why" on the first
 * line that is not what qvm-firewall writes. */
static bool block_parse(struct block *b, const char *path, char **error)
{
	g_auto(GStrv) lines = g_strsplit(b->raw->str, "\n", -1);
	g_autofree char *comment = NULL;
	struct rule *dns_udp = NULL;
	int dns = 0;   /* 1: marker seen, 2: its udp line seen */
	unsigned lineno = b->first_line;
	g_autofree char *why = NULL;

	b->rules = g_ptr_array_new_with_free_func((GDestroyNotify)rule_free);
	for (char **l = lines + 1; *l; l++) {
		lineno++;
		g_autofree char *s = g_strstrip(g_strdup(*l));
		if (*s == '\0')
			continue;
		if (g_str_has_prefix(s, COMMENT) && dns == 0) {
			if (comment != NULL) {
				why = g_strdup("two comment lines for one "
					       "rule");
				break;
			}
			comment = g_strdup(g_strstrip(s + strlen(COMMENT)));
			continue;
		}
		if (strcmp(s, DNS_MARK) == 0 && dns == 0) {
			dns = 1;
			continue;
		}
		if (s[0] == '#') {
			why = g_strdup("a comment qvm-firewall does not write "
				       "(it keeps only '" COMMENT " TEXT' "
				       "before a rule)");
			break;
		}
		struct rule *r = rule_from_line(s, b->vm, &why);
		if (r == NULL)
			break;
		if (dns == 1 && !is_port53(r, PROTO_UDP)) {
			rule_free(r);
			why = g_strdup("after '" DNS_MARK "' expected "
				       "'qmgr.Network +udp-53 VM sys-net ...'");
			break;
		}
		if (dns == 2 && (!is_port53(r, PROTO_TCP) ||
				 r->accept != dns_udp->accept)) {
			rule_free(r);
			why = g_strdup("expected the dns rule's second line, "
				       "'qmgr.Network +tcp-53 VM sys-net' "
				       "with the same action");
			break;
		}
		if (dns == 1) {
			dns_udp = r;
			dns = 2;
			continue;
		}
		if (dns == 2) {
			rule_free(r);
			r = dns_udp;
			dns_udp = NULL;
			r->proto = PROTO_ANY;
			r->port_lo = r->port_hi = 0;
			r->dns = true;
			dns = 0;
		}
		r->comment = g_steal_pointer(&comment);
		g_ptr_array_add(b->rules, r);
	}
	if (why == NULL && (dns != 0 || comment != NULL))
		why = g_strdup("the block ends before the rule its comment "
			       "lines announce");
	rule_free(dns_udp);
	if (why == NULL)
		return true;
	*error = g_strdup_printf("%s:%u: %s", path, lineno, why);
	return false;
}

/* ---- the file ---------------------------------------------------------- */

static bool fw_file_read(struct fw_file *f, GError **error)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	GError *err = NULL;
	struct stat st;

	f->orig = g_string_new(NULL);
	f->preamble = g_string_new(NULL);
	f->blocks = g_ptr_array_new_with_free_func((GDestroyNotify)block_free);
	f->mode = 0644;
	if (stat(f->path, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
				    "%s is not a regular file", f->path);
			return false;
		}
		f->mode = st.st_mode & 07777;
	}
	if (!g_file_get_contents(f->path, &data, &len, &err)) {
		if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_error_free(err);
			g_string_append(f->preamble, header);
			return true;
		}
		g_propagate_error(error, err);
		return false;
	}
	f->exists = true;
	if (memchr(data, '\0', len) != NULL) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "%s contains a NUL byte%s", f->path, f->fix_hint);
		return false;
	}
	g_string_append_len(f->orig, data, (gssize)len);

	struct block *b = NULL;
	unsigned lineno = 0;
	for (const char *p = data; *p; lineno++) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p + 1) : strlen(p);
		if (strncmp(p, MARKER, strlen(MARKER)) == 0) {
			b = g_new0(struct block, 1);
			g_autofree char *name = g_strndup(
				p + strlen(MARKER), l - strlen(MARKER));
			b->vm = g_strdup(g_strstrip(name));
			b->raw = g_string_new(NULL);
			b->first_line = lineno + 1;
			g_ptr_array_add(f->blocks, b);
		}
		g_string_append_len(b ? b->raw : f->preamble, p, (gssize)l);
		p += l;
	}
	return true;
}

/* The blocks of `vm`, parsed; false with the error printed when one
 * cannot be read back. */
static bool fw_file_parse_vm(struct fw_file *f, const char *vm)
{
	struct block *first = NULL;
	for (guint i = 0; i < f->blocks->len; i++) {
		struct block *b = f->blocks->pdata[i];
		if (strcmp(b->vm, vm) != 0)
			continue;
		g_autofree char *err = NULL;
		if (first != NULL)
			err = g_strdup_printf("%s:%u: a second block for '%s' "
					      "(the first is at line %u)",
					      f->path, b->first_line, vm,
					      first->first_line);
		else if (!block_parse(b, f->path, &err))
			b->rules = NULL;
		if (err != NULL) {
			qm_tool_fputs_safe(err, stderr);
			fprintf(stderr, "\n" PROG ": cannot read %s's rules "
				"back%s\n", vm, f->fix_hint);
			return false;
		}
		first = b;
	}
	return true;
}

static struct block *fw_file_block(struct fw_file *f, const char *vm,
				   bool create)
{
	for (guint i = 0; i < f->blocks->len; i++) {
		struct block *b = f->blocks->pdata[i];
		if (strcmp(b->vm, vm) == 0)
			return b;
	}
	if (!create)
		return NULL;
	struct block *b = g_new0(struct block, 1);
	b->vm = g_strdup(vm);
	b->rules = g_ptr_array_new_with_free_func((GDestroyNotify)rule_free);
	g_ptr_array_add(f->blocks, b);
	return b;
}

static GString *fw_file_render(const struct fw_file *f)
{
	GString *out = g_string_new(f->preamble->str);
	for (guint i = 0; i < f->blocks->len; i++) {
		const struct block *b = f->blocks->pdata[i];
		if (out->len > 0 && out->str[out->len - 1] != '\n')
			g_string_append_c(out, '\n');
		if (!b->changed) {
			g_string_append(out, b->raw->str);
			continue;
		}
		if (b->rules->len == 0)
			continue;   /* no rules: no block */
		g_string_append_printf(out, MARKER " %s\n", b->vm);
		for (guint r = 0; r < b->rules->len; r++)
			rule_render(b->rules->pdata[r], b->vm, out);
		g_string_append_c(out, '\n');
	}
	return out;
}

/* Writes the new content next to the file, loads the whole policy with it
 * and, when valid, renames it over the file. */
static int fw_file_commit(struct fw_file *f, GPtrArray *dirs)
{
	g_autoptr(GString) text = fw_file_render(f);
	if (f->exists && g_string_equal(text, f->orig))
		return QM_EXIT_OK;
	g_autofree char *dir = g_path_get_dirname(f->path);
	g_autofree char *tmp = g_strdup_printf("%s/." FW_FILE ".XXXXXX", dir);
	int fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, PROG ": cannot create a file in %s: %s\n", dir,
			g_strerror(errno));
		return QM_EXIT_FAIL;
	}
	bool wrote = write(fd, text->str, text->len) == (ssize_t)text->len &&
		     fchmod(fd, f->mode) == 0;
	int saved = errno;
	close(fd);
	if (!wrote) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", tmp,
			g_strerror(saved));
		g_unlink(tmp);
		return QM_EXIT_FAIL;
	}
	g_autoptr(pol_policy) policy = pol_policy_load_dirs_replacing(
		(const char *const *)dirs->pdata, dirs->len, f->path, tmp);
	if (!pol_policy_is_valid(policy)) {
		for (size_t i = 0; i < pol_policy_error_count(policy); i++)
			fprintf(stderr, "%s\n", pol_policy_error(policy, i));
		fprintf(stderr, PROG ": the policy would be invalid; %s is "
			"unchanged\n", f->path);
		g_unlink(tmp);
		return QM_EXIT_FAIL;
	}
	g_autoptr(GError) err = NULL;
	if (!qm_atomic_install(tmp, f->path, &err)) {
		fprintf(stderr, PROG ": cannot install %s: %s\n", f->path,
			err->message);
		g_unlink(tmp);
		return QM_EXIT_FAIL;
	}
	return QM_EXIT_OK;
}

/* ---- commands ---------------------------------------------------------- */

static void print_table(GPtrArray *rows)
{
	enum { COLS = 7 };
	glong width[COLS] = { 0 };
	for (guint i = 0; i < rows->len; i++) {
		char **row = rows->pdata[i];
		for (int c = 0; c < COLS; c++)
			width[c] = MAX(width[c], g_utf8_strlen(row[c], -1));
	}
	for (guint i = 0; i < rows->len; i++) {
		char **row = rows->pdata[i];
		for (int c = 0; c < COLS; c++) {
			qm_tool_fputs_safe(row[c], stdout);
			if (c == COLS - 1)
				break;
			for (glong k = g_utf8_strlen(row[c], -1);
			     k < width[c] + 2; k++)
				putchar(' ');
		}
		putchar('\n');
	}
}

static int cmd_list(const struct block *b, bool raw)
{
	g_autoptr(GPtrArray) rows =
		g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	char *head[] = { "NO", "ACTION", "HOST", "PROTOCOL", "PORT(S)",
			 "SPECIAL TARGET", "COMMENT", NULL };
	g_ptr_array_add(rows, g_strdupv(head));
	for (guint i = 0; b != NULL && i < b->rules->len; i++) {
		const struct rule *r = b->rules->pdata[i];
		g_autofree char *ports = ports_text(r);
		if (raw) {
			GString *l = g_string_new(r->accept ? "action=accept"
							    : "action=drop");
			if (r->dns)
				g_string_append(l, " specialtarget=dns");
			if (r->proto != PROTO_ANY)
				g_string_append_printf(l, " proto=%s",
						       proto_names[r->proto]);
			if (r->port_lo != 0)
				g_string_append_printf(l, " dstports=%s",
						       ports);
			if (strcmp(r->target, POL_NET_UPLINK) != 0)
				g_string_append_printf(l, " target=%s",
						       r->target);
			if (r->comment)
				g_string_append_printf(l, " comment=%s",
						       r->comment);
			qm_tool_fputs_safe(l->str, stdout);
			putchar('\n');
			g_string_free(l, TRUE);
			continue;
		}
		char *row[] = {
			g_strdup_printf("%u", i),
			g_strdup(r->accept ? "accept" : "drop"),
			g_strdup(r->target),
			g_strdup(proto_names[r->proto]),
			g_strdup(ports),
			g_strdup(r->dns ? "dns" : "-"),
			g_strdup(r->comment ? r->comment : "-"),
			NULL,
		};
		g_ptr_array_add(rows, g_memdup2(row, sizeof(row)));
	}
	if (!raw)
		print_table(rows);
	return fflush(stdout) == 0 ? QM_EXIT_OK : QM_EXIT_FAIL;
}

/* "N" within 0..max; else prints why and returns false. */
static bool parse_index(const char *opt, const char *s, guint max,
			guint *out)
{
	guint64 v = 0;
	if (g_ascii_string_to_unsigned(s, 10, 0, max, &v, NULL)) {
		*out = (guint)v;
		return true;
	}
	fprintf(stderr, PROG ": %s %s: expected a rule number from 0 to %u "
		"('list' shows them)\n", opt, s, max);
	return false;
}

/*
 * With the installed policy (no --policy-dir), a qube qmgrd does not know
 * gets no rules; when qmgrd cannot be reached, warns and goes on, as the
 * policy may name qubes that do not exist yet.
 */
static bool check_qubes_exist(const char *vm, const char *target)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(qm_client) c = qm_client_connect(PROG, &err);
	g_autoptr(GVariant) vms = c ? qm_tool_list_vms(c, &err) : NULL;
	if (vms == NULL) {
		fprintf(stderr, PROG ": warning: did not check that qube '%s' "
			"exists: ", vm);
		qm_tool_fputs_safe(err->message, stderr);
		fputc('\n', stderr);
		return true;
	}
	const char *names[] = { vm, target };
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		if (strcmp(names[i], POL_NET_UPLINK) == 0)
			continue;
		g_autoptr(GVariant) found = qm_tool_find_vm(vms, names[i]);
		if (found == NULL) {
			qm_tool_print_not_found(PROG, vms, names[i]);
			return false;
		}
	}
	return true;
}

struct options {
	char **policy_dirs;
	char *before;
	char *rule_no;
	gboolean raw;
	gboolean help;
	char **args;
};

enum cmd { CMD_LIST, CMD_ADD, CMD_DEL, CMD_RESET };

static void policy_dirs(const struct options *o, GPtrArray *dirs)
{
	if (o->policy_dirs != NULL) {
		for (char **d = o->policy_dirs; *d; d++)
			g_ptr_array_add(dirs, g_strdup(*d));
		return;
	}
	/* as qmgrd --root and the other tools' QMGR_ROOT */
	const char *root = g_getenv("QMGR_ROOT");
	if (root != NULL && *root != '\0') {
		g_ptr_array_add(dirs, g_build_filename(root, "etc", "qmgr",
						       "policy.d", NULL));
		g_ptr_array_add(dirs, g_build_filename(root, "run", "qmgr",
						       "policy.d", NULL));
		return;
	}
	g_ptr_array_add(dirs, g_build_filename(QMGR_SYSCONFDIR, "qmgr",
					       "policy.d", NULL));
	g_ptr_array_add(dirs, g_build_filename(QMGR_RUNDIR, "qmgr",
					       "policy.d", NULL));
}

static int run(const struct options *o, enum cmd cmd, const char *vm,
	       char **words)
{
	g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);
	policy_dirs(o, dirs);
	g_autoptr(GError) err = NULL;
	struct rule *wanted = NULL;
	g_autofree char *why = NULL;
	int rc = QM_EXIT_FAIL;
	int lock = -1;
	struct fw_file f = { 0 };

	if (words[0] != NULL) {
		wanted = rule_from_words(words, vm, &why);
		if (wanted == NULL) {
			rc = qm_tool_usage_error(PROG, SYNOPSIS, "%s", why);
			goto out;
		}
	}
	const char *dir = dirs->pdata[0];
	/* as qvm-policy: a directory given must exist; of the defaults,
	 * the one the file goes in */
	for (guint i = 0; i < (o->policy_dirs ? dirs->len : 1); i++) {
		if (!g_file_test(dirs->pdata[i], G_FILE_TEST_IS_DIR)) {
			fprintf(stderr, PROG ": %s: no such directory%s\n",
				(char *)dirs->pdata[i],
				o->policy_dirs ? "" : " (is qmgr installed?)");
			goto out;
		}
	}
	for (guint i = 1; i < dirs->len; i++) {
		g_autofree char *other = g_build_filename(dirs->pdata[i],
							  FW_FILE, NULL);
		if (g_file_test(other, G_FILE_TEST_EXISTS))
			fprintf(stderr, PROG ": warning: %s shadows the file "
				"qvm-firewall writes; its rules are the ones "
				"in force\n", other);
	}
	if (cmd == CMD_ADD && o->policy_dirs == NULL &&
	    !check_qubes_exist(vm, wanted->target))
		goto out;

	/* One qvm-firewall at a time changes the file. */
	if (cmd != CMD_LIST) {
		lock = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (lock < 0 || flock(lock, LOCK_EX) < 0) {
			fprintf(stderr, PROG ": cannot lock %s: %s\n", dir,
				g_strerror(errno));
			goto out;
		}
	}
	f.path = g_build_filename(dir, FW_FILE, NULL);
	f.fix_hint = g_strdup_printf(
		" (correct the file with 'qvm-policy edit%s%s %s', or drop "
		"%s's rules with 'qvm-firewall%s%s %s reset')",
		o->policy_dirs ? " --policy-dir " : "",
		o->policy_dirs ? dir : "", FW_FILE, vm,
		o->policy_dirs ? " --policy-dir " : "",
		o->policy_dirs ? dir : "", vm);
	if (!fw_file_read(&f, &err)) {
		fprintf(stderr, PROG ": %s\n", err->message);
		goto out;
	}
	if (cmd == CMD_RESET) {
		bool any = false;
		for (guint i = f.blocks->len; i-- > 0;) {
			struct block *b = f.blocks->pdata[i];
			if (strcmp(b->vm, vm) == 0) {
				g_ptr_array_remove_index(f.blocks, i);
				any = true;
			}
		}
		rc = any ? fw_file_commit(&f, dirs) : QM_EXIT_OK;
		goto out;
	}
	if (!fw_file_parse_vm(&f, vm))
		goto out;
	struct block *b = fw_file_block(&f, vm, cmd == CMD_ADD);
	if (cmd == CMD_LIST) {
		rc = cmd_list(b, o->raw);
		goto out;
	}
	guint count = b ? b->rules->len : 0;
	guint at = count;
	if (cmd == CMD_DEL && count == 0) {
		fprintf(stderr, PROG ": %s has no rules\n", vm);
		goto out;
	}
	if (o->before && !parse_index("--before", o->before, count, &at))
		goto out;
	if (o->rule_no && !parse_index("--rule-no", o->rule_no, count - 1,
				       &at))
		goto out;
	if (cmd == CMD_DEL && wanted != NULL) {
		for (at = 0; at < count; at++)
			if (rule_equal(b->rules->pdata[at], wanted))
				break;
		if (at == count) {
			fprintf(stderr, PROG ": %s has no such rule ('qvm-"
				"firewall %s list' shows its rules)\n", vm, vm);
			goto out;
		}
	}
	b->changed = true;
	if (cmd == CMD_ADD)
		g_ptr_array_insert(b->rules, (gint)at,
				   g_steal_pointer(&wanted));
	else
		g_ptr_array_remove_index(b->rules, at);
	rc = fw_file_commit(&f, dirs);
out:
	if (lock >= 0)
		close(lock);
	rule_free(wanted);
	fw_file_clear(&f);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	GOptionEntry entries[] = {
		{ "policy-dir", 0, 0, G_OPTION_ARG_FILENAME_ARRAY,
		  &o.policy_dirs, NULL, NULL },
		{ "before", 0, 0, G_OPTION_ARG_STRING, &o.before, NULL, NULL },
		{ "rule-no", 0, 0, G_OPTION_ARG_STRING, &o.rule_no, NULL,
		  NULL },
		{ "raw", 0, 0, G_OPTION_ARG_NONE, &o.raw, NULL, NULL },
		{ "help", 'h', 0, G_OPTION_ARG_NONE, &o.help, NULL, NULL },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY,
		  &o.args, NULL, NULL },
		{ NULL },
	};
	static const char *const names[] = { "list", "add", "del", "reset" };
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_autoptr(GError) err = NULL;
	enum cmd cmd = CMD_LIST;
	int rc = QM_EXIT_USAGE;

	g_option_context_set_help_enabled(ctx, FALSE);
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS, "%s", err->message);
		goto out;
	}
	if (o.help) {
		fputs(help_text, stdout);
		rc = QM_EXIT_OK;
		goto out;
	}
	if (o.args == NULL || o.args[0] == NULL) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS, "name the qube");
		goto out;
	}
	char **words = o.args + 1;
	if (o.args[1] != NULL) {
		guint i = 0;
		while (i < G_N_ELEMENTS(names) && strcmp(names[i], o.args[1]))
			i++;
		if (i == G_N_ELEMENTS(names)) {
			rc = qm_tool_usage_error(PROG, SYNOPSIS,
						 "unknown command '%s' (list, "
						 "add, del or reset)",
						 o.args[1]);
			goto out;
		}
		cmd = (enum cmd)i;
		words = o.args + 2;
	}
	const char *bad = NULL;
	if (o.before && cmd != CMD_ADD)
		bad = "--before is for add";
	else if (o.rule_no && cmd != CMD_DEL)
		bad = "--rule-no is for del";
	else if (o.raw && cmd != CMD_LIST)
		bad = "--raw is for list";
	else if (cmd == CMD_ADD && words[0] == NULL)
		bad = "add needs a RULE, e.g. action=accept proto=tcp "
		      "dstports=443";
	else if (cmd == CMD_DEL && (words[0] != NULL) == (o.rule_no != NULL))
		bad = "del needs either --rule-no N or a RULE";
	else if ((cmd == CMD_LIST || cmd == CMD_RESET) && words[0] != NULL)
		bad = "list and reset take no RULE";
	if (bad != NULL) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS, "%s", bad);
		goto out;
	}
	if (!qm_tool_check_name(PROG, o.args[0]))
		goto out;
	rc = run(&o, cmd, o.args[0], words);
out:
	g_strfreev(o.policy_dirs);
	g_strfreev(o.args);
	g_free(o.before);
	g_free(o.rule_no);
	return rc;
}
