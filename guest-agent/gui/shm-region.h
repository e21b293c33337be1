/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The region of memory shared with the host (protocol version 3): in a
 * qube, BAR2 of QEMU's ivshmem PCI device (vendor 0x1af4, device 0x1110;
 * qmgrd gives qubes ivshmem-doorbell, tests may use ivshmem-plain), mapped through /sys/bus/pci/devices/ADDR/resource2; in tests
 * and benches, any file.  Windows take slots in it (a first-fit
 * allocator of QM_GUI_SHM_ALIGN-aligned blocks) and copy their frames
 * there instead of into the stream.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ga_region {
	uint8_t *data;
	size_t size;            /* at most QM_GUI_MAX_SHM_SIZE is used */
	void *blocks;           /* GArray of used blocks, by offset */
	unsigned held;          /* slots the host holds, all windows */
};

/* The resource2 file of the first ivshmem device, or NULL. */
char *ga_region_find_ivshmem(void);
/* Maps path read-write, shared; NULL (logged) when it cannot. */
struct ga_region *ga_region_open(const char *path);
void ga_region_destroy(struct ga_region *r);
/* A free block of `size` bytes at *offset; false when none is left. */
bool ga_region_alloc(struct ga_region *r, size_t size, uint32_t *offset);
void ga_region_free(struct ga_region *r, uint32_t offset);
