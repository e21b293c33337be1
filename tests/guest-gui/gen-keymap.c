/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Prints the default XKB keymap (us) as text, as a host would send it. */
#include <stdio.h>
#include <stdlib.h>
#include <xkbcommon/xkbcommon.h>

int main(void)
{
	struct xkb_context *ctx = xkb_context_new(XKB_CONTEXT_NO_FLAGS);
	struct xkb_rule_names names = { .layout = "us" };
	struct xkb_keymap *map = ctx ? xkb_keymap_new_from_names(ctx, &names,
		XKB_KEYMAP_COMPILE_NO_FLAGS) : NULL;
	char *text = map ? xkb_keymap_get_as_string(map,
		XKB_KEYMAP_FORMAT_TEXT_V1) : NULL;

	if (text == NULL) {
		fprintf(stderr, "gen-keymap: cannot compile the us keymap\n");
		return 1;
	}
	fputs(text, stdout);
	free(text);
	xkb_keymap_unref(map);
	xkb_context_unref(ctx);
	return 0;
}
