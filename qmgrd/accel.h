/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Choosing the accelerator: KVM where the CPU and /dev/kvm allow it, TCG
 * (software emulation) otherwise, or what the admin forces. */
#pragma once

#include <stdbool.h>
#include <glib.h>

enum qm_accel {
	QM_ACCEL_AUTO,
	QM_ACCEL_KVM,
	QM_ACCEL_TCG,
};

bool qm_accel_parse(const char *text, enum qm_accel *out);
const char *qm_accel_name(enum qm_accel accel);

/*
 * Resolves AUTO: KVM when `cpuinfo` (the text of /proc/cpuinfo) has a vmx
 * or svm flag and `kvm_dev` opens read-write; else TCG.  *why receives a
 * sentence for the log.  Paths are parameters so tests can point elsewhere.
 */
enum qm_accel qm_accel_choose(enum qm_accel wanted, const char *cpuinfo_path,
			      const char *kvm_dev, char **why);
