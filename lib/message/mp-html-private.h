/* mp-html's helpers shared with mp-html-embed.c (not for use outside
 * lib/message). */
#pragma once

#include <glib.h>

/* The path of a local URL, decoded, or NULL when it has a scheme.  Newly
 * allocated. */
char *mp_html_url_path (const char *src);

/* Removes "." and empty components and resolves ".." lexically.  Newly
 * allocated. */
char *mp_html_normalize (const char *path);
