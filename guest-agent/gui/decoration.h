/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zxdg_decoration_manager_v1: every toplevel is decorated by the host
 * (its border is the security indicator), so the mode is always
 * server_side whatever the client asks.
 */
#pragma once

#include <stdbool.h>

struct ga_server;

bool ga_decoration_init(struct ga_server *server);
