/* mp-static-gmime: what a command linked statically against GMime leaves
 * out of GMime's archive (tools/meson.build, issue 21).
 *
 * g_mime_init() registers GMimeStreamGIO, and that one call is all that
 * links GMime's gmime-stream-gio.o, and through it GIO's GFile, its local
 * VFS, its module loader and its mount monitor: libmount, libblkid and
 * libselinux are loaded, and libselinux's constructor probes the file
 * systems, at every start of every command.  mimepipe never makes a
 * GMimeStreamGIO (it reads and writes through mp-io), so the statically
 * linked commands define the function g_mime_init() calls, and GMime's
 * object is never taken from the archive.  Should anything else need
 * that object, the link fails on the symbol defined twice: nothing is
 * left out silently.
 *
 * Only the statically linked commands are built with this file: with
 * GMime as a shared library it would change nothing. */
#include <glib-object.h>

GType g_mime_stream_gio_get_type (void);

/* No type: g_mime_init() ignores the value; a caller of
 * g_mime_stream_gio_new() would fail at link time (see above). */
GType
g_mime_stream_gio_get_type (void)
{
	return G_TYPE_INVALID;
}
