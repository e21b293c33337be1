/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wl_data_device_manager: the guest's clipboard.  Apps inside one guest
 * share it as on any desktop (they are one compartment); the host reads
 * it (CLIPBOARD_REQUEST) and sets it (CLIPBOARD_SET) only when the user
 * copies or pastes across compartments.  Drag and drop is refused.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct ga_server;
struct ga_data_device_manager;

struct ga_data_device_manager *ga_data_device_manager_create(
	struct ga_server *server);
void ga_data_device_manager_destroy(struct ga_data_device_manager *mgr);

/* Answers with CLIPBOARD_DATA: the selection as UTF-8 text (read from
 * the owning app), empty when there is none or it is not text. */
void ga_data_request_selection(struct ga_data_device_manager *mgr);
/* The host's text becomes the selection. */
void ga_data_set_selection(struct ga_data_device_manager *mgr,
			   const uint8_t *text, size_t len);
