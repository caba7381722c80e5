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

/* Where MpOutput and MpWriter write (-o FILE, DESIGN 2): stdout, a node
 * that is not a regular file, or a temporary file beside the path that
 * is renamed over it when all went well, so that a file on disk is never
 * half-written. */
typedef struct {
	char *name; /* "stdout" or the path, for messages */
	char *path; /* the final path, NULL for stdout */
	char *tmp;  /* the temporary file beside path, or NULL */
} MpIoTarget;

/* Opens @t for @path (NULL or "-": stdout).  Returns the descriptor, or
 * -1 with @error set (MP_ERROR_CANT_CREATE) and @t left empty. */
int mp_io_target_open (MpIoTarget *t, const char *path, GError **error);

/* Puts the output written to *@fd in place: for a path, syncs a
 * temporary file, closes *@fd (then -1) and renames the file over the
 * path.  Errors: MP_ERROR_IO (sync, close) or MP_ERROR_CANT_CREATE
 * (rename) naming @t. */
gboolean mp_io_target_commit (MpIoTarget *t, int *fd, GError **error);

/* The error of a failed write, @errsv (0: EIO), naming @t: GLib's
 * G_FILE_ERROR_PIPE when the reader has gone (`| head -1`, so that a
 * tool can exit 74 without a message: mp_cli_fail()), else MP_ERROR_IO.
 * Returns FALSE. */
gboolean mp_io_target_fail (MpIoTarget *t, int errsv, GError **error);

/* Frees @t: closes @fd unless it is stdout or -1, and removes a
 * temporary file never renamed. */
void mp_io_target_clear (MpIoTarget *t, int fd);

/* The buffer of MpOutput's stream and of MpWriter: writes to @fd go
 * through @size bytes of memory, and the first error is kept (errsv),
 * for the output to report it once when it is closed. */
typedef struct {
	int fd;
	int errsv; /* first write error, 0 when none */
	char *buf;
	gsize size, used;
} MpIoBuffer;

/* A buffer of @size bytes for @fd. */
void mp_io_buffer_init (MpIoBuffer *b, int fd, gsize size);

/* Writes out what is buffered; FALSE when this or an earlier write
 * failed (errsv set). */
gboolean mp_io_buffer_drain (MpIoBuffer *b);

/* Adds @len bytes, writing out first when they do not fit; FALSE when a
 * write failed (errsv set).  Half the buffer or more goes out as it is,
 * without one more copy. */
gboolean mp_io_buffer_put (MpIoBuffer *b, const char *data, gsize len);

/* Frees the memory of @b (its descriptor stays open). */
void mp_io_buffer_clear (MpIoBuffer *b);
