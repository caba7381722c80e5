#include "mp-mbox.h"

#include "mp-error.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define BUF_SIZE (256 * 1024)

struct _MpMboxReader {
	int fd;
	char *name;
	char *buf;
	gsize start, end; /* unread bytes */
	gboolean eof;
	gboolean at_line_start;
	gboolean started; /* the first From line was seen */
	guint count;
};

MpMboxReader *
mp_mbox_reader_new (int fd, const char *name)
{
	MpMboxReader *r = g_new0 (MpMboxReader, 1);

	r->fd = fd;
	r->name = g_strdup (name);
	r->buf = g_malloc (BUF_SIZE);
	r->at_line_start = TRUE;
	return r;
}

void
mp_mbox_reader_free (MpMboxReader *r)
{
	if (r == NULL)
		return;
	g_free (r->name);
	g_free (r->buf);
	g_free (r);
}

guint
mp_mbox_reader_get_count (MpMboxReader *r)
{
	return r->count;
}

/* Reads more, keeping the unread bytes; FALSE on error */
static gboolean
fill (MpMboxReader *r, GError **error)
{
	ssize_t n;

	if (r->start > 0) {
		memmove (r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == BUF_SIZE || r->eof)
		return TRUE;
	n = mp_io_read (r->fd, r->buf + r->end, BUF_SIZE - r->end);
	if (n < 0) {
		mp_error_set_errno (error, MP_ERROR_IO, errno, r->name);
		return FALSE;
	}
	if (n == 0)
		r->eof = TRUE;
	r->end += (gsize) n;
	return TRUE;
}

typedef enum {
	LINE_TEXT,
	LINE_FROM,
	LINE_QUOTED,
	LINE_BLANK
} LineKind;

/* What the line at r->start is, reading more until it can tell. */
static gboolean
classify (MpMboxReader *r, LineKind *kind, GError **error)
{
	for (;;) {
		const char *p = r->buf + r->start;
		gsize avail = r->end - r->start;
		gsize q = 0;

		while (q < avail && p[q] == '>')
			q++;
		/* enough to tell, or nothing more to come */
		if (avail - q >= 5 || memchr (p, '\n', avail) || r->eof ||
		    (r->start == 0 && r->end == BUF_SIZE)) {
			if (avail - q >= 5 && memcmp (p + q, "From ", 5) == 0)
				*kind = q ? LINE_QUOTED : LINE_FROM;
			else if ((avail >= 1 && p[0] == '\n') ||
				 (avail >= 2 && p[0] == '\r' && p[1] == '\n'))
				*kind = LINE_BLANK;
			else
				*kind = LINE_TEXT;
			return TRUE;
		}
		if (!fill (r, error))
			return FALSE;
	}
}

/* Moves the rest of the current line (through its \n) to @spool, or
 * drops it when @spool is NULL. */
static gboolean
pass_line (MpMboxReader *r, MpSpool *spool, GError **error)
{
	for (;;) {
		const char *p = r->buf + r->start;
		gsize avail = r->end - r->start;
		const char *nl = memchr (p, '\n', avail);
		gsize n = nl ? (gsize) (nl - p) + 1 : avail;

		if (spool && n > 0 && !mp_spool_write (spool, p, n, error))
			return FALSE;
		r->start += n;
		if (nl || (r->eof && r->start == r->end))
			return TRUE;
		if (!fill (r, error))
			return FALSE;
	}
}

gboolean
mp_mbox_reader_next (MpMboxReader *r, MpInput **msg, GError **error)
{
	g_autoptr (MpSpool) spool = NULL;
	gboolean blank_held = FALSE; /* a blank line not yet written */

	*msg = NULL;
	if (r->start == r->end && !fill (r, error))
		return FALSE;
	if (r->start == r->end)
		return TRUE; /* the end */
	for (;;) {
		LineKind kind;

		if (r->start == r->end) {
			if (!fill (r, error))
				return FALSE;
			if (r->start == r->end)
				break;
		}
		if (!classify (r, &kind, error))
			return FALSE;
		if (kind == LINE_FROM) {
			if (spool != NULL)
				break; /* the next message */
			if (!pass_line (r, NULL, error))
				return FALSE;
			r->started = TRUE;
			spool = mp_spool_new (r->name);
			continue;
		}
		if (!r->started) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: not an mbox: it does not start "
				     "with a \"From \" line",
				     r->name);
			return FALSE;
		}
		/* RFC 4155: the blank line before a From line separates */
		if (blank_held) {
			if (!mp_spool_write (spool, "\n", 1, error))
				return FALSE;
			blank_held = FALSE;
		}
		if (kind == LINE_BLANK && r->buf[r->start] == '\n') {
			r->start++;
			blank_held = TRUE;
			continue;
		}
		if (kind == LINE_QUOTED)
			r->start++; /* mboxrd: one '>' less */
		if (!pass_line (r, spool, error))
			return FALSE;
	}
	r->count++;
	*msg = mp_spool_finish (g_steal_pointer (&spool));
	return TRUE;
}
