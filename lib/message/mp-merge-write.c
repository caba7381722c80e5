/* mp-merge-write: a run of mime-merge: the data and the template read,
 * every row made and checked before anything is written, then the
 * messages written as an mboxrd stream (RFC 4155), one .eml file each,
 * or a --dry-run line each. */
#include "mp-merge-private.h"

#include "mp-error.h"
#include "mp-headers.h"

#include <string.h>

static const char mbox_from_line[] =
	"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n";

/* mboxrd (RFC 4155, mboxrd variant): ^>*From  gains one more '>' */
static void
quote_from (GByteArray *out, const guint8 *p, gsize len)
{
	const guint8 *end = p + len;

	while (p < end) {
		const guint8 *nl = memchr (p, '\n', (gsize) (end - p));
		const guint8 *stop = nl ? nl + 1 : end;
		const guint8 *q = p;

		while (q < stop && *q == '>')
			q++;
		if (stop - q >= 5 && memcmp (q, "From ", 5) == 0)
			g_byte_array_append (out, (const guint8 *) ">", 1);
		g_byte_array_append (out, p, (guint) (stop - p));
		p = stop;
	}
}

void
mp_merge_append_mboxrd (GByteArray *out, const GByteArray *msg)
{
	g_byte_array_append (out, (const guint8 *) mbox_from_line,
			     sizeof mbox_from_line - 1);
	quote_from (out, msg->data, msg->len);
	if (msg->len > 0 && msg->data[msg->len - 1] != '\n')
		g_byte_array_append (out, (const guint8 *) "\n", 1);
	g_byte_array_append (out, (const guint8 *) "\n", 1);
}

static gboolean
write_chunks (GArray *chunks, MpOutput *out, GError **error)
{
	for (guint i = 0; i < chunks->len; i++) {
		gsize len;
		const guint8 *d = g_bytes_get_data (
			g_array_index (chunks, Chunk, i).bytes, &len);

		if (len > 0 && !mp_output_write (out, d, len, error))
			return FALSE;
	}
	return TRUE;
}

/* Writes the chunks as one mboxrd message.  A chunk starts a line or
 * with a line break (chunks_hold_delimiter() in mp-merge-render.c), so
 * each is quoted on its own; a template slice without "From " anywhere
 * is written as it is, and that answer is kept per slice. */
static gboolean
write_mboxrd (MpMergeTemplate *t, GArray *chunks, MpOutput *out, GError **error)
{
	gboolean last_nl = TRUE;

	if (!mp_output_write (out, mbox_from_line, sizeof mbox_from_line - 1,
			      error))
		return FALSE;
	for (guint i = 0; i < chunks->len; i++) {
		Chunk *c = &g_array_index (chunks, Chunk, i);
		gsize len;
		const guint8 *d = g_bytes_get_data (c->bytes, &len);
		gboolean plain;

		if (len == 0)
			continue;
		if (c->raw) {
			MpMergeSlice key = {
				(gsize) (d - (const guint8 *) t->data), len
			};
			gpointer v = g_hash_table_lookup (t->from_free, &key);

			if (v == NULL) {
				v = GINT_TO_POINTER (
					memmem (d, len, "From ", 5) ? 1 : 2);
				g_hash_table_insert (
					t->from_free,
					g_memdup2 (&key, sizeof key), v);
			}
			plain = GPOINTER_TO_INT (v) == 2;
		} else {
			plain = memmem (d, len, "From ", 5) == NULL;
		}
		if (plain) {
			if (!mp_output_write (out, d, len, error))
				return FALSE;
		} else {
			g_autoptr (GByteArray) q =
				g_byte_array_sized_new ((guint) len + 64);

			quote_from (q, d, len);
			if (!mp_output_write (out, q->data, q->len, error))
				return FALSE;
		}
		last_nl = d[len - 1] == '\n';
	}
	return mp_output_write (out, last_nl ? "\n" : "\n\n", last_nl ? 1 : 2,
				error);
}

static GBytes *
read_input (const char *path, GError **error)
{
	g_autoptr (MpInput) in = strcmp (path, "-") == 0 ?
					 mp_input_open_fd (0, "stdin", error) :
					 mp_input_open (path, error);

	if (in == NULL)
		return NULL;
	return mp_input_read_all (in, error);
}

static char *
eml_name (guint index, guint total)
{
	guint width = 4;

	for (guint n = total; n >= 10000; n /= 10)
		width++;
	return g_strdup_printf ("%0*u.eml", (int) width, index + 1);
}

/* "row 2: <id> alice@example.org: Subject" */
static char *
dry_run_line (const MpMergeData *data, guint row, const GByteArray *msg)
{
	g_autoptr (MpHeaders) h = NULL;
	const guint8 *end = msg->data;
	GString *s = g_string_new (NULL);
	g_autofree char *to = NULL;
	g_autofree char *subject = NULL;
	g_autofree char *msgid = NULL;

	/* the header block ends at the first empty line */
	for (const guint8 *p = msg->data; p < msg->data + msg->len;) {
		const guint8 *nl =
			memchr (p, '\n', msg->len - (gsize) (p - msg->data));

		if (nl == NULL || nl == p || (nl == p + 1 && *p == '\r')) {
			end = p;
			break;
		}
		p = nl + 1;
	}
	h = mp_headers_parse ((const char *) msg->data,
			      (gsize) (end - msg->data), NULL);
	for (guint i = 0; h && i < mp_headers_get_n_entries (h); i++) {
		const char *n = mp_headers_get_name (h, i);
		char **slot = NULL;

		if (n == NULL)
			continue;
		if (g_ascii_strcasecmp (n, "To") == 0)
			slot = &to;
		else if (g_ascii_strcasecmp (n, "Subject") == 0)
			slot = &subject;
		else if (g_ascii_strcasecmp (n, "Message-ID") == 0)
			slot = &msgid;
		if (slot && *slot == NULL)
			*slot = mp_headers_get_value (h, i);
	}
	g_string_printf (s, "%s %u: %s to %s: %s\n",
			 data->json ? "line" : "row",
			 g_array_index (data->row_numbers, guint, row),
			 msgid ? msgid : "", to ? to : "(no To)",
			 subject ? subject : "");
	return g_string_free (s, FALSE);
}

/* Every row made once and checked before anything is written */
static gboolean
check_rows (const MpMergeRequest *req, MpMergeTemplate *t,
	    const MpMergeData *data, guint n, GError **error)
{
	gboolean files = req->dir && !req->dry_run;

	for (guint i = 0; i < n; i++) {
		g_autoptr (GArray) msg =
			mp_merge_render_chunks (t, data, i, error);
		g_autofree char *name = NULL;
		g_autofree char *path = NULL;

		if (msg == NULL)
			return FALSE;
		if (!files)
			continue;
		name = eml_name (i, n);
		path = g_build_filename (req->dir, name, NULL);
		if (g_file_test (path,
				 G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK)) {
			g_set_error (error, MP_ERROR, MP_ERROR_CANT_CREATE,
				     "%s: exists; mime-merge never writes "
				     "over a file",
				     path);
			return FALSE;
		}
	}
	if (files && !g_file_test (req->dir, G_FILE_TEST_IS_DIR)) {
		g_set_error (error, MP_ERROR, MP_ERROR_CANT_CREATE,
			     "%s: not a directory", req->dir);
		return FALSE;
	}
	return TRUE;
}

/* Writes message @i as --dry-run, -C or the mbox stream asks */
static gboolean
write_row (const MpMergeRequest *req, MpMergeTemplate *t,
	   const MpMergeData *data, guint i, guint n, MpOutput *out,
	   GError **error)
{
	g_autoptr (GArray) msg = NULL;

	if (req->dry_run) {
		g_autoptr (GByteArray) whole =
			mp_merge_render (t, data, i, error);
		g_autofree char *line =
			whole ? dry_run_line (data, i, whole) : NULL;

		return line &&
		       mp_output_write (out, line, strlen (line), error);
	}
	msg = mp_merge_render_chunks (t, data, i, error);
	if (msg == NULL)
		return FALSE;
	if (req->dir) {
		g_autofree char *name = eml_name (i, n);
		g_autofree char *path = g_build_filename (req->dir, name, NULL);
		/* created beside it and renamed: never half-written */
		g_autoptr (MpOutput) f = mp_output_open (path, FALSE, error);

		return f && write_chunks (msg, f, error) &&
		       mp_output_close (f, error);
	}
	return write_mboxrd (t, msg, out, error);
}

gboolean
mp_merge_run (const MpMergeRequest *req, GError **error)
{
	g_autoptr (GBytes) dbytes = read_input (req->data_path, error);
	g_autoptr (GBytes) tbytes = NULL;
	g_autoptr (MpMergeData) data = NULL;
	g_autoptr (MpMergeTemplate) t = NULL;
	g_autoptr (MpOutput) out = NULL;
	const char *dname =
		strcmp (req->data_path, "-") == 0 ? "stdin" : req->data_path;
	gboolean json = req->json || g_str_has_suffix (dname, ".jsonl") ||
			g_str_has_suffix (dname, ".ndjson");
	guint n;

	if (dbytes == NULL)
		return FALSE;
	data = json ? mp_merge_data_read_jsonl (dbytes, dname, error) :
		      mp_merge_data_read_csv (dbytes, dname, req->encoding,
					      error);
	if (data == NULL)
		return FALSE;
	tbytes = read_input (req->template_path, error);
	if (tbytes == NULL)
		return FALSE;
	t = mp_merge_template_new (tbytes, req->template_path, data,
				   &req->options, error);
	if (t == NULL)
		return FALSE;
	n = data->rows->len;
	if (req->limit > 0 && req->limit < n)
		n = req->limit;
	if (!check_rows (req, t, data, n, error))
		return FALSE;
	if (req->dir == NULL || req->dry_run) {
		out = mp_output_open (req->output, FALSE, error);
		if (out == NULL)
			return FALSE;
	}
	for (guint i = 0; i < n; i++)
		if (!write_row (req, t, data, i, n, out, error))
			return FALSE;
	return out == NULL || mp_output_close (out, error);
}
