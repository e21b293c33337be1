/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "accel.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

bool qm_accel_parse(const char *text, enum qm_accel *out)
{
	if (strcmp(text, "auto") == 0)
		*out = QM_ACCEL_AUTO;
	else if (strcmp(text, "kvm") == 0)
		*out = QM_ACCEL_KVM;
	else if (strcmp(text, "tcg") == 0)
		*out = QM_ACCEL_TCG;
	else
		return false;
	return true;
}

const char *qm_accel_name(enum qm_accel accel)
{
	switch (accel) {
	case QM_ACCEL_AUTO:
		return "auto";
	case QM_ACCEL_KVM:
		return "kvm";
	case QM_ACCEL_TCG:
		return "tcg";
	}
	return "?";
}

/* Whether a "flags" line of cpuinfo lists `flag` as a whole word. */
static bool has_flag(const char *cpuinfo, const char *flag)
{
	g_auto(GStrv) lines = g_strsplit(cpuinfo, "\n", -1);
	for (char **l = lines; *l != NULL; l++) {
		if (!g_str_has_prefix(*l, "flags"))
			continue;
		const char *colon = strchr(*l, ':');
		if (colon == NULL)
			continue;
		g_auto(GStrv) words = g_strsplit(colon + 1, " ", -1);
		for (char **w = words; *w != NULL; w++)
			if (strcmp(*w, flag) == 0)
				return true;
	}
	return false;
}

enum qm_accel qm_accel_choose(enum qm_accel wanted, const char *cpuinfo_path,
			      const char *kvm_dev, char **why)
{
	if (wanted != QM_ACCEL_AUTO) {
		*why = g_strdup_printf("accelerator %s forced by --accel",
				       qm_accel_name(wanted));
		return wanted;
	}
	g_autofree char *cpuinfo = NULL;
	if (!g_file_get_contents(cpuinfo_path, &cpuinfo, NULL, NULL))
		cpuinfo = g_strdup("");
	bool virt = has_flag(cpuinfo, "vmx") || has_flag(cpuinfo, "svm");
	int fd = open(kvm_dev, O_RDWR | O_CLOEXEC);
	int err = errno;
	if (fd >= 0)
		close(fd);
	if (virt && fd >= 0) {
		*why = g_strdup_printf("using KVM: the CPU has virtualization "
				       "extensions and %s opens", kvm_dev);
		return QM_ACCEL_KVM;
	}
	if (!virt)
		*why = g_strdup("using TCG (software emulation, slow and less "
				"isolated): the CPU advertises no vmx/svm");
	else
		*why = g_strdup_printf("using TCG (software emulation): %s: %s",
				       kvm_dev, g_strerror(err));
	return QM_ACCEL_TCG;
}
