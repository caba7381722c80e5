#include "mp-io.h"
#include "mp-error.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (256 * 1024)

/* ---- input ---------------------------------------------------------- */

struct _MpInput {
	char *name;
	int fd; /* owned spool or file, -1 when in memory */
	gboolean own_fd;
	gint64 start; /* where the message starts in fd */
	gint64 size;
	GBytes *bytes; /* small pipes */
	GMimeStream *stream;
};

gboolean
mp_io_write_all (int fd, const void *data, gsize len, int *errsv)
{
	const char *buf = data;

	while (len > 0) {
		ssize_t n = write (fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*errsv = errno;
			return FALSE;
		}
		buf += n;
		len -= (gsize) n;
	}
	return TRUE;
}

static int
open_spool_file (GError **error)
{
	const char *dir = g_get_tmp_dir ();
	int fd;

#ifdef O_TMPFILE
	fd = open (dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
#endif
	{
		g_autofree char *tmpl =
			g_build_filename (dir, "mimepipe-XXXXXX", NULL);
		fd = g_mkstemp_full (tmpl, O_RDWR | O_CLOEXEC, 0600);
		if (fd >= 0) {
			unlink (tmpl);
			return fd;
		}
	}
	mp_error_set_errno (error, MP_ERROR_IO, errno, dir);
	g_prefix_error (error, "cannot create a spool file: ");
	return -1;
}

/* Moves everything left in the pipe @fd to the file @out with splice(2),
 * adding to *@size.  Returns 0 at the end of input, 1 when @fd is not a
 * pipe (read it yourself), -1 with *@errsv on an error. */
static int
splice_all (int fd, int out, gint64 *size, int *errsv)
{
	for (;;) {
		ssize_t n = splice (fd, NULL, out, NULL, 1 << 20,
				    SPLICE_F_MOVE | SPLICE_F_MORE);

		if (n > 0) {
			*size += n;
			continue;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EINVAL || errno == ENOSYS)
			return 1;
		*errsv = errno;
		return -1;
	}
}

/* Reads a non-seekable descriptor to its end: into memory while it is
 * small, then into an unlinked temporary file (DESIGN 2). */
static gboolean
spool (MpInput *in, int fd, GError **error)
{
	g_autofree char *buf = g_malloc (MP_INPUT_MEMORY_LIMIT);
	gsize used = 0;
	int errsv = 0;
	int out = -1;

	for (;;) {
		gsize room = MP_INPUT_MEMORY_LIMIT - used;
		ssize_t n;

		if (room == 0) {
			if (out < 0) {
				out = open_spool_file (error);
				if (out < 0)
					return FALSE;
			}
			if (!mp_io_write_all (out, buf, used, &errsv)) {
				close (out);
				mp_error_set_errno (error, MP_ERROR_IO, errsv,
						    "spool file");
				return FALSE;
			}
			in->size += used;
			used = 0;
			room = MP_INPUT_MEMORY_LIMIT;
			/* from a pipe the kernel moves the rest to the file */
			n = splice_all (fd, out, &in->size, &errsv);
			if (n == 0)
				break;
			if (n < 0) {
				close (out);
				mp_error_set_errno (error, MP_ERROR_IO, errsv,
						    in->name);
				return FALSE;
			}
		}
		n = read (fd, buf + used, room);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			errsv = errno;
			if (out >= 0)
				close (out);
			mp_error_set_errno (error, MP_ERROR_IO, errsv,
					    in->name);
			return FALSE;
		}
		if (n == 0)
			break;
		used += (gsize) n;
	}

	if (out < 0) {
		in->size = (gint64) used;
		in->bytes = g_bytes_new_take (g_steal_pointer (&buf), used);
		return TRUE;
	}
	if (!mp_io_write_all (out, buf, used, &errsv)) {
		close (out);
		mp_error_set_errno (error, MP_ERROR_IO, errsv, "spool file");
		return FALSE;
	}
	in->size += used;
	in->fd = out;
	in->own_fd = TRUE;
	in->start = 0;
	return TRUE;
}

static void
input_make_stream (MpInput *in)
{
	if (in->bytes) {
		in->stream = g_mime_stream_mem_new_with_buffer (
			g_bytes_get_data (in->bytes, NULL),
			g_bytes_get_size (in->bytes));
	} else {
		in->stream = g_mime_stream_fs_new_with_bounds (
			in->fd, in->start, in->start + in->size);
		g_mime_stream_fs_set_owner (GMIME_STREAM_FS (in->stream),
					    FALSE);
	}
}

static MpInput *
input_from_fd (MpInput *in, int fd, gboolean own, GError **error)
{
	struct stat st;
	off_t pos;

	if (fstat (fd, &st) < 0) {
		mp_error_set_errno (error, MP_ERROR_NO_INPUT, errno, in->name);
		goto fail;
	}
	if (S_ISDIR (st.st_mode)) {
		mp_error_set_errno (error, MP_ERROR_NO_INPUT, EISDIR, in->name);
		goto fail;
	}
	pos = S_ISREG (st.st_mode) ? lseek (fd, 0, SEEK_CUR) : -1;
	if (pos >= 0) {
		in->fd = fd;
		in->own_fd = own;
		in->start = pos;
		in->size = st.st_size > pos ? st.st_size - pos : 0;
	} else {
		if (!spool (in, fd, error))
			goto fail;
		if (own)
			close (fd);
	}

	input_make_stream (in);
	return in;

fail:
	if (own)
		close (fd);
	in->fd = -1;
	mp_input_free (in);
	return NULL;
}

MpInput *
mp_input_open (const char *path, GError **error)
{
	MpInput *in = g_new0 (MpInput, 1);
	int fd;

	in->fd = -1;
	if (path == NULL || strcmp (path, "-") == 0) {
		in->name = g_strdup ("stdin");
		return input_from_fd (in, STDIN_FILENO, FALSE, error);
	}
	in->name = g_strdup (path);
	fd = open (path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		mp_error_set_errno (error, MP_ERROR_NO_INPUT, errno, path);
		mp_input_free (in);
		return NULL;
	}
	return input_from_fd (in, fd, TRUE, error);
}

MpInput *
mp_input_open_fd (int fd, const char *name, GError **error)
{
	MpInput *in = g_new0 (MpInput, 1);

	in->fd = -1;
	in->name = g_strdup (name);
	return input_from_fd (in, fd, FALSE, error);
}

void
mp_input_free (MpInput *in)
{
	if (in == NULL)
		return;
	g_clear_object (&in->stream);
	if (in->own_fd && in->fd >= 0)
		close (in->fd);
	g_clear_pointer (&in->bytes, g_bytes_unref);
	g_free (in->name);
	g_free (in);
}

const char *
mp_input_get_name (MpInput *in)
{
	return in->name;
}

gint64
mp_input_get_size (MpInput *in)
{
	return in->size;
}

GMimeStream *
mp_input_get_stream (MpInput *in)
{
	g_mime_stream_reset (in->stream);
	return in->stream;
}

GBytes *
mp_input_get_bytes (MpInput *in)
{
	return in->bytes;
}

GBytes *
mp_input_read_all (MpInput *in, GError **error)
{
	g_autofree char *buf = NULL;
	gsize got = 0;

	if (in->bytes)
		return g_bytes_ref (in->bytes);
	buf = g_malloc ((gsize) in->size + 1);
	while (got < (gsize) in->size) {
		ssize_t n = pread (in->fd, buf + got, (gsize) in->size - got,
				   in->start + (off_t) got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			mp_error_set_errno (error, MP_ERROR_IO,
					    n < 0 ? errno : EIO, in->name);
			return NULL;
		}
		got += (gsize) n;
	}
	return g_bytes_new_take (g_steal_pointer (&buf), got);
}

typedef struct {
	gboolean truncated;
} ParseState;

static void
parser_warning (gint64 offset, GMimeParserWarning errcode, const char *item,
		gpointer user_data)
{
	ParseState *st = user_data;

	if (errcode == GMIME_WARN_TRUNCATED_MESSAGE)
		st->truncated = TRUE;
}

static gboolean
has_multipart (GMimeObject *object)
{
	if (GMIME_IS_MESSAGE (object))
		object = g_mime_message_get_mime_part (GMIME_MESSAGE (object));
	if (object == NULL)
		return FALSE;
	if (GMIME_IS_MULTIPART (object))
		return TRUE;
	if (GMIME_IS_MESSAGE_PART (object))
		return has_multipart (
			GMIME_OBJECT (g_mime_message_part_get_message (
				GMIME_MESSAGE_PART (object))));
	return FALSE;
}

GMimeMessage *
mp_input_parse_message (MpInput *in, GMimeParser **parser_out, GError **error)
{
	gboolean truncated = FALSE;
	GMimeMessage *message = mp_input_parse_message_truncated (
		in, parser_out, &truncated, error);

	/* GMime also says "truncated" of a message that ends inside its
	 * header block; only a multipart missing its closing delimiter is
	 * the sign of a failed stage we refuse */
	if (message && truncated) {
		g_object_unref (message);
		if (parser_out)
			g_clear_object (parser_out);
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: message is truncated (a multipart lacks "
			     "its closing delimiter; did an earlier stage "
			     "fail?)",
			     in->name);
		return NULL;
	}
	return message;
}

GMimeMessage *
mp_input_parse_message_truncated (MpInput *in, GMimeParser **parser_out,
				  gboolean *truncated, GError **error)
{
	g_autoptr (GMimeParser) parser = NULL;
	GMimeParserOptions *options;
	GMimeMessage *message;
	ParseState st = { FALSE };

	if (in->size == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: empty input (did an earlier stage fail?)",
			     in->name);
		return NULL;
	}
	parser = g_mime_parser_new_with_stream (mp_input_get_stream (in));
	g_mime_parser_set_persist_stream (parser, TRUE);
	g_mime_parser_set_format (parser, GMIME_FORMAT_MESSAGE);
	options = g_mime_parser_options_new ();
	g_mime_parser_options_set_warning_callback (options, parser_warning,
						    &st);
	message = g_mime_parser_construct_message (parser, options);
	g_mime_parser_options_free (options);
	if (message == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: not a mail message", in->name);
		return NULL;
	}
	*truncated = st.truncated && has_multipart (GMIME_OBJECT (message));
	if (parser_out)
		*parser_out = g_steal_pointer (&parser);
	return message;
}

/* ---- spool: an input written in pieces ---------------------------- */

struct _MpSpool {
	MpInput *in;
	GByteArray *mem; /* until MP_INPUT_MEMORY_LIMIT */
};

MpSpool *
mp_spool_new (const char *name)
{
	MpSpool *s = g_new0 (MpSpool, 1);

	s->in = g_new0 (MpInput, 1);
	s->in->fd = -1;
	s->in->name = g_strdup (name);
	s->mem = g_byte_array_new ();
	return s;
}

gboolean
mp_spool_write (MpSpool *s, const void *data, gsize len, GError **error)
{
	int errsv = 0;

	if (s->mem && s->mem->len + len <= MP_INPUT_MEMORY_LIMIT) {
		g_byte_array_append (s->mem, data, (guint) len);
		return TRUE;
	}
	if (s->mem) {
		int fd = open_spool_file (error);

		if (fd < 0)
			return FALSE;
		s->in->fd = fd;
		s->in->own_fd = TRUE;
		if (!mp_io_write_all (fd, s->mem->data, s->mem->len, &errsv)) {
			mp_error_set_errno (error, MP_ERROR_IO, errsv,
					    "spool file");
			return FALSE;
		}
		s->in->size = s->mem->len;
		g_clear_pointer (&s->mem, g_byte_array_unref);
	}
	if (!mp_io_write_all (s->in->fd, data, len, &errsv)) {
		mp_error_set_errno (error, MP_ERROR_IO, errsv, "spool file");
		return FALSE;
	}
	s->in->size += (gint64) len;
	return TRUE;
}

MpInput *
mp_spool_finish (MpSpool *s)
{
	MpInput *in = s->in;

	if (s->mem) {
		in->size = s->mem->len;
		in->bytes = g_byte_array_free_to_bytes (s->mem);
	}
	input_make_stream (in);
	g_free (s);
	return in;
}

void
mp_spool_free (MpSpool *s)
{
	if (s == NULL)
		return;
	mp_input_free (s->in);
	if (s->mem)
		g_byte_array_unref (s->mem);
	g_free (s);
}

/* ---- output: a buffered fd stream that remembers its first error ---- */

#define MP_TYPE_SINK (mp_sink_get_type ())
G_DECLARE_FINAL_TYPE (MpSink, mp_sink, MP, SINK, GMimeStream)

#define SINK_BUFSIZE (128 * 1024)

struct _MpSink {
	GMimeStream parent;
	int fd;
	int errsv; /* first write error, 0 when none */
	char *buf;
	gsize used;
	gint64 written;
};

G_DEFINE_TYPE (MpSink, mp_sink, GMIME_TYPE_STREAM)

static gboolean
sink_drain (MpSink *s)
{
	if (s->errsv)
		return FALSE;
	if (s->used && !mp_io_write_all (s->fd, s->buf, s->used, &s->errsv))
		return FALSE;
	s->used = 0;
	return TRUE;
}

static ssize_t
sink_write (GMimeStream *stream, const char *buf, size_t len)
{
	MpSink *s = MP_SINK (stream);

	if (s->errsv)
		goto fail;
	/* a large write (an encoder's output) goes out as it is rather
	 * than through one more copy */
	if (s->used + len > SINK_BUFSIZE || len >= SINK_BUFSIZE / 2) {
		if (!sink_drain (s))
			goto fail;
		if (len >= SINK_BUFSIZE / 2) {
			if (!mp_io_write_all (s->fd, buf, len, &s->errsv))
				goto fail;
			s->written += (gint64) len;
			return (ssize_t) len;
		}
	}
	memcpy (s->buf + s->used, buf, len);
	s->used += len;
	s->written += (gint64) len;
	return (ssize_t) len;
fail:
	errno = s->errsv;
	return -1;
}

static ssize_t
sink_read (GMimeStream *stream, char *buf, size_t len)
{
	errno = EBADF;
	return -1;
}

static int
sink_flush (GMimeStream *stream)
{
	MpSink *s = MP_SINK (stream);

	if (!sink_drain (s)) {
		errno = s->errsv;
		return -1;
	}
	return 0;
}

static int
sink_close (GMimeStream *stream)
{
	return sink_flush (stream);
}

static gboolean
sink_eos (GMimeStream *stream)
{
	return FALSE;
}

static int
sink_reset (GMimeStream *stream)
{
	return -1;
}

static gint64
sink_seek (GMimeStream *stream, gint64 offset, GMimeSeekWhence whence)
{
	return -1;
}

static gint64
sink_tell (GMimeStream *stream)
{
	return MP_SINK (stream)->written;
}

static gint64
sink_length (GMimeStream *stream)
{
	return -1;
}

static GMimeStream *
sink_substream (GMimeStream *stream, gint64 start, gint64 end)
{
	return NULL;
}

static void
mp_sink_finalize (GObject *object)
{
	g_free (MP_SINK (object)->buf);
	G_OBJECT_CLASS (mp_sink_parent_class)->finalize (object);
}

static void
mp_sink_class_init (MpSinkClass *klass)
{
	GMimeStreamClass *sc = GMIME_STREAM_CLASS (klass);

	G_OBJECT_CLASS (klass)->finalize = mp_sink_finalize;
	sc->read = sink_read;
	sc->write = sink_write;
	sc->flush = sink_flush;
	sc->close = sink_close;
	sc->eos = sink_eos;
	sc->reset = sink_reset;
	sc->seek = sink_seek;
	sc->tell = sink_tell;
	sc->length = sink_length;
	sc->substream = sink_substream;
}

static void
mp_sink_init (MpSink *s)
{
	s->buf = g_malloc (SINK_BUFSIZE);
}

struct _MpOutput {
	char *name; /* "stdout" or the path */
	char *path; /* final path, NULL for stdout */
	char *tmp;  /* temporary file beside path */
	MpSink *sink;
	GMimeStream *stream; /* what callers write to: sink or a filter */
	gboolean closed;
};

MpOutput *
mp_output_open (const char *path, gboolean crlf, GError **error)
{
	g_autoptr (MpOutput) out = g_new0 (MpOutput, 1);
	int fd = STDOUT_FILENO;
	struct stat st;
	gboolean exists = path != NULL && stat (path, &st) == 0;

	if (path == NULL || strcmp (path, "-") == 0) {
		out->name = g_strdup ("stdout");
	} else if (exists && !S_ISREG (st.st_mode)) {
		/* a FIFO or a device (/dev/stdout, /dev/null): renaming a
		 * file over it would replace the node, so write to it */
		out->name = g_strdup (path);
		out->path = g_strdup (path);
		fd = open (path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			mp_error_set_errno (error, MP_ERROR_CANT_CREATE, errno,
					    path);
			return NULL;
		}
	} else {
		g_autofree char *dir = g_path_get_dirname (path);
		g_autofree char *base = g_path_get_basename (path);
		g_autofree char *tname = g_strdup_printf (".%s.XXXXXX", base);
		mode_t mask = umask (0);

		umask (mask);
		out->name = g_strdup (path);
		out->path = g_strdup (path);
		out->tmp = g_build_filename (dir, tname, NULL);
		fd = g_mkstemp_full (out->tmp, O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0) {
			g_clear_pointer (&out->tmp, g_free);
			mp_error_set_errno (error, MP_ERROR_CANT_CREATE, errno,
					    path);
			return NULL;
		}
		/* the file gets the mode a plain redirection would give:
		 * an existing file's own, else 0666 less the umask */
		if (fchmod (fd, exists ? st.st_mode & 0777 : 0666 & ~mask) <
		    0) {
			mp_error_set_errno (error, MP_ERROR_CANT_CREATE, errno,
					    path);
			close (fd);
			return NULL;
		}
	}
	out->sink = g_object_new (MP_TYPE_SINK, NULL);
	out->sink->fd = fd;
	if (crlf) {
		GMimeFilter *f = g_mime_filter_unix2dos_new (FALSE);

		out->stream =
			g_mime_stream_filter_new (GMIME_STREAM (out->sink));
		g_mime_stream_filter_add (GMIME_STREAM_FILTER (out->stream), f);
		g_object_unref (f);
	} else {
		out->stream = g_object_ref (GMIME_STREAM (out->sink));
	}
	return g_steal_pointer (&out);
}

GMimeStream *
mp_output_get_stream (MpOutput *out)
{
	return out->stream;
}

static gboolean
output_failed (MpOutput *out, GError **error)
{
	int errsv = out->sink->errsv ? out->sink->errsv : EIO;

	/* the reader has gone (`| head -1`): GLib's own code for it, so that
	 * a tool can exit 74 without a message (mp_cli_fail()) */
	if (errsv == EPIPE) {
		g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_PIPE, "%s: %s",
			     out->name, g_strerror (errsv));
		return FALSE;
	}
	mp_error_set_errno (error, MP_ERROR_IO, errsv, out->name);
	return FALSE;
}

gboolean
mp_output_check (MpOutput *out, gssize rv, GError **error)
{
	if (rv < 0 || out->sink->errsv)
		return output_failed (out, error);
	return TRUE;
}

gboolean
mp_output_write (MpOutput *out, const void *data, gsize len, GError **error)
{
	return mp_output_check (
		out, g_mime_stream_write (out->stream, data, len), error);
}

gboolean
mp_output_copy_stream (MpOutput *out, GMimeStream *stream, gint64 start,
		       gint64 end, GError **error)
{
	g_autofree char *buf = NULL;

	/* a file stream's positions are file offsets: let the kernel copy */
	if (GMIME_IS_STREAM_FS (stream)) {
		if (end < 0)
			end = stream->bound_end;
		return mp_output_copy_fd (out, GMIME_STREAM_FS (stream)->fd,
					  start, end < 0 ? -1 : end - start,
					  "input", error);
	}
	buf = g_malloc (COPY_CHUNK);
	if (g_mime_stream_seek (stream, start, GMIME_STREAM_SEEK_SET) < 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO,
			     "cannot seek in the input");
		return FALSE;
	}
	while (end < 0 || start < end) {
		gsize want = COPY_CHUNK;
		ssize_t n;

		if (end >= 0 && (gint64) want > end - start)
			want = (gsize) (end - start);
		n = g_mime_stream_read (stream, buf, want);
		if (n < 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_IO,
				     "read error in the input");
			return FALSE;
		}
		if (n == 0)
			break;
		if (!mp_output_write (out, buf, (gsize) n, error))
			return FALSE;
		start += n;
	}
	return TRUE;
}

gboolean
mp_output_copy_fd (MpOutput *out, int fd, gint64 offset, gint64 len,
		   const char *in_name, GError **error)
{
	g_autofree char *buf = NULL;
	gboolean direct = GMIME_STREAM (out->sink) == out->stream;

	if (direct && g_mime_stream_flush (out->stream) < 0)
		return output_failed (out, error);

	/* sendfile copies inside the kernel from a file to a file or pipe */
	if (direct && offset >= 0) {
		off_t off = offset;

		while (len != 0) {
			size_t want = len < 0 || len > (1 << 30) ? (1 << 30) :
								   (size_t) len;
			ssize_t n = sendfile (out->sink->fd, fd, &off, want);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EINVAL || errno == ENOSYS))
				break; /* fall back to read/write */
			if (n < 0) {
				out->sink->errsv = errno;
				return output_failed (out, error);
			}
			if (n == 0)
				return TRUE;
			if (len > 0)
				len -= n;
		}
		if (len == 0)
			return TRUE;
		offset = off;
	}

	/* splice moves the data of a pipe inside the kernel too */
	if (direct && offset < 0) {
		while (len != 0) {
			size_t want = len < 0 || len > (1 << 30) ? (1 << 30) :
								   (size_t) len;
			ssize_t n = splice (fd, NULL, out->sink->fd, NULL, want,
					    SPLICE_F_MOVE | SPLICE_F_MORE);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EINVAL || errno == ENOSYS))
				break; /* neither end is a pipe */
			if (n < 0) {
				out->sink->errsv = errno;
				return output_failed (out, error);
			}
			if (n == 0)
				return TRUE;
			if (len > 0)
				len -= n;
		}
		if (len == 0)
			return TRUE;
	}

	buf = g_malloc (COPY_CHUNK);
	while (len != 0) {
		size_t want =
			len < 0 || len > COPY_CHUNK ? COPY_CHUNK : (size_t) len;
		ssize_t n = offset >= 0 ? pread (fd, buf, want, offset) :
					  read (fd, buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mp_error_set_errno (error, MP_ERROR_IO, errno, in_name);
			return FALSE;
		}
		if (n == 0)
			break;
		if (!mp_output_write (out, buf, (gsize) n, error))
			return FALSE;
		if (offset >= 0)
			offset += n;
		if (len > 0)
			len -= n;
	}
	return TRUE;
}

gboolean
mp_output_close (MpOutput *out, GError **error)
{
	int fd = out->sink->fd;

	/* a filter stream's flush does not reach its source: flush both */
	if (g_mime_stream_flush (out->stream) < 0 ||
	    g_mime_stream_flush (GMIME_STREAM (out->sink)) < 0 ||
	    out->sink->errsv)
		return output_failed (out, error);
	if (out->path) {
		if ((out->tmp && fsync (fd) < 0) || close (fd) < 0) {
			out->sink->fd = -1;
			mp_error_set_errno (error, MP_ERROR_IO, errno,
					    out->name);
			return FALSE;
		}
		out->sink->fd = -1;
		if (out->tmp && rename (out->tmp, out->path) < 0) {
			mp_error_set_errno (error, MP_ERROR_CANT_CREATE, errno,
					    out->name);
			return FALSE;
		}
		g_clear_pointer (&out->tmp, g_free);
	}
	out->closed = TRUE;
	return TRUE;
}

void
mp_output_free (MpOutput *out)
{
	if (out == NULL)
		return;
	if (out->sink && out->path && out->sink->fd >= 0)
		close (out->sink->fd);
	if (out->tmp)
		unlink (out->tmp);
	g_clear_object (&out->stream);
	g_clear_object (&out->sink);
	g_free (out->tmp);
	g_free (out->path);
	g_free (out->name);
	g_free (out);
}
