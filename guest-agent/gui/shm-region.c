/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "shm-region.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>

#include "gui-proto.h"

#define IVSHMEM_VENDOR 0x1af4
#define IVSHMEM_DEVICE 0x1110

struct block {
	uint32_t offset, size;
};

static unsigned long read_hex(const char *dir, const char *name)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autofree char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	return strtoul(text, NULL, 16);
}

char *ga_region_find_ivshmem(void)
{
	const char *base = "/sys/bus/pci/devices";
	g_autoptr(GDir) dir = g_dir_open(base, 0, NULL);
	const char *name;

	if (dir == NULL)
		return NULL;
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *dev = g_build_filename(base, name, NULL);

		if (read_hex(dev, "vendor") == IVSHMEM_VENDOR &&
		    read_hex(dev, "device") == IVSHMEM_DEVICE)
			return g_build_filename(dev, "resource2", NULL);
	}
	return NULL;
}

struct ga_region *ga_region_open(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		g_warning("shared region %s: %s; frames go through the "
			  "stream", path, g_strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)QM_GUI_SHM_ALIGN) {
		g_warning("shared region %s: empty; frames go through the "
			  "stream", path);
		close(fd);
		return NULL;
	}
	/* The host refuses slots past QM_GUI_MAX_SHM_SIZE anyway. */
	size_t size = (size_t)MIN((uint64_t)st.st_size, QM_GUI_MAX_SHM_SIZE);
	void *data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			  0);
	close(fd);
	if (data == MAP_FAILED) {
		g_warning("shared region %s: cannot map it: %s; frames go "
			  "through the stream", path, g_strerror(errno));
		return NULL;
	}
	struct ga_region *r = g_new0(struct ga_region, 1);
	r->data = data;
	r->size = size;
	r->blocks = g_array_new(FALSE, FALSE, sizeof(struct block));
	g_message("shared region %s: %zu MiB", path, size >> 20);
	return r;
}

void ga_region_destroy(struct ga_region *r)
{
	if (r == NULL)
		return;
	munmap(r->data, r->size);
	g_array_free(r->blocks, TRUE);
	g_free(r);
}

bool ga_region_alloc(struct ga_region *r, size_t size, uint32_t *offset)
{
	GArray *b = r->blocks;
	uint64_t need = ((uint64_t)size + QM_GUI_SHM_ALIGN - 1) &
			~(uint64_t)(QM_GUI_SHM_ALIGN - 1);
	uint64_t at = 0;
	guint i;

	if (need == 0 || need > r->size)
		return false;
	/* first fit between the used blocks, which are kept by offset */
	for (i = 0; i < b->len; i++) {
		const struct block *u = &g_array_index(b, struct block, i);

		if (u->offset - at >= need)
			break;
		at = (uint64_t)u->offset + u->size;
	}
	if (at + need > r->size)
		return false;
	struct block nb = { (uint32_t)at, (uint32_t)need };
	g_array_insert_val(b, i, nb);
	*offset = nb.offset;
	return true;
}

void ga_region_free(struct ga_region *r, uint32_t offset)
{
	GArray *b = r->blocks;

	for (guint i = 0; i < b->len; i++) {
		if (g_array_index(b, struct block, i).offset == offset) {
			g_array_remove_index(b, i);
			return;
		}
	}
	g_warning("shared region: block at %u freed twice", offset);
}
