/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Inside qvm-firewall: a qube's network rule in Qubes' syntax, and the
 * block of qmgr.Network policy lines that holds a qube's rules
 * (qvm-firewall.c describes the file).  firewall-rule.c turns RULE words
 * into rules and rules into policy lines and back; qvm-firewall.c reads and
 * writes the file and runs the commands.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

enum proto { PROTO_ANY, PROTO_TCP, PROTO_UDP, PROTO_ICMP };
/* "-" (any), "tcp", "udp", "icmp", indexed by enum proto. */
extern const char *const fw_proto_names[];

struct rule {
	bool accept;
	enum proto proto;
	guint16 port_lo, port_hi;      /* 0-0: not limited */
	bool dns;                      /* udp and tcp 53 to sys-net */
	char *target;                  /* POL_NET_UPLINK or a qube */
	char *comment;                 /* NULL: none */
};

/* Accepts NULL. */
void fw_rule_free(struct rule *r);

/*
 * Parses RULE words: KEY=VALUE, or bare words taken in Qubes' order
 * (action, dsthost, proto, dstports or icmptype).  On failure *why says
 * what is wrong; the caller exits with a usage error.
 */
struct rule *fw_rule_from_words(char **words, const char *vm, char **why);

/* Whether `a` is the rule `b` names; `b` without a comment matches any. */
bool fw_rule_equal(const struct rule *a, const struct rule *b);

/* The rule's ports as shown: "-", "N" or "LOW-HIGH". */
char *fw_rule_ports_text(const struct rule *r);

/* Appends the rule's policy lines (with its comment and dns lines) for
 * qube `vm`. */
void fw_rule_render(const struct rule *r, const char *vm, GString *out);

struct block {
	char *vm;
	GString *raw;          /* as read; written back unless changed */
	unsigned first_line;   /* of raw, 1-based */
	bool changed;
	GPtrArray *rules;      /* struct rule; after fw_block_parse() */
};

/* Reads the rules of a block; false with "FILE:LINE: why" on the first
 * line that is not what qvm-firewall writes. */
bool fw_block_parse(struct block *b, const char *path, char **error);
