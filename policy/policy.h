/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The RPC policy engine: Qubes OS qrexec policy (4.1+ format) for qmgr.
 *
 * A policy is loaded once from one or more policy directories (or from a
 * string, for tests and fuzzing) and then answers decisions against a
 * description of the VMs (struct pol_system).  A policy that had any error
 * while loading is invalid and denies everything (fail closed); its errors are
 * available as "FILE:LINE: message" strings.
 *
 * Objects are immutable after loading, so one policy and one system may be
 * used for any number of concurrent evaluations.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

/* Limits on what a policy or a query may contain. */
#define POL_VM_NAME_MAX 31          /* as in Qubes */
#define POL_SERVICE_MAX 255         /* service name without argument */
#define POL_ARGUMENT_MAX 255        /* argument including the leading '+' */
#define POL_USER_MAX 32
#define POL_TAG_MAX 64
#define POL_FILE_MAX (8u << 20)     /* a larger policy file is an error */
#define POL_INCLUDE_DEPTH_MAX 16
#define POL_ERRORS_MAX 1000         /* further errors are counted, not kept */
/* Longest resolved target: "@dispvm:uuid:" + 36 + NUL. */
#define POL_TARGET_MAX 64

/* The canonical spelling of the admin VM's UUID (Qubes uses the nil UUID). */
#define POL_ADMINVM_UUID "00000000-0000-0000-0000-000000000000"

enum pol_action {
	POL_ACTION_DENY = 0,
	POL_ACTION_ALLOW,
	POL_ACTION_ASK,
};

enum pol_vm_class {
	POL_CLASS_ADMINVM = 0,
	POL_CLASS_APPVM,
	POL_CLASS_TEMPLATEVM,
	POL_CLASS_STANDALONEVM,
	POL_CLASS_DISPVM,
	POL_CLASS_COUNT,
};

/* "AppVM" etc.; NULL for an out-of-range value. */
const char *pol_vm_class_name(enum pol_vm_class cls);
/* Parses a class name (exact, case-sensitive); false when unknown. */
bool pol_vm_class_from_name(const char *name, enum pol_vm_class *out);

/* ---- The VMs a decision is taken against ------------------------------ */

/* What the policy needs to know of one VM.  Strings are copied on add. */
struct pol_vm_info {
	const char *name;
	enum pol_vm_class cls;
	const char *uuid;              /* canonical lowercase or NULL */
	const char *const *tags;       /* NULL-terminated, may be NULL */
	const char *default_dispvm;    /* NULL or "": none */
	const char *template_name;     /* DispVM: its disposable template */
	bool template_for_dispvms;
	bool running;
	bool internal;                 /* hidden from ask target lists */
};

struct pol_system;
/* Only so that g_autoptr(pol_system) works; code says struct pol_system. */
typedef struct pol_system pol_system;

/* An empty system that holds the admin VM "dom0" only. */
struct pol_system *pol_system_create(void);
void pol_system_destroy(struct pol_system *sys);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(pol_system, pol_system_destroy)

/*
 * Adds a VM.  Adding an AdminVM replaces the implicit "dom0" (there is one
 * admin VM; its UUID is always POL_ADMINVM_UUID).  References between VMs
 * (default_dispvm, template_name) are checked by pol_system_check().
 */
bool pol_system_add_vm(struct pol_system *sys, const struct pol_vm_info *info,
		       GError **error);
/* Checks cross references; call after the last add. */
bool pol_system_check(struct pol_system *sys, GError **error);

/*
 * Reads the GKeyFile format of `qvm-policy --vms FILE` (one group per VM,
 * keys class, tags, default_dispvm, template_for_dispvms, state, internal,
 * uuid, template).  Errors name the file, the VM and the key.
 */
struct pol_system *pol_system_load_keyfile(const char *path, GError **error);
struct pol_system *pol_system_load_keyfile_data(const char *data, size_t len,
						const char *origin,
						GError **error);

size_t pol_system_vm_count(const struct pol_system *sys);

/* ---- Policies ---------------------------------------------------------- */

struct pol_policy;
typedef struct pol_policy pol_policy;   /* for g_autoptr only */
struct pol_rule;

/*
 * Loads every "*.policy" file of the given directories, merged and sorted by
 * basename (C locale); a file in a later directory shadows a same-named file
 * in an earlier one.  A missing directory is empty.  Relative !include paths
 * are resolved against the directory the including top-level file came from.
 * Never returns NULL: check pol_policy_is_valid().
 */
struct pol_policy *pol_policy_load_dirs(const char *const *dirs, size_t n_dirs);

/*
 * As pol_policy_load_dirs(), but the file `path` (which may not exist yet)
 * is read from `replacement` instead: how `qvm-policy edit` validates the
 * whole policy with an edited file before installing it.
 */
struct pol_policy *pol_policy_load_dirs_replacing(const char *const *dirs,
						 size_t n_dirs,
						 const char *path,
						 const char *replacement);

/* Loads one policy text, named `name` in messages; includes are resolved
 * against `include_root` (NULL: includes are errors). */
struct pol_policy *pol_policy_load_string(const char *name, const char *text,
					  size_t len, const char *include_root);

void pol_policy_destroy(struct pol_policy *policy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(pol_policy, pol_policy_destroy)

bool pol_policy_is_valid(const struct pol_policy *policy);
/* "FILE:LINE: message" (or "FILE: message" for a whole file), in order.
 * Past POL_ERRORS_MAX errors, one last entry "(N more errors not shown)"
 * counts the rest. */
size_t pol_policy_error_count(const struct pol_policy *policy);
const char *pol_policy_error(const struct pol_policy *policy, size_t i);
size_t pol_policy_rule_count(const struct pol_policy *policy);
/* The files that were read, in load order (for inotify and messages). */
size_t pol_policy_file_count(const struct pol_policy *policy);
const char *pol_policy_file(const struct pol_policy *policy, size_t i);

const char *pol_rule_file(const struct pol_rule *rule);
unsigned pol_rule_line(const struct pol_rule *rule);
/* The rule as written (whitespace-normalised), for explanations and logs. */
const char *pol_rule_text(const struct pol_rule *rule);

/* ---- Decisions --------------------------------------------------------- */

/* One call to be decided. */
struct pol_request {
	const char *service;   /* "qmgr.Filecopy" */
	const char *argument;  /* "+" or "+ARG"; NULL means "+" */
	const char *source;    /* the calling VM (name, uuid:..., dom0) */
	const char *target;    /* as the caller asked; NULL/"" = @default */
};

/* Why a decision denies. */
enum pol_deny_reason {
	POL_DENY_NONE = 0,          /* not denied */
	POL_DENY_POLICY_INVALID,    /* the policy had errors */
	POL_DENY_BAD_SERVICE,       /* service or argument not well formed */
	POL_DENY_BAD_SOURCE,        /* source is not a known VM */
	POL_DENY_BAD_TARGET,        /* intended target is not a valid target */
	POL_DENY_NO_RULE,           /* no rule matched */
	POL_DENY_RULE,              /* a deny rule matched */
	POL_DENY_NO_TARGET,         /* allow without any target */
	POL_DENY_NO_DISPVM,         /* @dispvm but the source has none */
	POL_DENY_REDIRECT_INVALID,  /* target= names no valid target */
	POL_DENY_AUTOSTART,         /* autostart=no and target not running */
	POL_DENY_ASK_EMPTY,         /* ask with nothing to choose from */
};

struct pol_decision {
	enum pol_action action;
	enum pol_deny_reason reason;
	const struct pol_rule *rule;   /* deciding rule, or NULL */
	/* allow: the resolved target ("work", "dom0", "uuid:...",
	 * "@dispvm:TEMPLATE") */
	char target[POL_TARGET_MAX];
	const char *user;              /* allow/ask: user= or NULL */
	bool notify;
	bool autostart;
	/* ask: sorted candidate targets and the default (NULL when none).
	 * The array is the decision's; its strings belong to the system and
	 * stay valid while the system lives. */
	GPtrArray *ask_targets;
	const char *ask_default;
};

/* Decides `req`.  Always fills `out` (deny on any problem); returns true
 * when the decision is allow or ask.  Call pol_decision_finish() after. */
bool pol_policy_evaluate(const struct pol_policy *policy,
			 const struct pol_system *sys,
			 const struct pol_request *req,
			 struct pol_decision *out);
void pol_decision_finish(struct pol_decision *d);

/* One line, as printed by `qvm-policy eval`:
 *   "allow target=X[ user=U]" | "deny" | "ask targets=A,B default_target=X" */
char *pol_decision_format(const struct pol_decision *d);
/* A sentence saying why (for deny) or what (otherwise), naming the rule. */
char *pol_decision_explain(const struct pol_decision *d);

/* Checks service / argument syntax of a query; used by tools that build
 * requests from "SERVICE+ARG". */
bool pol_service_is_valid(const char *service);
/* Tag syntax ([A-Za-z0-9_-], at most POL_TAG_MAX). */
bool pol_tag_is_valid(const char *tag);
/* Canonical lowercase form of an 8-4-4-4-12 UUID; false when malformed. */
bool pol_uuid_canonical(const char *text, char out[37]);
bool pol_argument_is_valid(const char *argument);

/* ---- The network service (qmgr.Network) --------------------------------
 *
 * Network rules are not decided call by call: qmgrd compiles them into a
 * packet filter (qmgrd/net-compile.c), walking a service's rules in policy
 * order with the functions below.  Their checks run while the policy loads:
 * `ask`, target=, default_target= and user= are errors for this service,
 * and so are arguments other than those pol_net_argument_parse() accepts,
 * a source @adminvm and targets other than sys-net, a qube name, uuid:,
 * @anyvm, @tag:, @type: or *.
 */

#define POL_NET_SERVICE "qmgr.Network"
/* The built-in target that stands for the host's uplink. */
#define POL_NET_UPLINK "sys-net"

enum pol_net_proto {
	POL_NET_PROTO_ALL = 0,  /* argument '*': every protocol */
	POL_NET_PROTO_TCP,
	POL_NET_PROTO_UDP,
	POL_NET_PROTO_ICMP,
};

/* What a network rule's argument covers: a protocol and, for tcp and udp,
 * an inclusive destination port range (0-65535 when not limited). */
struct pol_net_match {
	enum pol_net_proto proto;
	guint16 port_lo, port_hi;
};

/*
 * Parses a qmgr.Network argument: NULL or "*" (all), "+tcp", "+udp",
 * "+icmp", "+tcp-PORT", "+udp-PORT", "+tcp-LOW-HIGH", "+udp-LOW-HIGH"
 * (ports 1 to 65535 in decimal without leading zeros, LOW <= HIGH).
 * False when `arg` is none of these.
 */
bool pol_net_argument_parse(const char *arg, struct pol_net_match *out);

/*
 * The rules that can match a call of `service` (its own and the '*'
 * service rules), in policy order, so that the first match wins as in
 * pol_policy_evaluate().  *out is a new NULL-terminated array (g_free() it)
 * of rules that belong to the policy.  Returns how many there are.
 */
size_t pol_policy_service_rules(const struct pol_policy *policy,
				const char *service,
				const struct pol_rule ***out);

enum pol_action pol_rule_action(const struct pol_rule *rule);
/* NULL for '*' (any service / any argument). */
const char *pol_rule_service(const struct pol_rule *rule);
const char *pol_rule_argument(const struct pol_rule *rule);
/* Does the rule's SOURCE column match qube `vm_name` of `sys`?  False for
 * a qube `sys` does not know. */
bool pol_rule_source_matches(const struct pol_rule *rule,
			     const struct pol_system *sys,
			     const char *vm_name);
/* Does the rule's TARGET column match `target`: a qube of `sys`, or
 * POL_NET_UPLINK, which only a literal sys-net, @anyvm and * match? */
bool pol_rule_target_matches(const struct pol_rule *rule,
			     const struct pol_system *sys, const char *target);

/* The same with a qube looked up once (a compiler matching many rules
 * against the same qubes): pol_system_vm() finds it (NULL when `sys`
 * does not know it); a NULL `vm` target means POL_NET_UPLINK. */
struct pol_vm;
const struct pol_vm *pol_system_vm(const struct pol_system *sys,
				   const char *name);
/* The one qube a rule's source (target) names, when it is a plain name
 * (which matches that qube alone, or sys-net as a network target); NULL
 * when it is a token that may match several.  Lets a compiler index such
 * rules instead of matching them against every qube. */
const char *pol_rule_source_name(const struct pol_rule *rule);
const char *pol_rule_target_name(const struct pol_rule *rule);
bool pol_rule_source_matches_vm(const struct pol_rule *rule,
				const struct pol_system *sys,
				const struct pol_vm *vm);
bool pol_rule_target_matches_vm(const struct pol_rule *rule,
				const struct pol_system *sys,
				const struct pol_vm *vm);
