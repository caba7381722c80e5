#include "mp-sendlog.h"

#include "mp-error.h"
#include "mp-io.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

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
		g_autoptr (JsonParser) p = json_parser_new_immutable ();
		JsonObject *o;
		const char *status, *id, *sha;

		n++;
		if (**l == '\0')
			continue;
		/* a line cut by a crash is the last one: its message had no
		 * final reply logged, so it is sent again */
		if (!json_parser_load_from_data (p, *l, -1, NULL) ||
		    !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p))) {
			if (l[1] == NULL || (l[1][0] == '\0' && l[2] == NULL))
				continue;
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: line %u: not a line of a smtp-send "
				     "log",
				     log->path, n);
			g_strfreev (lines);
			return FALSE;
		}
		o = json_node_get_object (json_parser_get_root (p));
		status = json_object_get_string_member_with_default (
			o, "status", "");
		if (strcmp (status, "accepted") != 0)
			continue;
		id = json_object_get_string_member_with_default (
			o, "message_id", NULL);
		sha = json_object_get_string_member_with_default (o, "sha256",
								  NULL);
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
	g_autoptr (MpSendLog) log = g_new0 (MpSendLog, 1);

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
	g_autoptr (JsonBuilder) b = json_builder_new_immutable ();
	g_autoptr (JsonGenerator) gen = json_generator_new ();
	g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
	g_autofree char *when = g_date_time_format_iso8601 (now);
	g_autofree char *qid = queue_id (e->reply);
	g_autoptr (JsonNode) root = NULL;
	g_autofree char *line = NULL;
	int errsv = 0;

	json_builder_begin_object (b);
	json_builder_set_member_name (b, "time");
	json_builder_add_string_value (b, when);
	json_builder_set_member_name (b, "message_id");
	json_builder_add_string_value (b, e->message_id ? e->message_id : "");
	json_builder_set_member_name (b, "sha256");
	json_builder_add_string_value (b, e->sha256 ? e->sha256 : "");
	json_builder_set_member_name (b, "recipients");
	json_builder_begin_array (b);
	for (guint i = 0; e->recipients && e->recipients[i]; i++)
		json_builder_add_string_value (b, e->recipients[i]);
	json_builder_end_array (b);
	json_builder_set_member_name (b, "status");
	json_builder_add_string_value (b, e->status);
	json_builder_set_member_name (b, "reply");
	json_builder_add_string_value (b, e->reply ? e->reply : "");
	if (qid) {
		json_builder_set_member_name (b, "queue_id");
		json_builder_add_string_value (b, qid);
	}
	json_builder_end_object (b);
	root = json_builder_get_root (b);
	json_generator_set_root (gen, root);
	line = json_generator_to_data (gen, NULL);
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
