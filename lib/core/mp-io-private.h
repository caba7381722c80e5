/* mp-io's insides, shared by its two halves: mp-io.c (GMime streams,
 * parsing, MpOutput) and mp-io-plain.c (what needs no GMime: opening and
 * spooling an input, windows onto it, MpWriter), so that a command that
 * links no GObject (a static mime-compose, issue 21) takes only the
 * latter from the archive.  Not for use outside mp-io. */
#pragma once

#include "mp-io.h"

#define PIPE_SPOOL_SIZE (1024 * 1024)

struct _MpInput {
	char *name;
	int fd; /* owned spool or file, -1 when in memory */
	gboolean own_fd;
	gint64 start; /* where the message starts in fd */
	gint64 size;
	GBytes *bytes;    /* small pipes */
	gboolean spooled; /* fd is our unlinked spool file */
	GMimeStream *stream;
	GMimeStream *window_stream;
};

/* An unlinked temporary file for a spool, or -1 with @error set. */
int mp_io_open_spool_file (GError **error);

/* Reads or spools @fd into @in, as mp_input_open() says (no stream). */
gboolean mp_io_input_attach (MpInput *in, int fd, gboolean own, GError **error);

/* Opens @path (NULL or "-": stdin, not owned) for mp_input_open(),
 * naming @in; -1 with @error set on failure. */
int mp_io_input_open_path (MpInput *in, const char *path, gboolean *own,
			   GError **error);

/* Opens what mp_output_open() writes to: stdout, the node @path, or a
 * temporary file beside @path (*@tmp); names it in *@name and *@dest.
 * Returns the descriptor, or -1 with @error set. */
int mp_io_output_open_target (const char *path, char **name, char **dest,
			      char **tmp, GError **error);
