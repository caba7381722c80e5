#include "mp-merge-data.h"

#include "mp-error.h"

#include <csv.h>
#include <math.h>
#include <json-glib/json-glib.h>
#include <string.h>

static MpMergeData *
data_new (const char *name, gboolean json)
{
	MpMergeData *d = g_new0 (MpMergeData, 1);

	d->name = g_strdup (name);
	d->columns = g_ptr_array_new_with_free_func (g_free);
	d->rows = g_ptr_array_new_with_free_func (
		(GDestroyNotify) g_ptr_array_unref);
	d->row_numbers = g_array_new (FALSE, FALSE, sizeof (guint));
	d->json = json;
	return d;
}

void
mp_merge_data_free (MpMergeData *data)
{
	if (data == NULL)
		return;
	g_free (data->name);
	g_ptr_array_unref (data->columns);
	g_ptr_array_unref (data->rows);
	g_array_unref (data->row_numbers);
	g_free (data);
}

int
mp_merge_data_find_column (const MpMergeData *data, const char *name)
{
	for (guint i = 0; i < data->columns->len; i++)
		if (strcmp (data->columns->pdata[i], name) == 0)
			return (int) i;
	return -1;
}

/* libcsv hands fields and ends of rows to callbacks */
typedef struct {
	MpMergeData *data;
	GPtrArray *fields; /* char *, the row being read */
	guint record;      /* records seen, the header being 1 */
	GError *error;
} CsvReader;

static void
csv_field (void *s, size_t len, void *user)
{
	CsvReader *r = user;

	if (r->error != NULL)
		return;
	if (!g_utf8_validate_len (s, len, NULL) || memchr (s, '\0', len)) {
		g_set_error (&r->error, MP_ERROR, MP_ERROR_DATA,
			     "%s: row %u, field %u: not UTF-8 text (use "
			     "--encoding for a legacy file)",
			     r->data->name, r->record + 1, r->fields->len + 1);
		return;
	}
	g_ptr_array_add (r->fields, g_strndup (s, len));
}

static void
csv_row (int c, void *user)
{
	CsvReader *r = user;
	MpMergeData *d = r->data;

	(void) c;
	if (r->error != NULL)
		return;
	r->record++;
	if (r->record == 1) {
		for (guint i = 0; i < r->fields->len; i++) {
			char *col = g_strstrip (g_strdup (r->fields->pdata[i]));

			if (*col == '\0' ||
			    mp_merge_data_find_column (d, col) >= 0) {
				g_set_error (
					&r->error, MP_ERROR, MP_ERROR_DATA,
					"%s: row 1, column %u: %s column name",
					d->name, i + 1,
					*col ? "repeated" : "empty");
				g_free (col);
				return;
			}
			g_ptr_array_add (d->columns, col);
		}
	} else if (r->fields->len != d->columns->len) {
		/* a lone empty field is a line of blanks or a stray end */
		if (r->fields->len == 1 &&
		    *(char *) r->fields->pdata[0] == '\0') {
			r->record--;
			g_ptr_array_set_size (r->fields, 0);
			return;
		}
		g_set_error (&r->error, MP_ERROR, MP_ERROR_DATA,
			     "%s: row %u: %u fields where the header names %u",
			     d->name, r->record, r->fields->len,
			     d->columns->len);
		return;
	} else {
		g_ptr_array_add (d->rows, r->fields);
		r->fields = g_ptr_array_new_with_free_func (g_free);
		g_array_append_val (d->row_numbers, r->record);
	}
	g_ptr_array_set_size (r->fields, 0);
}

MpMergeData *
mp_merge_data_read_csv (GBytes *bytes, const char *name, const char *encoding,
			GError **error)
{
	g_autoptr (MpMergeData) d = data_new (name, FALSE);
	g_autofree char *converted = NULL;
	gsize len = 0;
	const char *p = g_bytes_get_data (bytes, &len);
	struct csv_parser parser;
	CsvReader r = { d, g_ptr_array_new_with_free_func (g_free), 0, NULL };
	gboolean ok;

	if (encoding != NULL && g_ascii_strcasecmp (encoding, "utf-8") != 0 &&
	    g_ascii_strcasecmp (encoding, "utf8") != 0) {
		GError *err = NULL;
		gsize out_len = 0;

		converted = g_convert (p, (gssize) len, "UTF-8", encoding, NULL,
				       &out_len, &err);
		if (converted == NULL) {
			g_set_error (error, MP_ERROR,
				     g_error_matches (
					     err, G_CONVERT_ERROR,
					     G_CONVERT_ERROR_NO_CONVERSION) ?
					     MP_ERROR_USAGE :
					     MP_ERROR_DATA,
				     "%s: --encoding %s: %s", name, encoding,
				     err->message);
			g_error_free (err);
			g_ptr_array_unref (r.fields);
			return NULL;
		}
		p = converted;
		len = out_len;
	}
	/* Excel writes a byte order mark before UTF-8 CSV */
	if (len >= 3 && memcmp (p, "\xef\xbb\xbf", 3) == 0) {
		p += 3;
		len -= 3;
	}
	csv_init (&parser, CSV_STRICT | CSV_STRICT_FINI);
	ok = csv_parse (&parser, p, len, csv_field, csv_row, &r) == len;
	if (ok)
		ok = csv_fini (&parser, csv_field, csv_row, &r) == 0;
	if (!ok && r.error == NULL)
		g_set_error (&r.error, MP_ERROR, MP_ERROR_DATA,
			     "%s: row %u: %s", name, r.record + 1,
			     csv_strerror (csv_error (&parser)));
	csv_free (&parser);
	g_ptr_array_unref (r.fields);
	if (r.error == NULL && d->columns->len == 0)
		g_set_error (&r.error, MP_ERROR, MP_ERROR_DATA,
			     "%s: no header row naming the columns", name);
	if (r.error != NULL) {
		g_propagate_error (error, r.error);
		return NULL;
	}
	return g_steal_pointer (&d);
}

/* The shortest text that reads back as @d, as JSON writers print it:
 * 19.99, not g_ascii_dtostr()'s 19.989999999999998 */
static char *
shortest_double (double d)
{
	char buf[G_ASCII_DTOSTR_BUF_SIZE];

	/* a whole number as digits (1500, not 1.5e+03), up to where
	 * JavaScript too switches to an exponent */
	if (d == floor (d) && fabs (d) < 1e21) {
		g_ascii_formatd (buf, sizeof buf, "%.0f", d);
		return g_strdup (buf);
	}
	for (int prec = 1; prec < 17; prec++) {
		char fmt[8];

		g_snprintf (fmt, sizeof fmt, "%%.%dg", prec);
		g_ascii_formatd (buf, sizeof buf, fmt, d);
		if (g_ascii_strtod (buf, NULL) == d)
			return g_strdup (buf);
	}
	return g_strdup (g_ascii_dtostr (buf, sizeof buf, d));
}

static char *
json_value_text (JsonNode *node)
{
	if (JSON_NODE_HOLDS_NULL (node))
		return g_strdup ("");
	if (!JSON_NODE_HOLDS_VALUE (node))
		return NULL;
	switch (json_node_get_value_type (node)) {
	case G_TYPE_STRING:
		return g_strdup (json_node_get_string (node));
	case G_TYPE_INT64:
		return g_strdup_printf ("%" G_GINT64_FORMAT,
					json_node_get_int (node));
	case G_TYPE_BOOLEAN:
		return g_strdup (json_node_get_boolean (node) ? "true" :
								"false");
	case G_TYPE_DOUBLE:
		return shortest_double (json_node_get_double (node));
	default:
		return NULL;
	}
}

/* One line of JSON lines: a JSON object (a new reference).  Errors:
 * MP_ERROR_DATA naming the line. */
static JsonNode *
parse_object_line (const char *line, const char *name, guint lineno,
		   GError **error)
{
	g_autoptr (JsonParser) parser = json_parser_new_immutable ();
	g_autoptr (GError) err = NULL;
	JsonNode *root;

	if (!g_utf8_validate (line, -1, NULL) ||
	    !json_parser_load_from_data (parser, line, -1, &err)) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA, "%s: line %u: %s",
			     name, lineno,
			     err ? err->message : "not UTF-8 text");
		return NULL;
	}
	root = json_parser_get_root (parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: line %u: not a JSON object", name, lineno);
		return NULL;
	}
	return json_node_ref (root);
}

MpMergeData *
mp_merge_data_read_jsonl (GBytes *bytes, const char *name, GError **error)
{
	g_autoptr (MpMergeData) d = data_new (name, TRUE);
	g_autoptr (GPtrArray) objects = g_ptr_array_new_with_free_func (
		(GDestroyNotify) json_node_unref);
	g_autoptr (GArray) lines = g_array_new (FALSE, FALSE, sizeof (guint));
	gsize len = 0;
	const char *p = g_bytes_get_data (bytes, &len);
	const char *end = p + len;
	guint lineno = 0;

	if (len >= 3 && memcmp (p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		const char *nl = memchr (p, '\n', (gsize) (end - p));
		const char *stop = nl ? nl : end;
		g_autofree char *line = g_strndup (p, (gsize) (stop - p));
		JsonNode *root;

		lineno++;
		p = nl ? nl + 1 : end;
		g_strstrip (line);
		if (*line == '\0')
			continue;
		root = parse_object_line (line, name, lineno, error);
		if (root == NULL)
			return NULL;
		g_ptr_array_add (objects, root);
		{
			JsonObject *o = json_node_get_object (root);
			g_autoptr (GList) members = json_object_get_members (o);

			for (GList *m = members; m; m = m->next)
				if (mp_merge_data_find_column (d, m->data) < 0)
					g_ptr_array_add (d->columns,
							 g_strdup (m->data));
		}
		g_array_append_val (lines, lineno);
	}
	for (guint i = 0; i < objects->len; i++) {
		JsonObject *o = json_node_get_object (objects->pdata[i]);
		GPtrArray *row = g_ptr_array_new_full (d->columns->len, g_free);
		guint ln = g_array_index (lines, guint, i);

		g_ptr_array_add (d->rows, row);
		g_array_append_val (d->row_numbers, ln);
		for (guint c = 0; c < d->columns->len; c++) {
			JsonNode *v = json_object_get_member (
				o, d->columns->pdata[c]);

			char *text = v ? json_value_text (v) : NULL;

			/* an absent key stays NULL: a placeholder that needs
			 * it is an error naming the line */
			g_ptr_array_add (row, text);
			if (v != NULL && text == NULL) {
				g_set_error (error, MP_ERROR, MP_ERROR_DATA,
					     "%s: line %u, key %s: an array "
					     "or object where a value goes",
					     name, ln,
					     (char *) d->columns->pdata[c]);
				return NULL;
			}
		}
	}
	return g_steal_pointer (&d);
}
