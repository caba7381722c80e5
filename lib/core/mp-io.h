/* mp-io: the message on standard input, in bounded memory, and standard
 * output (or an -o FILE) written with every error checked. */
#pragma once

#include "mp-autoptr.h"

G_BEGIN_DECLS

/* Inputs smaller than this read from a pipe are kept in memory; others
 * are spooled to an unlinked temporary file. */
#define MP_INPUT_MEMORY_LIMIT (1024 * 1024)

typedef struct _MpInput MpInput;

/* Opens @path for reading, or standard input when @path is NULL or "-".
 * A seekable regular file is read in place; anything else (a pipe, a
 * terminal, /dev/fd/N) is spooled first, so the result is always seekable.
 * Errors: MP_ERROR_NO_INPUT naming @path when it cannot be opened or is a
 * directory, MP_ERROR_IO on a read error or when spooling fails.
 * Free with mp_input_free(). */
MpInput *mp_input_open (const char *path, GError **error);

/* Like mp_input_open() on an already open descriptor (not closed by the
 * MpInput); @name is used in error messages. */
MpInput *mp_input_open_fd (int fd, const char *name, GError **error);

void mp_input_free (MpInput *in);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpInput, mp_input_free)

/* The name used in messages: the path, or "stdin". */
const char *mp_input_get_name (MpInput *in);

/* Size in bytes of the input. */
gint64 mp_input_get_size (MpInput *in);

/* The whole input as a seekable stream positioned at its start
 * (borrowed: owned by @in).  Substreams of it stay valid while @in lives. */
GMimeStream *mp_input_get_stream (MpInput *in);

/* The input's bytes when it is held in memory (small pipes), else NULL. */
GBytes *mp_input_get_bytes (MpInput *in);

/* Parses the input as one RFC 5322 message.  The parser keeps only offsets
 * into the input (persisted stream), so memory stays bounded.
 * Errors: MP_ERROR_DATA when the input is empty, is not a message, or
 * holds a multipart whose closing delimiter is missing (a sign that an
 * earlier stage of the pipeline failed).
 * On success *@parser_out (when not NULL) receives the parser, whose
 * offsets (g_mime_parser_get_headers_end()...) describe the input. */
GMimeMessage *mp_input_parse_message (MpInput *in, GMimeParser **parser_out,
				      GError **error);

/* Like mp_input_parse_message(), but a multipart whose closing delimiter
 * is missing is no error: *@truncated is set instead (for readers, which
 * show what is there; the last part runs to the end of the input). */
GMimeMessage *mp_input_parse_message_truncated (MpInput *in,
						GMimeParser **parser_out,
						gboolean *truncated,
						GError **error);

/* A window onto the bytes of an input, for reading it in place: the input
 * held in memory is seen whole; a spool file is mapped (mmap) a MB at a
 * time, a file read in place is read (pread) a MB at a time, so no
 * pass makes a system call per few KB and memory stays bounded.  Offsets
 * are those of mp_input_get_stream() (the input starts at its
 * bound_start).  Initialise with mp_input_window_init(), free what it
 * holds with mp_input_window_clear(). */
typedef struct {
	MpInput *in;       /* borrowed */
	const char *data;  /* the bytes [start, end) */
	gint64 start, end; /* what data holds */
	void *map;         /* a mapping, or NULL */
	gsize map_len;
	char *buf;    /* a read buffer, or NULL */
	gint64 limit; /* 0, or where reading stops: no window goes past it */
} MpInputWindow;

#define MP_INPUT_WINDOW (1024 * 1024)

void mp_input_window_init (MpInputWindow *w, MpInput *in);
void mp_input_window_clear (MpInputWindow *w);

/* The bytes from @pos: a pointer to the byte at @pos, with *@avail bytes
 * after it, at least @need (at most MP_INPUT_WINDOW - 4096) unless the
 * input ends sooner; NULL with *@avail 0 at or past the end.  The window
 * moves only when it must, so reading on from where it is costs nothing.
 * The pointer is valid until the next call.  Errors: MP_ERROR_IO naming
 * the input. */
const char *mp_input_window_at (MpInputWindow *w, gint64 pos, gsize need,
				gsize *avail, GError **error);

/* The whole input as a seekable stream like mp_input_get_stream(), but
 * read through an MpInputWindow: a read is a copy from memory, a seek no
 * system call; mp_output_copy_stream() still copies it in the kernel.
 * Borrowed (owned by @in); substreams of it stay valid while @in lives. */
GMimeStream *mp_input_get_window_stream (MpInput *in);

/* Like mp_input_parse_message(), reading @stream: the input seen through
 * mp_input_get_window_stream(), or a view of it (a GMimeStreamCat of some
 * of its ranges); the parts' streams are substreams of @stream. */
GMimeMessage *mp_input_parse_stream (MpInput *in, GMimeStream *stream,
				     GError **error);

/* Reads the whole input into memory, for small inputs such as a message
 * body given to mime-compose.  Errors: MP_ERROR_IO. */
GBytes *mp_input_read_all (MpInput *in, GError **error);

/* Opens @rel (relative, normalized, no "..") below the folder @dirfd for
 * reading, one component at a time and following no symbolic link, so a
 * path swapped for a link between a look and the open is refused rather
 * than followed; the result is a regular file (a FIFO does not block).
 * @shown names it in errors; @link_hint says what to do about a link.
 * Errors: MP_ERROR_DATA for a symbolic link, MP_ERROR_NO_INPUT when it
 * cannot be opened or is not a regular file.  Returns the descriptor or
 * -1. */
int mp_io_open_below (int dirfd, const char *rel, const char *shown,
		      const char *link_hint, GError **error);

/* An input made by writing it in pieces (a message read from an mbox):
 * kept in memory up to MP_INPUT_MEMORY_LIMIT, then in an unlinked
 * temporary file.  @name is used in error messages. */
typedef struct _MpSpool MpSpool;

MpSpool *mp_spool_new (const char *name);

/* Appends @len bytes.  Errors: MP_ERROR_IO when the spool file cannot be
 * created or written. */
gboolean mp_spool_write (MpSpool *s, const void *data, gsize len,
			 GError **error);

/* The input written so far, positioned at its start; frees @s. */
MpInput *mp_spool_finish (MpSpool *s);

/* Frees an unfinished spool. */
void mp_spool_free (MpSpool *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpSpool, mp_spool_free)

/* Writes all @len bytes of @data to @fd, retrying on EINTR and short
 * writes.  On failure returns FALSE with the errno in *@errsv. */
gboolean mp_io_write_all (int fd, const void *data, gsize len, int *errsv);

/* read(2) of up to @len bytes from @fd into @buf, again when a signal
 * interrupts it (EINTR): the number of bytes read, 0 at the end, or -1
 * with errno set. */
gssize mp_io_read (int fd, void *buf, gsize len);

/* Moves everything left in the pipe @fd to @out with splice(2), inside
 * the kernel, adding to *@size.  Returns 0 at the end of input, 1 when
 * @fd is not a pipe or @out cannot take a splice (read it yourself), -1
 * with *@errsv on another error. */
int mp_io_splice_all (int fd, int out, gint64 *size, int *errsv);

/* pread(2) of exactly @len bytes of @fd from @offset into @buf, again on
 * EINTR and short reads.  On failure returns FALSE with the errno in
 * *@errsv (EIO when the file ends first). */
gboolean mp_io_pread_all (int fd, void *buf, gsize len, gint64 offset,
			  int *errsv);

typedef struct _MpOutput MpOutput;

/* Opens the output: standard output when @path is NULL or "-", else a
 * temporary file beside @path that mp_output_close() renames into place,
 * so a file on disk is never half-written; a @path that exists and is
 * not a regular file (a FIFO, /dev/stdout) is written to directly.  With @crlf every line ending
 * written through mp_output_get_stream() becomes CRLF.
 * Errors: MP_ERROR_CANT_CREATE naming @path. */
MpOutput *mp_output_open (const char *path, gboolean crlf, GError **error);

/* The stream to write the message to (borrowed).  Writes are buffered;
 * the first failure is remembered and reported by mp_output_close(). */
GMimeStream *mp_output_get_stream (MpOutput *out);

/* Writes @len bytes.  Errors: MP_ERROR_IO naming the output. */
gboolean mp_output_write (MpOutput *out, const void *data, gsize len,
			  GError **error);

/* Copies @len bytes (-1: to the end) of @fd from @offset (-1: from the
 * current position, reading sequentially) to the output, without going
 * through GMime.  Errors: MP_ERROR_IO naming the input or the output. */
gboolean mp_output_copy_fd (MpOutput *out, int fd, gint64 offset, gint64 len,
			    const char *in_name, GError **error);

/* g_mime_stream_read() of up to @len bytes, but 0 at the end of @stream:
 * a bounded GMimeStreamFs answers -1 (EINVAL) when read at its bound,
 * and a stream at its end may answer either.  -1 on a read error. */
gssize mp_io_stream_read (GMimeStream *stream, char *buf, gsize len);

/* Copies the bytes [@start, @end) of @stream (-1 @end: to its end). */
gboolean mp_output_copy_stream (MpOutput *out, GMimeStream *stream,
				gint64 start, gint64 end, GError **error);

/* Call after a GMime write to mp_output_get_stream() returned @rv: when @rv
 * is -1 sets @error from the failure and returns FALSE. */
gboolean mp_output_check (MpOutput *out, gssize rv, GError **error);

/* Flushes everything; for a file, fsyncs and renames it into place.
 * Errors: MP_ERROR_IO (e.g. "stdout: No space left on device").
 * Every write to the output fails with G_FILE_ERROR_PIPE instead when its
 * reader has closed the pipe (exit 74, like MP_ERROR_IO). */
gboolean mp_output_close (MpOutput *out, GError **error);

/* Frees @out; an -o file not closed successfully is removed. */
void mp_output_free (MpOutput *out);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpOutput, mp_output_free)

G_END_DECLS

/* ---- without GMime: for a tool that links no GObject (mime-compose) --- */

/* Like mp_input_open(), but the input has no stream: read it with an
 * MpInputWindow (or mp_input_read_plain()), never with
 * mp_input_get_stream() and its kin; free it with mp_input_free_plain(). */
MpInput *mp_input_open_plain (const char *path, GError **error);

/* An input held in memory (a reference to @bytes is taken), named @name
 * in errors; as mp_input_open_plain(). */
MpInput *mp_input_new_plain_bytes (GBytes *bytes, const char *name);

/* Where the input's bytes start in its window's offsets. */
gint64 mp_input_get_start (MpInput *in);

/* A consumer of bytes given in pieces, in order: @len bytes at @data.
 * Returns FALSE with @error set to stop the producer, which then fails
 * with that error. */
typedef gboolean (*MpWriteFunc) (const char *data, gsize len,
				 gpointer user_data, GError **error);

/* Calls @func on the bytes [@start, @end) of @in (offsets of its
 * window) in pieces as the window holds them, in order, until it returns
 * FALSE.  Returns FALSE when @func did or a read failed (@error set:
 * MP_ERROR_IO). */
gboolean mp_input_for_each (MpInput *in, gint64 start, gint64 end,
			    MpWriteFunc func, gpointer user_data,
			    GError **error);

/* Reads the whole input into memory (small inputs).  Errors:
 * MP_ERROR_IO. */
GBytes *mp_input_read_plain (MpInput *in, GError **error);

void mp_input_free_plain (MpInput *in);

/* When @in (from mp_input_open_fd()) reads @fd in place, makes @in close
 * it when freed and returns TRUE; else (it was spooled) FALSE: the
 * caller closes it. */
gboolean mp_input_own_fd (MpInput *in, int fd);

/* An output as mp_output_open() opens it (stdout, or a file written
 * beside @path and renamed into place on closing), buffered, with LF
 * written as CRLF when @crlf (as GMime's unix2dos filter does: an LF
 * after a CR is left alone), and no GMime stream.  The first write error
 * is remembered.  Errors: MP_ERROR_CANT_CREATE naming @path. */
typedef struct _MpWriter MpWriter;

MpWriter *mp_writer_open (const char *path, gboolean crlf, GError **error);

/* Writes @len bytes.  Errors: MP_ERROR_IO naming the output (or
 * G_FILE_ERROR_PIPE when its reader has gone, as mp_output_write()). */
gboolean mp_writer_write (MpWriter *w, const void *data, gsize len,
			  GError **error);

/* Copies the bytes [@start, @end) of @in (offsets of its window) to the
 * output: by the kernel (sendfile) from a file when no line ending is
 * changed.  Errors: MP_ERROR_IO. */
gboolean mp_writer_copy_input (MpWriter *w, MpInput *in, gint64 start,
			       gint64 end, GError **error);

/* Flushes; for a file, fsyncs and renames it into place.
 * Errors: MP_ERROR_IO. */
gboolean mp_writer_close (MpWriter *w, GError **error);

/* Frees @w; an -o file not closed successfully is removed. */
void mp_writer_free (MpWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpWriter, mp_writer_free)
