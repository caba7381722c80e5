/* mp-io without GMime: opening and spooling an input, windows onto it,
 * and MpWriter, the output of a command that links no GObject (a static
 * mime-compose, issue 21).  The rest of mp-io (GMime streams over these
 * inputs, parsing, MpOutput) is mp-io.c. */
#include "mp-io.h"
#include "mp-error.h"
#include "mp-io-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

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

gssize
mp_io_read (int fd, void *buf, gsize len)
{
	gssize n;

	do
		n = read (fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

gboolean
mp_io_pread_all (int fd, void *buf, gsize len, gint64 offset, int *errsv)
{
	gsize got = 0;

	while (got < len) {
		ssize_t n = pread (fd, (char *) buf + got, len - got,
				   (off_t) offset + (off_t) got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*errsv = n < 0 ? errno : EIO;
			return FALSE;
		}
		got += (gsize) n;
	}
	return TRUE;
}

int
mp_io_open_spool_file (GError **error)
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

int
mp_io_splice_all (int fd, int out, gint64 *size, int *errsv)
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
	gboolean grown = FALSE;
	gsize used = 0;
	int errsv = 0;
	int out = -1;

	for (;;) {
		gsize room = MP_INPUT_MEMORY_LIMIT - used;
		ssize_t n;

		if (room == 0) {
			if (out < 0) {
				out = mp_io_open_spool_file (error);
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
			/* a big input: a bigger pipe wakes its writer and us
			 * a sixteenth as often (best effort: the limit is
			 * /proc/sys/fs/pipe-max-size) */
			if (!grown) {
				fcntl (fd, F_SETPIPE_SZ, PIPE_SPOOL_SIZE);
				grown = TRUE;
			}
			/* from a pipe the kernel moves the rest to the file */
			n = mp_io_splice_all (fd, out, &in->size, &errsv);
			if (n == 0)
				break;
			if (n < 0) {
				close (out);
				mp_error_set_errno (error, MP_ERROR_IO, errsv,
						    in->name);
				return FALSE;
			}
		}
		n = mp_io_read (fd, buf + used, room);
		if (n < 0) {
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
	in->spooled = TRUE;
	in->start = 0;
	return TRUE;
}

gboolean
mp_io_input_attach (MpInput *in, int fd, gboolean own, GError **error)
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
	return TRUE;

fail:
	if (own)
		close (fd);
	in->fd = -1;
	return FALSE;
}

int
mp_io_input_open_path (MpInput *in, const char *path, gboolean *own,
		       GError **error)
{
	int fd;

	in->fd = -1;
	*own = FALSE;
	if (path == NULL || strcmp (path, "-") == 0) {
		in->name = g_strdup ("stdin");
		return STDIN_FILENO;
	}
	in->name = g_strdup (path);
	*own = TRUE;
	fd = open (path, O_RDONLY | O_CLOEXEC);
	/* with stdin (or stdout, stderr) closed, open() hands out its
	 * number: the file would then be read as the message on stdin */
	if (fd >= 0 && fd <= STDERR_FILENO) {
		int high = fcntl (fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
		int errsv = errno;

		close (fd);
		fd = high;
		errno = errsv;
	}
	if (fd < 0)
		mp_error_set_errno (error, MP_ERROR_NO_INPUT, errno, path);
	return fd;
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

/* ---- a window onto the input ------------------------------------------ */

void
mp_input_window_init (MpInputWindow *w, MpInput *in)
{
	memset (w, 0, sizeof *w);
	w->in = in;
}

static void
window_unmap (MpInputWindow *w)
{
	if (w->map)
		munmap (w->map, w->map_len);
	w->map = NULL;
	w->map_len = 0;
	w->data = NULL;
	w->start = w->end = 0;
}

void
mp_input_window_clear (MpInputWindow *w)
{
	window_unmap (w);
	g_clear_pointer (&w->buf, g_free);
}

const char *
mp_input_window_at (MpInputWindow *w, gint64 pos, gsize need, gsize *avail,
		    GError **error)
{
	MpInput *in = w->in;
	gint64 end = in->start + in->size;
	gint64 at;
	gsize len;
	int errsv;

	if (w->limit > 0 && w->limit < end)
		end = w->limit;
	*avail = 0;
	if (pos < in->start || pos >= end)
		return NULL;
	if (in->bytes) {
		w->data = g_bytes_get_data (in->bytes, NULL);
		w->start = 0;
		w->end = end;
	} else if (!(w->data && pos >= w->start && pos < w->end &&
		     (w->end == end || w->end - pos >= (gint64) need))) {
		window_unmap (w);
		/* our own spool file is mapped: nobody else can shrink it
		 * under the mapping (SIGBUS); a user's file is read */
		if (in->spooled) {
			at = pos & ~(gint64) 4095;
			len = (gsize) MIN ((gint64) MP_INPUT_WINDOW, end - at);
			w->map = mmap (NULL, len, PROT_READ,
				       MAP_SHARED | MAP_POPULATE, in->fd, at);
			if (w->map == MAP_FAILED) {
				w->map = NULL;
			} else {
				w->map_len = len;
				w->data = w->map;
				w->start = at;
				w->end = at + (gint64) len;
			}
		}
		if (w->data == NULL) {
			len = (gsize) MIN ((gint64) MP_INPUT_WINDOW, end - pos);
			if (w->buf == NULL)
				w->buf = g_malloc (
					(gsize) MIN ((gint64) MP_INPUT_WINDOW,
						     end - in->start));
			if (!mp_io_pread_all (in->fd, w->buf, len, pos,
					      &errsv)) {
				mp_error_set_errno (error, MP_ERROR_IO, errsv,
						    in->name);
				return NULL;
			}
			w->data = w->buf;
			w->start = pos;
			w->end = pos + (gint64) len;
		}
	}
	*avail = (gsize) (w->end - pos);
	return w->data + (pos - w->start);
}

int
mp_io_target_open (MpIoTarget *out, const char *path, GError **error)
{
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
			goto fail;
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
			goto fail;
		}
		/* the file gets the mode a plain redirection would give:
		 * an existing file's own, else 0666 less the umask */
		if (fchmod (fd, exists ? st.st_mode & 0777 : 0666 & ~mask) <
		    0) {
			mp_error_set_errno (error, MP_ERROR_CANT_CREATE, errno,
					    path);
			close (fd);
			unlink (out->tmp);
			goto fail;
		}
	}
	return fd;
fail:
	g_clear_pointer (&out->name, g_free);
	g_clear_pointer (&out->path, g_free);
	g_clear_pointer (&out->tmp, g_free);
	return -1;
}

gboolean
mp_io_target_commit (MpIoTarget *t, int *fd, GError **error)
{
	if (t->path == NULL)
		return TRUE;
	if ((t->tmp && fsync (*fd) < 0) || close (*fd) < 0) {
		*fd = -1;
		mp_error_set_errno (error, MP_ERROR_IO, errno, t->name);
		return FALSE;
	}
	*fd = -1;
	if (t->tmp && rename (t->tmp, t->path) < 0) {
		mp_error_set_errno (error, MP_ERROR_CANT_CREATE, errno,
				    t->name);
		return FALSE;
	}
	g_clear_pointer (&t->tmp, g_free);
	return TRUE;
}

gboolean
mp_io_target_fail (MpIoTarget *t, int errsv, GError **error)
{
	if (errsv == 0)
		errsv = EIO;
	if (errsv == EPIPE) {
		g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_PIPE, "%s: %s",
			     t->name, g_strerror (errsv));
		return FALSE;
	}
	mp_error_set_errno (error, MP_ERROR_IO, errsv, t->name);
	return FALSE;
}

void
mp_io_target_clear (MpIoTarget *t, int fd)
{
	if (t->path && fd >= 0)
		close (fd);
	if (t->tmp)
		unlink (t->tmp);
	g_clear_pointer (&t->tmp, g_free);
	g_clear_pointer (&t->path, g_free);
	g_clear_pointer (&t->name, g_free);
}

void
mp_io_buffer_init (MpIoBuffer *b, int fd, gsize size)
{
	b->fd = fd;
	b->errsv = 0;
	b->buf = g_malloc (size);
	b->size = size;
	b->used = 0;
}

gboolean
mp_io_buffer_drain (MpIoBuffer *b)
{
	if (b->errsv)
		return FALSE;
	if (b->used && !mp_io_write_all (b->fd, b->buf, b->used, &b->errsv))
		return FALSE;
	b->used = 0;
	return TRUE;
}

gboolean
mp_io_buffer_put (MpIoBuffer *b, const char *data, gsize len)
{
	/* a large write (an encoder's output) goes out as it is rather
	 * than through one more copy */
	if (b->used + len > b->size || len >= b->size / 2) {
		if (!mp_io_buffer_drain (b))
			return FALSE;
		if (len >= b->size / 2)
			return mp_io_write_all (b->fd, data, len, &b->errsv);
	}
	memcpy (b->buf + b->used, data, len);
	b->used += len;
	return TRUE;
}

void
mp_io_buffer_clear (MpIoBuffer *b)
{
	g_clear_pointer (&b->buf, g_free);
	b->used = 0;
}

MpInput *
mp_input_open_plain (const char *path, GError **error)
{
	MpInput *in = g_new0 (MpInput, 1);
	gboolean own;
	int fd = mp_io_input_open_path (in, path, &own, error);

	if (fd < 0 || !mp_io_input_attach (in, fd, own, error)) {
		mp_input_free_plain (in);
		return NULL;
	}
	return in;
}

MpInput *
mp_input_new_plain_bytes (GBytes *bytes, const char *name)
{
	MpInput *in = g_new0 (MpInput, 1);

	in->fd = -1;
	in->name = g_strdup (name);
	in->bytes = g_bytes_ref (bytes);
	in->size = (gint64) g_bytes_get_size (bytes);
	return in;
}

gint64
mp_input_get_start (MpInput *in)
{
	return in->bytes ? 0 : in->start;
}

gboolean
mp_input_for_each (MpInput *in, gint64 start, gint64 end, MpWriteFunc func,
		   gpointer user_data, GError **error)
{
	MpInputWindow w;
	gboolean ok = TRUE;

	mp_input_window_init (&w, in);
	while (ok && start < end) {
		gsize avail;
		const char *p =
			mp_input_window_at (&w, start, 1, &avail, error);

		if (p == NULL) {
			ok = FALSE;
			break;
		}
		avail = (gsize) MIN ((gint64) avail, end - start);
		ok = func (p, avail, user_data, error);
		start += (gint64) avail;
	}
	mp_input_window_clear (&w);
	return ok;
}

static gboolean
append_bytes (const char *data, gsize len, gpointer user_data, GError **error)
{
	g_byte_array_append (user_data, (const guint8 *) data, (guint) len);
	return TRUE;
}

GBytes *
mp_input_read_plain (MpInput *in, GError **error)
{
	GByteArray *all;
	gint64 start = mp_input_get_start (in);

	if (in->bytes)
		return g_bytes_ref (in->bytes);
	all = g_byte_array_sized_new ((guint) MIN (in->size, G_MAXINT));
	if (!mp_input_for_each (in, start, start + in->size, append_bytes, all,
				error)) {
		g_byte_array_unref (all);
		return NULL;
	}
	return g_byte_array_free_to_bytes (all);
}

gboolean
mp_input_own_fd (MpInput *in, int fd)
{
	if (in->bytes || in->spooled || in->fd != fd)
		return FALSE;
	in->own_fd = TRUE;
	return TRUE;
}

void
mp_input_free_plain (MpInput *in)
{
	if (in == NULL)
		return;
	if (in->own_fd && in->fd >= 0)
		close (in->fd);
	g_clear_pointer (&in->bytes, g_bytes_unref);
	g_free (in->name);
	g_free (in);
}

#define WRITER_BUFSIZE (64 * 1024) /* under malloc's mmap threshold */

struct _MpWriter {
	MpIoTarget target;
	MpIoBuffer out;
	gboolean crlf;
	char prev; /* the last byte written, for CRLF */
	gboolean closed;
};

MpWriter *
mp_writer_open (const char *path, gboolean crlf, GError **error)
{
	MpWriter *w = g_new0 (MpWriter, 1);

	int fd = mp_io_target_open (&w->target, path, error);

	if (fd < 0) {
		g_free (w);
		return NULL;
	}
	mp_io_buffer_init (&w->out, fd, WRITER_BUFSIZE);
	w->crlf = crlf;
	return w;
}

static gboolean
writer_failed (MpWriter *w, GError **error)
{
	return mp_io_target_fail (&w->target, w->out.errsv, error);
}

gboolean
mp_writer_write (MpWriter *w, const void *data, gsize len, GError **error)
{
	const char *p = data, *end = p + len;

	if (w->out.errsv)
		return writer_failed (w, error);
	if (len == 0)
		return TRUE;
	if (!w->crlf) {
		if (!mp_io_buffer_put (&w->out, p, len))
			return writer_failed (w, error);
		return TRUE;
	}
	while (p < end) {
		const char *nl = memchr (p, '\n', (gsize) (end - p));
		const char *stop = nl ? nl : end;
		char before = stop > p ? stop[-1] : w->prev;

		if (stop > p &&
		    !mp_io_buffer_put (&w->out, p, (gsize) (stop - p)))
			return writer_failed (w, error);
		if (nl == NULL)
			break;
		if (!mp_io_buffer_put (&w->out, before == '\r' ? "\n" : "\r\n",
				       before == '\r' ? 1 : 2))
			return writer_failed (w, error);
		p = nl + 1;
	}
	w->prev = end[-1];
	return TRUE;
}

static gboolean
write_piece (const char *data, gsize len, gpointer user_data, GError **error)
{
	return mp_writer_write (user_data, data, len, error);
}

gboolean
mp_writer_copy_input (MpWriter *w, MpInput *in, gint64 start, gint64 end,
		      GError **error)
{
	if (start >= end)
		return TRUE;
	/* a file to a file or pipe: the kernel copies */
	if (!w->crlf && in->bytes == NULL && !in->spooled) {
		off_t off = start;
		gint64 len = end - start;

		if (!mp_io_buffer_drain (&w->out))
			return writer_failed (w, error);
		while (len > 0) {
			ssize_t n = sendfile (w->out.fd, in->fd, &off,
					      (size_t) MIN (len, 1 << 30));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			len -= n;
		}
		if (len == 0)
			return TRUE;
		start = off;
	}
	return mp_input_for_each (in, start, end, write_piece, w, error);
}

gboolean
mp_writer_close (MpWriter *w, GError **error)
{
	if (!mp_io_buffer_drain (&w->out))
		return writer_failed (w, error);
	if (!mp_io_target_commit (&w->target, &w->out.fd, error))
		return FALSE;
	w->closed = TRUE;
	return TRUE;
}

void
mp_writer_free (MpWriter *w)
{
	if (w == NULL)
		return;
	mp_io_target_clear (&w->target, w->out.fd);
	mp_io_buffer_clear (&w->out);
	g_free (w);
}
