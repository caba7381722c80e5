#include "mp-headers.h"
#include "mp-address.h"
#include "mp-error.h"
#include "mp-field.h"
#include "mp-rfc2047.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK (64 * 1024)

typedef struct {
	gsize start, end; /* original bytes [start, end) in buf */
	char *text;       /* a field written anew (own line endings), or NULL */
	char *name;       /* field name, NULL for a line that is not a field */
	gsize colon;      /* offset of the colon from the entry's start */
	gboolean deleted;
} Entry;

struct _MpHeaders {
	char *name;
	GByteArray *buf;    /* the block, the separator, then what was read */
	GPtrArray *entries; /* Entry* */
	gsize line_start;   /* scanner: start of the line being looked at */
	gsize search;       /* scanner: where to look for its '\n' */
	gsize block_end;    /* end of the last entry */
	const char *eol;
	gboolean eol_known; /* taken from a field line */
	gboolean complete;
	gboolean unterminated; /* input ended in the block without a newline */
	gboolean separator;    /* an empty line ends the block */
	gboolean too_many;     /* more than MP_HEADERS_MAX_FIELDS fields */
	guint n_fields;
	guint n_lines;
	int fd; /* what follows buf, or -1 */
	gboolean fd_eof;
	gint64 fd_offset; /* offset in fd after buf when seekable, else -1 */
};

static void
entry_free (gpointer p)
{
	Entry *e = p;

	g_free (e->text);
	g_free (e->name);
	g_free (e);
}

MpHeaders *
mp_headers_new (const char *name)
{
	MpHeaders *h = g_new0 (MpHeaders, 1);

	h->name = g_strdup (name ? name : "stdin");
	h->buf = g_byte_array_new ();
	h->entries = g_ptr_array_new_with_free_func (entry_free);
	h->eol = "\n";
	h->fd = -1;
	h->fd_offset = -1;
	return h;
}

void
mp_headers_free (MpHeaders *h)
{
	if (h == NULL)
		return;
	g_byte_array_unref (h->buf);
	g_ptr_array_unref (h->entries);
	g_free (h->name);
	g_free (h);
}

/* ---- reading the block ---------------------------------------------- */

static gboolean
starts_with (const guint8 *p, gsize len, const char *prefix)
{
	gsize n = strlen (prefix);

	return len >= n && memcmp (p, prefix, n) == 0;
}

/* The length of the field name when the line starts a field: printable
 * ASCII but the colon (RFC 5322 2.2), blanks allowed before the colon as
 * the obsolete syntax has it (4.5.8); *colon receives the colon's offset.
 * -1 if the line starts no field. */
static gssize
field_name_length (const guint8 *p, gsize len, gsize *colon)
{
	gsize i, n;

	for (i = 0; i < len && p[i] >= 33 && p[i] <= 126 && p[i] != ':'; i++)
		;
	n = i;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i == len || p[i] != ':')
		return -1;
	*colon = i;
	return (gssize) n;
}

static Entry *
add_entry (MpHeaders *h, gsize start, gsize end)
{
	Entry *e = g_new0 (Entry, 1);

	e->start = start;
	e->end = end;
	g_ptr_array_add (h->entries, e);
	return e;
}

static void
end_block (MpHeaders *h, gsize at)
{
	h->block_end = at;
	h->complete = TRUE;
}

/* Looks at the line [ls, le) (le past its '\n', or the end of the input
 * when @terminated is FALSE) and decides what it is. */
static void
classify_line (MpHeaders *h, gsize ls, gsize le, gboolean terminated)
{
	const guint8 *p = h->buf->data + ls;
	gsize len = le - ls, content = len, colon = 0;
	gssize namelen;

	if (terminated) {
		content--;
		if (content > 0 && p[content - 1] == '\r')
			content--;
	}
	namelen = field_name_length (p, content, &colon);
	/* new fields end like the first field (an mbox line before it may
	 * end otherwise), else like the first line */
	if (terminated && !h->eol_known && (namelen > 0 || h->n_lines == 0)) {
		h->eol = content + 2 == len ? "\r\n" : "\n";
		h->eol_known = namelen > 0;
	}
	if (h->n_lines++ == 0 && namelen < 0 && starts_with (p, len, "From ")) {
		add_entry (h, ls, le); /* mbox envelope line */
	} else if (content == 0 && terminated) {
		h->separator = TRUE;
		end_block (h, ls);
		return;
	} else if (p[0] == ' ' || p[0] == '\t') {
		/* a continuation line; a stray one becomes its own entry */
		if (h->entries->len > 0)
			((Entry *) g_ptr_array_index (h->entries,
						      h->entries->len - 1))
				->end = le;
		else
			add_entry (h, ls, le);
	} else if (namelen == 0) {
		add_entry (h, ls, le); /* no name: no field (as Python) */
	} else if (namelen > 0) {
		Entry *e;

		if (h->n_fields >= MP_HEADERS_MAX_FIELDS) {
			h->too_many = TRUE;
			end_block (h, ls);
			return;
		}
		e = add_entry (h, ls, le);

		e->name = g_strndup ((const char *) p, (gsize) namelen);
		e->colon = colon;
		h->n_fields++;
	} else if (starts_with (p, len, "From ")) {
		add_entry (h, ls, le); /* misplaced envelope line */
	} else {
		/* the body starts without an empty line before it */
		end_block (h, ls);
		return;
	}
	if (!terminated) {
		h->unterminated = TRUE;
		end_block (h, le);
	}
}

static gboolean
too_many_fields (MpHeaders *h, GError **error)
{
	g_set_error (error, MP_ERROR, MP_ERROR_DATA,
		     "%s: more than %d header fields: not a message", h->name,
		     MP_HEADERS_MAX_FIELDS);
	return FALSE;
}

static gboolean
scan (MpHeaders *h, gboolean eof, GError **error)
{
	while (!h->complete) {
		const guint8 *base = h->buf->data;
		gsize len = h->buf->len;
		const guint8 *nl = NULL;

		if (h->search < len)
			nl = memchr (base + h->search, '\n', len - h->search);
		if (nl != NULL) {
			gsize le = (gsize) (nl - base) + 1;

			classify_line (h, h->line_start, le, TRUE);
			if (h->too_many)
				return too_many_fields (h, error);
			h->line_start = h->search = le;
			continue;
		}
		h->search = len;
		if (!eof) {
			if (len > MP_HEADERS_MAX_BLOCK) {
				g_set_error (error, MP_ERROR, MP_ERROR_DATA,
					     "%s: header block larger than "
					     "%d MiB: not a message",
					     h->name,
					     MP_HEADERS_MAX_BLOCK >> 20);
				return FALSE;
			}
			return TRUE;
		}
		if (h->line_start < len) {
			classify_line (h, h->line_start, len, FALSE);
			if (h->too_many)
				return too_many_fields (h, error);
		} else {
			end_block (h, len);
		}
	}
	return TRUE;
}

gboolean
mp_headers_feed (MpHeaders *h, const char *data, gsize len, GError **error)
{
	g_byte_array_append (h->buf, (const guint8 *) data, (guint) len);
	return scan (h, FALSE, error);
}

/* A CR not followed by LF in the header block ends a line for some
 * readers (Python's email) and not for others (GMime, us): a field hidden
 * behind it ("Subject: x\rBcc: y") would escape --delete and reappear
 * once smtp-send canonicalises line endings.  Refuse the ambiguity. */
static gboolean
check_bare_cr (MpHeaders *h, GError **error)
{
	const guint8 *p = h->buf->data, *end = p + h->block_end, *cr;
	guint line = 1;

	for (cr = p; (cr = memchr (cr, '\r', (gsize) (end - cr))) != NULL;
	     cr++) {
		if (cr + 1 < h->buf->data + h->buf->len && cr[1] == '\n')
			continue;
		for (; p < cr; p++)
			line += *p == '\n';
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: header line %u: CR without LF (ambiguous "
			     "line ending)",
			     h->name, line);
		return FALSE;
	}
	return TRUE;
}

/* A block that has fields (or ends with an empty line) and no bare CR. */
static gboolean
check_block (MpHeaders *h, GError **error)
{
	if (h->n_fields == 0 && !h->separator) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: not a message: no header fields", h->name);
		return FALSE;
	}
	return check_bare_cr (h, error);
}

gboolean
mp_headers_finish (MpHeaders *h, GError **error)
{
	if (h->buf->len == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: empty input (did an earlier stage fail?)",
			     h->name);
		return FALSE;
	}
	if (!scan (h, TRUE, error))
		return FALSE;
	return check_block (h, error);
}

gboolean
mp_headers_is_complete (MpHeaders *h)
{
	return h->complete;
}

MpHeaders *
mp_headers_parse (const char *data, gsize len, GError **error)
{
	g_autoptr (MpHeaders) h = mp_headers_new (NULL);

	if (!mp_headers_feed (h, data, len, error) ||
	    !mp_headers_finish (h, error))
		return NULL;
	return g_steal_pointer (&h);
}

MpHeaders *
mp_headers_read_fd (int fd, const char *name, GError **error)
{
	g_autoptr (MpHeaders) h = mp_headers_new (name);
	struct stat st;

	if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode))
		h->fd_offset = lseek (fd, 0, SEEK_CUR);
	h->fd = fd;
	while (!h->complete) {
		guint old = h->buf->len;
		ssize_t n;

		g_byte_array_set_size (h->buf, old + READ_CHUNK);
		n = mp_io_read (fd, h->buf->data + old, READ_CHUNK);
		if (n < 0) {
			int errsv = errno;

			g_byte_array_set_size (h->buf, old);
			mp_error_set_errno (error, MP_ERROR_IO, errsv, h->name);
			return NULL;
		}
		g_byte_array_set_size (h->buf, old + (guint) n);
		if (h->fd_offset >= 0)
			h->fd_offset += n;
		if (n == 0) {
			h->fd_eof = TRUE;
			if (!mp_headers_finish (h, error))
				return NULL;
			break;
		}
		if (!scan (h, FALSE, error))
			return NULL;
	}
	if (!check_block (h, error))
		return NULL;
	return g_steal_pointer (&h);
}

/* ---- entries -------------------------------------------------------- */

const char *
mp_headers_get_eol (MpHeaders *h)
{
	return h->eol;
}

guint
mp_headers_get_n_entries (MpHeaders *h)
{
	return h->entries->len;
}

static Entry *
entry (MpHeaders *h, guint i)
{
	g_assert (i < h->entries->len); /* a programming error */
	return g_ptr_array_index (h->entries, i);
}

const char *
mp_headers_get_bytes (MpHeaders *h, guint i, gsize *len)
{
	Entry *e = entry (h, i);

	if (e->text) {
		*len = strlen (e->text);
		return e->text;
	}
	*len = e->end - e->start;
	return (const char *) h->buf->data + e->start;
}

const char *
mp_headers_get_name (MpHeaders *h, guint i)
{
	return entry (h, i)->name;
}

/* The bytes after the colon, still folded. */
static const char *
value_bytes (MpHeaders *h, guint i, gsize *len)
{
	Entry *e = entry (h, i);
	gsize n;
	const char *p = mp_headers_get_bytes (h, i, &n);

	*len = n - e->colon - 1;
	return p + e->colon + 1;
}

char *
mp_headers_get_raw_value (MpHeaders *h, guint i)
{
	const char *p, *end;
	gsize len;
	GString *s;

	if (entry (h, i)->name == NULL)
		return NULL;
	p = value_bytes (h, i, &len);
	end = p + len;
	s = g_string_sized_new (len);
	/* blanks after the colon go; those after a line break stay, as
	 * Python's email has it */
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (; p < end; p++)
		if (*p != '\r' && *p != '\n')
			g_string_append_c (s, *p);
	return g_string_free (s, FALSE);
}

char *
mp_headers_get_value (MpHeaders *h, guint i)
{
	const char *p;
	gsize len;

	if (entry (h, i)->name == NULL)
		return NULL;
	p = value_bytes (h, i, &len);
	if (mp_field_is_address (entry (h, i)->name))
		return mp_address_decode_list (p, (gssize) len);
	return mp_rfc2047_decode_text (p, (gssize) len);
}

/* ---- editing -------------------------------------------------------- */

/* A field from mp_field_format() ("Name: value\n", folded with "\n"),
 * with the block's line endings. */
static Entry *
new_entry (MpHeaders *h, const char *name, const char *value, GError **error)
{
	g_autofree char *field = NULL;
	Entry *e;

	if (!mp_field_check_name (name, error) ||
	    !mp_field_check_value (name, value, -1, error))
		return NULL;
	field = mp_field_format (name, value, error);
	if (field == NULL)
		return NULL;
	e = g_new0 (Entry, 1);
	e->name = g_strdup (name);
	e->colon = strlen (name);
	if (strcmp (h->eol, "\n") == 0) {
		e->text = g_steal_pointer (&field);
	} else {
		g_auto (GStrv) lines = g_strsplit (field, "\n", -1);

		e->text = g_strjoinv (h->eol, lines);
	}
	return e;
}

static gboolean
name_is (Entry *e, const char *name)
{
	return e->name && g_ascii_strcasecmp (e->name, name) == 0;
}

/* The index of the first field named @name, or -1. */
static int
find_field (MpHeaders *h, const char *name)
{
	for (guint i = 0; i < h->entries->len; i++) {
		Entry *e = g_ptr_array_index (h->entries, i);

		if (!e->deleted && name_is (e, name))
			return (int) i;
	}
	return -1;
}

gboolean
mp_headers_add (MpHeaders *h, const char *name, const char *value,
		GError **error)
{
	Entry *e;

	if (mp_field_is_single (name) && find_field (h, name) >= 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: the message has one already, and may have "
			     "only one (RFC 5322 3.6; replace it with --set)",
			     name);
		return FALSE;
	}
	e = new_entry (h, name, value, error);
	if (e == NULL)
		return FALSE;
	g_ptr_array_add (h->entries, e);
	return TRUE;
}

/* A new Content-Type for a message whose Content-Type is multipart must
 * keep its boundary, or the body's parts are lost to every reader:
 * returns the value to write (the boundary added when @value gives
 * none), or NULL with @error set. */
static char *
keep_boundary (MpHeaders *h, const char *value, GError **error)
{
	int i = find_field (h, "Content-Type");
	g_autofree char *raw = NULL;
	g_autoptr (GMimeContentType) old = NULL;
	g_autoptr (GMimeContentType) new = NULL;
	const char *boundary, *given;

	if (i < 0)
		return g_strdup (value);
	raw = mp_headers_get_raw_value (h, (guint) i);
	old = g_mime_content_type_parse (NULL, raw);
	boundary = old ? g_mime_content_type_get_parameter (old, "boundary") :
			 NULL;
	if (old == NULL ||
	    !g_mime_content_type_is_type (old, "multipart", "*") ||
	    boundary == NULL)
		return g_strdup (value);
	new = g_mime_content_type_parse (NULL, value);
	if (new == NULL ||
	    !g_mime_content_type_is_type (new, "multipart", "*")) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "Content-Type: the message is %s/%s: a type that "
			     "is not multipart would hide its parts",
			     g_mime_content_type_get_media_type (old),
			     g_mime_content_type_get_media_subtype (old));
		return NULL;
	}
	given = g_mime_content_type_get_parameter (new, "boundary");
	if (given == NULL)
		return g_strdup_printf ("%s; boundary=\"%s\"", value, boundary);
	if (strcmp (given, boundary) != 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "Content-Type: the body's boundary is \"%s\", "
			     "not \"%s\" (leave the boundary out to keep it)",
			     boundary, given);
		return NULL;
	}
	return g_strdup (value);
}

/* Drops the deleted entries in one pass: linear even for a block of
 * 100,000 fields. */
static void
compact (MpHeaders *h)
{
	guint i, kept = 0;

	for (i = 0; i < h->entries->len; i++) {
		Entry *e = g_ptr_array_index (h->entries, i);

		if (e->deleted)
			entry_free (e);
		else
			h->entries->pdata[kept++] = e;
	}
	h->entries->len = kept;
}

gboolean
mp_headers_set (MpHeaders *h, const char *name, const char *value,
		GError **error)
{
	g_autofree char *kept = NULL;
	gboolean replaced = FALSE;
	Entry *e;
	guint i;

	if (g_ascii_strcasecmp (name, "Content-Type") == 0) {
		kept = keep_boundary (h, value, error);
		if (kept == NULL)
			return FALSE;
		value = kept;
	}
	e = new_entry (h, name, value, error);
	if (e == NULL)
		return FALSE;
	for (i = 0; i < h->entries->len; i++) {
		Entry *old = g_ptr_array_index (h->entries, i);

		if (!name_is (old, name))
			continue;
		if (!replaced) {
			h->entries->pdata[i] = e;
			entry_free (old);
			replaced = TRUE;
		} else {
			old->deleted = TRUE;
		}
	}
	if (!replaced)
		g_ptr_array_add (h->entries, e);
	compact (h);
	return TRUE;
}

guint
mp_headers_delete (MpHeaders *h, const char *name)
{
	guint i, n = 0;

	for (i = 0; i < h->entries->len; i++) {
		Entry *e = g_ptr_array_index (h->entries, i);

		if (name_is (e, name)) {
			e->deleted = TRUE;
			n++;
		}
	}
	if (n)
		compact (h);
	return n;
}

gboolean
mp_headers_check_originator (MpHeaders *h, GError **error)
{
	guint n_from = 0, i;
	gboolean sender = FALSE;

	for (i = 0; i < h->entries->len; i++) {
		Entry *e = g_ptr_array_index (h->entries, i);

		if (name_is (e, "Sender"))
			sender = TRUE;
		if (name_is (e, "From")) {
			g_autoptr (GPtrArray) specs =
				g_ptr_array_new_with_free_func (g_free);
			g_autofree char *raw = mp_headers_get_raw_value (h, i);

			n_from += mp_address_parse_specs (raw, specs);
		}
	}
	/* RFC 5322 3.6.2 */
	if (n_from > 1 && !sender) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "From: %u mailboxes need a Sender naming the one "
			     "who sends (RFC 5322 3.6.2; add --set "
			     "'Sender: ...')",
			     n_from);
		return FALSE;
	}
	return TRUE;
}

/* ---- writing -------------------------------------------------------- */

gboolean
mp_headers_write_message (MpHeaders *h, MpOutput *out, GError **error)
{
	const char *pending = NULL;
	gsize pending_len = 0;
	guint i;

	for (i = 0; i < h->entries->len; i++) {
		gsize len, term = 0;
		const char *p = mp_headers_get_bytes (h, i, &len);

		if (len > 0 && p[len - 1] == '\n')
			term = len > 1 && p[len - 2] == '\r' ? 2 : 1;
		if (pending_len &&
		    !mp_output_write (out, pending, pending_len, error))
			return FALSE;
		if (!mp_output_write (out, p, len - term, error))
			return FALSE;
		/* the line ending is held back: an input that ended without
		 * one in the block must end without one again */
		if (term) {
			pending = p + len - term;
			pending_len = term;
		} else {
			pending = h->eol;
			pending_len = strlen (h->eol);
		}
	}
	if (!h->unterminated && pending_len &&
	    !mp_output_write (out, pending, pending_len, error))
		return FALSE;
	if (h->buf->len > h->block_end &&
	    !mp_output_write (out, h->buf->data + h->block_end,
			      h->buf->len - h->block_end, error))
		return FALSE;
	if (h->fd < 0 || h->fd_eof)
		return TRUE;
	return mp_output_copy_fd (out, h->fd, h->fd_offset, -1, h->name, error);
}

gboolean
mp_headers_drain (MpHeaders *h, GError **error)
{
	g_autofree char *buf = NULL;
	struct stat st;

	if (h->fd < 0 || h->fd_eof || fstat (h->fd, &st) < 0 ||
	    !(S_ISFIFO (st.st_mode) || S_ISSOCK (st.st_mode)))
		return TRUE;
	/* to /dev/null inside the kernel when it can */
	{
		int null = open ("/dev/null", O_WRONLY | O_CLOEXEC);
		gint64 size = 0;
		int errsv, rc = null < 0 ? 1 :
					   mp_io_splice_all (h->fd, null, &size,
							     &errsv);

		if (null >= 0)
			close (null);
		if (rc == 0) {
			h->fd_eof = TRUE;
			return TRUE;
		}
	}
	buf = g_malloc (READ_CHUNK);
	for (;;) {
		gssize n = mp_io_read (h->fd, buf, READ_CHUNK);

		if (n < 0) {
			mp_error_set_errno (error, MP_ERROR_IO, errno, h->name);
			return FALSE;
		}
		if (n == 0)
			break;
	}
	h->fd_eof = TRUE;
	return TRUE;
}
