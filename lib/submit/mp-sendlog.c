#include "mp-sendlog.h"

#include "mp-error.h"
#include "mp-io.h"

#include <errno.h>
#include <fcntl.h>
#include <gmodule.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

/* json-glib is loaded when a log is opened, not linked: smtp-send needs
 * it only for --log and --resume, and binding its symbols cost every
 * start 0.46M instructions and 0.17 ms (issue 21).  Its functions are
 * called through this table (the headers give their types). */
#define JSON_LIBRARY "libjson-glib-1.0.so.0"
#define JSON_FUNCTIONS(X) \
	X (json_builder_add_string_value) \
	X (json_builder_begin_array) \
	X (json_builder_begin_object) \
	X (json_builder_end_array) \
	X (json_builder_end_object) \
	X (json_builder_get_root) \
	X (json_builder_new_immutable) \
	X (json_builder_set_member_name) \
	X (json_generator_new) \
	X (json_generator_set_root) \
	X (json_generator_to_data) \
	X (json_node_get_node_type) \
	X (json_node_get_object) \
	X (json_node_unref) \
	X (json_object_get_string_member_with_default) \
	X (json_parser_get_root) \
	X (json_parser_load_from_data) \
	X (json_parser_new_immutable)

static struct {
#define FIELD(name) __typeof__ (name) *name;
	JSON_FUNCTIONS (FIELD)
#undef FIELD
} json;

static gpointer
load_json (gpointer data)
{
	GModule *module = g_module_open (JSON_LIBRARY, G_MODULE_BIND_LOCAL);
	char **why = data;

	if (module == NULL) {
		*why = g_strdup (g_module_error ());
		return NULL;
	}
#define SYMBOL(name) \
	if (!g_module_symbol (module, #name, (gpointer *) &json.name)) { \
		*why = g_strdup_printf ("no %s", #name); \
		return NULL; \
	}
	JSON_FUNCTIONS (SYMBOL)
#undef SYMBOL
	g_module_make_resident (module);
	return &json;
}

/* Loads json-glib, once.  Errors: MP_ERROR_UNAVAILABLE naming it. */
static gboolean
json_ready (GError **error)
{
	static GOnce once = G_ONCE_INIT;
	static char *why;

	if (g_once (&once, load_json, &why) != NULL)
		return TRUE;
	g_set_error (error, MP_ERROR, MP_ERROR_UNAVAILABLE,
		     "%s: json-glib cannot be loaded for the batch log: %s",
		     JSON_LIBRARY, why);
	return FALSE;
}

struct _MpSendLog {
	char *path;
	int fd;
	GHashTable *done; /* "id:<...>" or "sha256:..." */
	guint done_count;
};

void
mp_send_log_free (MpSendLog *log)
{
	if (log == NULL)
		return;
	if (log->fd >= 0)
		close (log->fd);
	g_hash_table_unref (log->done);
	g_free (log->path);
	g_free (log);
}

static gboolean
read_log (MpSendLog *log, GError **error)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	g_autoptr (GError) err = NULL;
	char **lines;
	guint n = 0;

	if (!g_file_get_contents (log->path, &data, &len, &err)) {
		if (g_error_matches (err, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return TRUE; /* nothing sent yet */
		g_set_error (error, MP_ERROR, MP_ERROR_NO_INPUT, "%s: %s",
			     log->path, err->message);
		return FALSE;
	}
	lines = g_strsplit (data, "\n", -1);
	for (char **l = lines; *l; l++) {
		g_autoptr (JsonParser) p = json.json_parser_new_immutable ();
		JsonObject *o;
		const char *status, *id, *sha;

		n++;
		if (**l == '\0')
			continue;
		/* a line cut by a crash is the last one: its message had no
		 * final reply logged, so it is sent again */
		if (!json.json_parser_load_from_data (p, *l, -1, NULL) ||
		    json.json_node_get_node_type (json.json_parser_get_root (
			    p)) != JSON_NODE_OBJECT) {
			if (l[1] == NULL || (l[1][0] == '\0' && l[2] == NULL))
				continue;
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: line %u: not a line of a smtp-send "
				     "log",
				     log->path, n);
			g_strfreev (lines);
			return FALSE;
		}
		o = json.json_node_get_object (json.json_parser_get_root (p));
		status = json.json_object_get_string_member_with_default (
			o, "status", "");
		if (strcmp (status, "accepted") != 0)
			continue;
		id = json.json_object_get_string_member_with_default (
			o, "message_id", NULL);
		sha = json.json_object_get_string_member_with_default (
			o, "sha256", NULL);
		if (id && *id)
			g_hash_table_add (log->done,
					  g_strconcat ("id:", id, NULL));
		if (sha && *sha)
			g_hash_table_add (log->done,
					  g_strconcat ("sha256:", sha, NULL));
		log->done_count++;
	}
	g_strfreev (lines);
	return TRUE;
}

MpSendLog *
mp_send_log_open (const char *path, gboolean resume, GError **error)
{
	g_autoptr (MpSendLog) log = NULL;

	if (!json_ready (error))
		return NULL;
	log = g_new0 (MpSendLog, 1);
	log->path = g_strdup (path);
	log->fd = -1;
	log->done =
		g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	if (resume && !read_log (log, error))
		return NULL;
	log->fd = open (path,
			O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			0600);
	if (log->fd < 0) {
		mp_error_set_errno (error, MP_ERROR_CANT_CREATE, errno, path);
		return NULL;
	}
	return g_steal_pointer (&log);
}

gboolean
mp_send_log_is_done (MpSendLog *log, const char *message_id, const char *sha256)
{
	g_autofree char *k1 =
		message_id ? g_strconcat ("id:", message_id, NULL) : NULL;
	g_autofree char *k2 =
		sha256 ? g_strconcat ("sha256:", sha256, NULL) : NULL;

	/* a message with an ID is known by it: two messages with the same
	 * bytes but for a line ending are still one */
	if (k1)
		return g_hash_table_contains (log->done, k1);
	return k2 && g_hash_table_contains (log->done, k2);
}

guint
mp_send_log_get_done_count (MpSendLog *log)
{
	return log->done_count;
}

/* the queue id in "250 2.0.0 Ok: queued as 4F1" (Postfix, Exim: id=) */
static char *
queue_id (const char *reply)
{
	const char *p;

	if (reply == NULL)
		return NULL;
	if ((p = strstr (reply, "queued as ")) != NULL)
		p += 10;
	else if ((p = strstr (reply, "id=")) != NULL)
		p += 3;
	else
		return NULL;
	return g_strndup (p, strcspn (p, " \t;,"));
}

gboolean
mp_send_log_append (MpSendLog *log, const MpSendLogEntry *e, GError **error)
{
	g_autoptr (JsonBuilder) b = json.json_builder_new_immutable ();
	g_autoptr (JsonGenerator) gen = json.json_generator_new ();
	g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
	g_autofree char *when = g_date_time_format_iso8601 (now);
	g_autofree char *qid = queue_id (e->reply);
	JsonNode *root;
	g_autofree char *line = NULL;
	int errsv = 0;

	json.json_builder_begin_object (b);
	json.json_builder_set_member_name (b, "time");
	json.json_builder_add_string_value (b, when);
	json.json_builder_set_member_name (b, "message_id");
	json.json_builder_add_string_value (b,
					    e->message_id ? e->message_id : "");
	json.json_builder_set_member_name (b, "sha256");
	json.json_builder_add_string_value (b, e->sha256 ? e->sha256 : "");
	json.json_builder_set_member_name (b, "recipients");
	json.json_builder_begin_array (b);
	for (guint i = 0; e->recipients && e->recipients[i]; i++)
		json.json_builder_add_string_value (b, e->recipients[i]);
	json.json_builder_end_array (b);
	json.json_builder_set_member_name (b, "status");
	json.json_builder_add_string_value (b, e->status);
	json.json_builder_set_member_name (b, "reply");
	json.json_builder_add_string_value (b, e->reply ? e->reply : "");
	if (qid) {
		json.json_builder_set_member_name (b, "queue_id");
		json.json_builder_add_string_value (b, qid);
	}
	json.json_builder_end_object (b);
	root = json.json_builder_get_root (b);
	json.json_generator_set_root (gen, root);
	line = json.json_generator_to_data (gen, NULL);
	json.json_node_unref (root);
	{
		g_autofree char *full = g_strconcat (line, "\n", NULL);

		if (!mp_io_write_all (log->fd, full, strlen (full), &errsv)) {
			mp_error_set_errno (error, MP_ERROR_IO, errsv,
					    log->path);
			return FALSE;
		}
	}
	return TRUE;
}

gboolean
mp_send_log_sync (MpSendLog *log, GError **error)
{
	if (fsync (log->fd) < 0) {
		mp_error_set_errno (error, MP_ERROR_IO, errno, log->path);
		return FALSE;
	}
	return TRUE;
}
