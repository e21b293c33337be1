/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One wl_output, scale 1.  Its mode is 1920x1080 until the host
 * configures a larger window (clients use the output's size to bound
 * their windows, so it must not be smaller than what the host offers).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct ga_server;
struct ga_output;
struct ga_surface;

struct ga_output *ga_output_create(struct ga_server *server);
void ga_output_destroy(struct ga_output *output);
/* Grows the mode to at least width x height. */
void ga_output_fit(struct ga_output *output, uint32_t width, uint32_t height);
/* wl_surface.enter for the surface's client's outputs. */
void ga_output_enter(struct ga_output *output, struct ga_surface *surface);
