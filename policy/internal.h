/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals of the policy engine shared between its files. */
#pragma once

#include "policy.h"

/* What a VM specification in a policy or a request denotes. */
enum tok_kind {
	TOK_NONE = 0,      /* absent (an unset target= option) */
	TOK_NAME,          /* a literal VM name; value = name */
	TOK_UUID,          /* uuid:U; value = canonical uuid */
	TOK_ADMINVM,       /* @adminvm, dom0, uuid:<nil> */
	TOK_ANYVM,         /* @anyvm */
	TOK_WILDCARD,      /* * */
	TOK_DEFAULT,       /* @default */
	TOK_TYPE,          /* @type:C; cls */
	TOK_TAG,           /* @tag:T; value = tag */
	TOK_DISPVM,        /* @dispvm */
	TOK_DISPVM_NAME,   /* @dispvm:NAME; value = name */
	TOK_DISPVM_UUID,   /* @dispvm:uuid:U; value = canonical uuid */
	TOK_DISPVM_TAG,    /* @dispvm:@tag:T; value = tag */
};

/* The columns / options a token may appear in (a bit set). */
enum tok_context {
	CTX_SOURCE = 1 << 0,
	CTX_TARGET = 1 << 1,
	CTX_REDIRECT = 1 << 2,   /* target= and default_target= */
	CTX_INTENDED = 1 << 3,   /* the target a caller asked for */
};

struct pol_token {
	enum tok_kind kind;
	enum pol_vm_class cls;  /* TOK_TYPE */
	char *text;             /* as written */
	char *value;            /* see enum tok_kind */
};

/* ---- the VMs ---- */
struct pol_vm {
	unsigned index;         /* position in pol_system.vms */
	const char *target;     /* as an ask candidate: name, or dom0 */
	char *dispvm_target;    /* "@dispvm:NAME" */
	char *name;
	char uuid[37];          /* "" when unknown */
	enum pol_vm_class cls;
	char **tags;            /* NULL-terminated */
	char *default_dispvm;   /* NULL: none */
	char *template_name;    /* DispVM: its template, or NULL */
	bool template_for_dispvms;
	bool running;
	bool internal;
};

struct pol_system {
	GPtrArray *vms;             /* struct pol_vm *, insertion order */
	GHashTable *by_name;        /* name -> struct pol_vm * */
	GHashTable *by_uuid;        /* uuid -> struct pol_vm * */
	struct pol_vm *adminvm;
	bool admin_explicit;        /* an AdminVM was added (not implied) */
};

const struct pol_vm *sys_find_name(const struct pol_system *sys,
				   const char *name);
const struct pol_vm *sys_find_uuid(const struct pol_system *sys,
				   const char *uuid);
bool vm_has_tag(const struct pol_vm *vm, const char *tag);

/* ---- tokens (token.c) ---- */

/*
 * Parses `text` as a token for the contexts in `allowed`; on failure returns
 * false and sets *msg to an allocated message naming the token and, where it
 * can, a likely intended spelling.  `what` names the column for messages.
 */
bool tok_parse(const char *text, unsigned allowed, const char *what,
	       struct pol_token *out, char **msg);
void tok_finish(struct pol_token *tok);

bool name_is_valid(const char *name);
bool tag_is_valid(const char *tag);
/* Canonicalises a UUID into out[37]; false when not 8-4-4-4-12 hex. */
bool uuid_canonical(const char *text, char out[37]);

/* The caller's intended target after validation (Qubes IntendedTarget). */
enum intended_kind {
	IT_INVALID = 0,
	IT_DEFAULT,
	IT_ADMINVM,
	IT_VM,                 /* vm */
	IT_DISPVM,             /* new disposable of the source's default */
	IT_DISPVM_TEMPLATE,    /* new disposable of vm */
};

struct intended {
	enum intended_kind kind;
	const struct pol_vm *vm;
	const char *text;      /* as the caller wrote it */
};

/* Resolves the source's default disposable template, or NULL. */
const struct pol_vm *dispvm_of_source(const struct pol_system *sys,
				      const struct pol_vm *source);

bool tok_match_source(const struct pol_token *tok, const struct pol_system *sys,
		      const struct pol_vm *source);
bool tok_match_target(const struct pol_token *tok, const struct pol_system *sys,
		      const struct pol_vm *source, const struct intended *it);
/*
 * A set of ask candidates: for VM i, bit 2i is the VM itself and bit 2i+1
 * a new disposable of it ("@dispvm:NAME"); `dispvm` is the unresolved
 * "@dispvm".  Bits instead of strings keep an ask decision allocation-light.
 */
struct target_set {
	guint64 *bits;
	size_t words;
	bool dispvm;
};

/* Adds (add=true) or removes every target `tok` expands to; see ask.c. */
void tok_expand(const struct pol_token *tok, const struct pol_system *sys,
		struct target_set *set, bool add);

/* ---- rules and policies ---- */
struct pol_rule {
	char *service;          /* NULL = any */
	char *argument;         /* NULL = any; else "+..." */
	struct pol_token source;
	struct pol_token target;
	enum pol_action action;
	struct pol_token redirect;        /* target= */
	struct pol_token default_target;  /* default_target= (ask) */
	char *user;
	bool notify;
	bool autostart;
	const char *file;       /* owned by the policy's file list */
	unsigned line;
	char *text;
	unsigned index;         /* position in the policy */
};

struct pol_policy {
	GPtrArray *rules;       /* struct pol_rule *, policy order */
	GPtrArray *errors;      /* char * */
	size_t errors_dropped;
	GPtrArray *files;       /* char *, every file read */
	/* Index: service -> GArray of guint rule indexes (that service's rules
	 * merged in order with the any-service rules). */
	GHashTable *by_service;
	GArray *any_service;    /* rules whose service is '*' */
};

/* policy.c */
struct pol_policy *policy_new(void);
void policy_add_error(struct pol_policy *policy, const char *file,
		      unsigned line, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
const char *policy_intern_file(struct pol_policy *policy, const char *path);
void policy_build_index(struct pol_policy *policy);
void rule_free(struct pol_rule *rule);

/* parser.c: parses one policy text; `ctx` carries the include machinery. */
struct parse_ctx;
typedef void (*include_fn)(struct parse_ctx *ctx, const char *file,
			   unsigned line, const char *kind,
			   const char *service, const char *argument,
			   const char *path);
struct parse_ctx {
	struct pol_policy *policy;
	include_fn include;     /* NULL: includes are errors */
	void *include_data;
	unsigned depth;
};
/* `service`/`argument` non-NULL selects the old one-service format of
 * !include-service files (then service may be "*" etc. as validated). */
void parse_text(struct parse_ctx *ctx, const char *file, const char *text,
		size_t len, const char *service, const char *argument);

/* network.c: the load-time checks of a qmgr.Network rule; records its
 * errors and clears *ok when there are any. */
void network_rule_check(struct pol_policy *policy, const char *file,
			unsigned line, const struct pol_rule *rule, bool *ok);

/* Validation shared with the evaluator. */
bool service_chars_ok(const char *s, bool allow_plus);

/* eval.c / ask.c */
bool resolve_intended(const struct pol_system *sys, const char *text,
		      struct intended *out);
void ask_collect(const struct pol_policy *policy, const struct pol_system *sys,
		 const struct pol_rule *rule, const struct pol_request *req,
		 const struct pol_vm *source, struct pol_decision *out);
const char *redirect_normalise(const struct pol_token *tok,
			       const struct pol_system *sys,
			       const struct pol_vm *source, char *buf,
			       size_t size);
const GArray *policy_candidates(const struct pol_policy *policy,
				const char *service);
bool rule_matches_but_target(const struct pol_rule *rule,
			     const struct pol_system *sys,
			     const char *service, const char *argument,
			     const struct pol_vm *source);
