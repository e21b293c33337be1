/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Applies decoded host messages to windows, the seat and the clipboard. */
#pragma once

#include "host-link.h"

struct ga_server;

extern const struct ga_link_handler ga_host_events_handler;
