#include "mp-io.h"
#include "mp-io-private.h"
#include "mp-error.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (256 * 1024)

/* ---- input ---------------------------------------------------------- */

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
	if (!mp_io_input_attach (in, fd, own, error)) {
		mp_input_free (in);
		return NULL;
	}
	input_make_stream (in);
	return in;
}

MpInput *
mp_input_open (const char *path, GError **error)
{
	MpInput *in = g_new0 (MpInput, 1);
	gboolean own;
	int fd = mp_io_input_open_path (in, path, &own, error);

	if (fd < 0) {
		mp_input_free (in);
		return NULL;
	}
	return input_from_fd (in, fd, own, error);
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
	g_clear_object (&in->window_stream);
	if (in->own_fd && in->fd >= 0)
		close (in->fd);
	g_clear_pointer (&in->bytes, g_bytes_unref);
	g_free (in->name);
	g_free (in);
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
	int errsv;

	if (in->bytes)
		return g_bytes_ref (in->bytes);
	buf = g_malloc ((gsize) in->size + 1);
	if (!mp_io_pread_all (in->fd, buf, (gsize) in->size, in->start,
			      &errsv)) {
		mp_error_set_errno (error, MP_ERROR_IO, errsv, in->name);
		return NULL;
	}
	return g_bytes_new_take (g_steal_pointer (&buf), (gsize) in->size);
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

static GMimeMessage *
parse_stream (MpInput *in, GMimeStream *stream, GMimeParser **parser_out,
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
	g_mime_stream_reset (stream);
	parser = g_mime_parser_new_with_stream (stream);
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

GMimeMessage *
mp_input_parse_message_truncated (MpInput *in, GMimeParser **parser_out,
				  gboolean *truncated, GError **error)
{
	return parse_stream (in, mp_input_get_stream (in), parser_out,
			     truncated, error);
}

/* parse_stream(), and a multipart missing its closing delimiter refused:
 * GMime also says "truncated" of a message that ends inside its header
 * block; only a multipart cut short is the sign of a failed stage. */
static GMimeMessage *
parse_whole (MpInput *in, GMimeStream *stream, GMimeParser **parser_out,
	     GError **error)
{
	gboolean truncated = FALSE;
	GMimeMessage *message =
		parse_stream (in, stream, parser_out, &truncated, error);

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
mp_input_parse_message (MpInput *in, GMimeParser **parser_out, GError **error)
{
	return parse_whole (in, mp_input_get_stream (in), parser_out, error);
}

GMimeMessage *
mp_input_parse_stream (MpInput *in, GMimeStream *stream, GError **error)
{
	return parse_whole (in, stream, NULL, error);
}

/* A GMimeStream over a window: what mp-tree and GMime's parser read
 * through, a copy from memory per read and no system call per seek. */
#define MP_TYPE_WIN_STREAM (mp_win_stream_get_type ())
G_DECLARE_FINAL_TYPE (MpWinStream, mp_win_stream, MP, WIN_STREAM, GMimeStream)

struct _MpWinStream {
	GMimeStream parent;
	MpInputWindow win;
};

G_DEFINE_TYPE (MpWinStream, mp_win_stream, GMIME_TYPE_STREAM)

static GMimeStream *
win_stream_new (MpInput *in, gint64 start, gint64 end)
{
	MpWinStream *ws = g_object_new (MP_TYPE_WIN_STREAM, NULL);

	mp_input_window_init (&ws->win, in);
	ws->win.limit = end;
	g_mime_stream_construct (GMIME_STREAM (ws), start, end);
	return GMIME_STREAM (ws);
}

static ssize_t
win_read (GMimeStream *stream, char *buf, size_t len)
{
	MpWinStream *ws = MP_WIN_STREAM (stream);
	const char *p;
	gsize avail;

	if (stream->position >= stream->bound_end)
		return 0;
	p = mp_input_window_at (&ws->win, stream->position, 1, &avail, NULL);
	if (p == NULL) {
		errno = EIO;
		return -1;
	}
	len = MIN (len, avail);
	len = (size_t) MIN ((gint64) len, stream->bound_end - stream->position);
	memcpy (buf, p, len);
	stream->position += (gint64) len;
	/* read to its end (a piece of a GMimeStreamCat): the window goes,
	 * so that many pieces do not hold one each */
	if (stream->position >= stream->bound_end)
		mp_input_window_clear (&ws->win);
	return (ssize_t) len;
}

static ssize_t
win_write (GMimeStream *stream, const char *buf, size_t len)
{
	errno = EBADF;
	return -1;
}

static int
win_flush (GMimeStream *stream)
{
	return 0;
}

static int
win_close (GMimeStream *stream)
{
	mp_input_window_clear (&MP_WIN_STREAM (stream)->win);
	return 0;
}

static gboolean
win_eos (GMimeStream *stream)
{
	return stream->position >= stream->bound_end;
}

static int
win_reset (GMimeStream *stream)
{
	stream->position = stream->bound_start;
	return 0;
}

static gint64
win_seek (GMimeStream *stream, gint64 offset, GMimeSeekWhence whence)
{
	gint64 real;

	switch (whence) {
	case GMIME_STREAM_SEEK_SET:
		real = offset;
		break;
	case GMIME_STREAM_SEEK_CUR:
		real = stream->position + offset;
		break;
	case GMIME_STREAM_SEEK_END:
		real = stream->bound_end + offset;
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	if (real < stream->bound_start || real > stream->bound_end) {
		errno = EINVAL;
		return -1;
	}
	stream->position = real;
	return real;
}

static gint64
win_tell (GMimeStream *stream)
{
	return stream->position;
}

static gint64
win_length (GMimeStream *stream)
{
	return stream->bound_end - stream->bound_start;
}

static GMimeStream *
win_substream (GMimeStream *stream, gint64 start, gint64 end)
{
	return win_stream_new (MP_WIN_STREAM (stream)->win.in, start,
			       end < 0 ? stream->bound_end : end);
}

static void
mp_win_stream_finalize (GObject *object)
{
	mp_input_window_clear (&MP_WIN_STREAM (object)->win);
	G_OBJECT_CLASS (mp_win_stream_parent_class)->finalize (object);
}

static void
mp_win_stream_class_init (MpWinStreamClass *klass)
{
	GMimeStreamClass *sc = GMIME_STREAM_CLASS (klass);

	G_OBJECT_CLASS (klass)->finalize = mp_win_stream_finalize;
	sc->read = win_read;
	sc->write = win_write;
	sc->flush = win_flush;
	sc->close = win_close;
	sc->eos = win_eos;
	sc->reset = win_reset;
	sc->seek = win_seek;
	sc->tell = win_tell;
	sc->length = win_length;
	sc->substream = win_substream;
}

static void
mp_win_stream_init (MpWinStream *ws)
{
}

GMimeStream *
mp_input_get_window_stream (MpInput *in)
{
	if (in->window_stream == NULL)
		in->window_stream =
			win_stream_new (in, in->bytes ? 0 : in->start,
					(in->bytes ? 0 : in->start) + in->size);
	g_mime_stream_reset (in->window_stream);
	return in->window_stream;
}

/* ---- a file below a folder ------------------------------------------ */

/* one component at a time: see mp-io.h */
int
mp_io_open_below (int dirfd, const char *rel, const char *shown,
		  const char *link_hint, GError **error)
{
	g_auto (GStrv) parts = g_strsplit (rel, "/", -1);
	int fd = dirfd;
	guint i;
	struct stat st;

	if (parts[0] == NULL) { /* "." names the folder itself */
		g_set_error (error, MP_ERROR, MP_ERROR_NO_INPUT,
			     "%s: not a regular file", shown);
		return -1;
	}

	for (i = 0; parts[i]; i++) {
		gboolean last = parts[i + 1] == NULL;
		int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
			    (last ? O_NONBLOCK : O_DIRECTORY);
		int next = openat (fd, parts[i], flags);
		int errsv = errno;

		if (fd != dirfd)
			close (fd);
		if (next < 0) {
			if (errsv == ELOOP ||
			    (errsv == ENOTDIR &&
			     fstatat (dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) ==
				     0)) {
				g_set_error (error, MP_ERROR, MP_ERROR_DATA,
					     "%s: a symbolic link; %s", shown,
					     link_hint);
				return -1;
			}
			mp_error_set_errno (error, MP_ERROR_NO_INPUT, errsv,
					    shown);
			return -1;
		}
		fd = next;
	}
	if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode)) {
		close (fd);
		g_set_error (error, MP_ERROR, MP_ERROR_NO_INPUT,
			     "%s: not a regular file", shown);
		return -1;
	}
	fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
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
		int fd = mp_io_open_spool_file (error);

		if (fd < 0)
			return FALSE;
		s->in->fd = fd;
		s->in->own_fd = TRUE;
		s->in->spooled = TRUE;
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
	MpIoBuffer out;
	gint64 written;
};

G_DEFINE_TYPE (MpSink, mp_sink, GMIME_TYPE_STREAM)

static ssize_t
sink_write (GMimeStream *stream, const char *buf, size_t len)
{
	MpSink *s = MP_SINK (stream);

	if (s->out.errsv || !mp_io_buffer_put (&s->out, buf, len)) {
		errno = s->out.errsv;
		return -1;
	}
	s->written += (gint64) len;
	return (ssize_t) len;
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

	if (!mp_io_buffer_drain (&s->out)) {
		errno = s->out.errsv;
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
	mp_io_buffer_clear (&MP_SINK (object)->out);
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
	mp_io_buffer_init (&s->out, -1, SINK_BUFSIZE);
}

struct _MpOutput {
	MpIoTarget target;
	MpSink *sink;
	GMimeStream *stream; /* what callers write to: sink or a filter */
	gboolean closed;
};

MpOutput *
mp_output_open (const char *path, gboolean crlf, GError **error)
{
	g_autoptr (MpOutput) out = g_new0 (MpOutput, 1);
	int fd = mp_io_target_open (&out->target, path, error);

	if (fd < 0)
		return NULL;
	out->sink = g_object_new (MP_TYPE_SINK, NULL);
	out->sink->out.fd = fd;
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
	return mp_io_target_fail (&out->target, out->sink->out.errsv, error);
}

gboolean
mp_output_check (MpOutput *out, gssize rv, GError **error)
{
	if (rv < 0 || out->sink->out.errsv)
		return output_failed (out, error);
	return TRUE;
}

gboolean
mp_output_write (MpOutput *out, const void *data, gsize len, GError **error)
{
	return mp_output_check (
		out, g_mime_stream_write (out->stream, data, len), error);
}

gssize
mp_io_stream_read (GMimeStream *stream, char *buf, gsize len)
{
	gssize n;

	if (g_mime_stream_eos (stream))
		return 0;
	n = g_mime_stream_read (stream, buf, len);
	if (n < 0 && g_mime_stream_eos (stream))
		return 0;
	return n;
}

gboolean
mp_output_copy_stream (MpOutput *out, GMimeStream *stream, gint64 start,
		       gint64 end, GError **error)
{
	g_autofree char *buf = NULL;

	/* a window stream's positions are file offsets too, or offsets
	 * into the bytes held in memory */
	if (MP_IS_WIN_STREAM (stream)) {
		MpInput *in = MP_WIN_STREAM (stream)->win.in;

		if (end < 0 || end > stream->bound_end)
			end = stream->bound_end;
		if (start >= end)
			return TRUE;
		if (in->bytes)
			return mp_output_write (
				out,
				(const char *) g_bytes_get_data (in->bytes,
								 NULL) +
					start,
				(gsize) (end - start), error);
		return mp_output_copy_fd (out, in->fd, start, end - start,
					  "input", error);
	}
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
		n = mp_io_stream_read (stream, buf, want);
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

typedef enum {
	KERNEL_DONE,
	KERNEL_FALLBACK,
	KERNEL_FAILED
} KernelCopy;

/* Copies @fd to the sink inside the kernel: with sendfile(2) from *@off
 * when @off is given (a file to a file or pipe), else with splice(2) (a
 * pipe at one end).  *@len bytes, or all when -1; what is left stays in
 * *@len.  KERNEL_FALLBACK: the kernel cannot, copy by read/write. */
static KernelCopy
kernel_copy (MpOutput *out, int fd, off_t *off, gint64 *len)
{
	while (*len != 0) {
		size_t want = *len < 0 || *len > (1 << 30) ? (1 << 30) :
							     (size_t) *len;
		ssize_t n = off ? sendfile (out->sink->out.fd, fd, off, want) :
				  splice (fd, NULL, out->sink->out.fd, NULL,
					  want, SPLICE_F_MOVE | SPLICE_F_MORE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EINVAL || errno == ENOSYS))
			return KERNEL_FALLBACK;
		if (n < 0) {
			out->sink->out.errsv = errno;
			return KERNEL_FAILED;
		}
		if (n == 0)
			return KERNEL_DONE;
		if (*len > 0)
			*len -= n;
	}
	return KERNEL_DONE;
}

gboolean
mp_output_copy_fd (MpOutput *out, int fd, gint64 offset, gint64 len,
		   const char *in_name, GError **error)
{
	g_autofree char *buf = NULL;
	gboolean direct = GMIME_STREAM (out->sink) == out->stream;
	KernelCopy k = KERNEL_FALLBACK;

	if (direct && g_mime_stream_flush (out->stream) < 0)
		return output_failed (out, error);

	/* sendfile copies inside the kernel from a file to a file or pipe;
	 * splice moves the data of a pipe inside the kernel too */
	if (direct && offset >= 0) {
		off_t off = offset;

		k = kernel_copy (out, fd, &off, &len);
		offset = off;
	} else if (direct) {
		k = kernel_copy (out, fd, NULL, &len);
	}
	if (k == KERNEL_FAILED)
		return output_failed (out, error);
	if (k == KERNEL_DONE)
		return TRUE;

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
	/* a filter stream's flush does not reach its source: flush both */
	if (g_mime_stream_flush (out->stream) < 0 ||
	    g_mime_stream_flush (GMIME_STREAM (out->sink)) < 0 ||
	    out->sink->out.errsv)
		return output_failed (out, error);
	if (!mp_io_target_commit (&out->target, &out->sink->out.fd, error))
		return FALSE;
	out->closed = TRUE;
	return TRUE;
}

void
mp_output_free (MpOutput *out)
{
	if (out == NULL)
		return;
	mp_io_target_clear (&out->target, out->sink ? out->sink->out.fd : -1);
	g_clear_object (&out->stream);
	g_clear_object (&out->sink);
	g_free (out);
}
