/* mp-outbox: the maildir outbox: durable stores, oldest-first listing, a
 * lock for flushes. */
#include "mp-outbox.h"
#include "mp-io.h"
#include "mp-error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* An envelope block larger than this is not one of ours. */
#define BLOCK_MAX (4 * 1024 * 1024)

#define FIELD_PREFIX "X-Mimepipe-"

struct _MpOutbox {
	char *dir;
	int lock_fd;
};

MpOutboxEnvelope *
mp_outbox_envelope_new (void)
{
	MpOutboxEnvelope *env = g_new0 (MpOutboxEnvelope, 1);

	env->recipients = g_ptr_array_new_with_free_func (g_free);
	return env;
}

void
mp_outbox_envelope_free (MpOutboxEnvelope *env)
{
	if (env == NULL)
		return;
	g_free (env->account);
	g_free (env->server);
	g_free (env->tls);
	g_free (env->user);
	g_free (env->sender);
	g_ptr_array_unref (env->recipients);
	g_free (env->notify);
	g_free (env->ret);
	g_free (env->envid);
	g_free (env);
}

/* Makes @path when missing; it must then be a directory of ours that
 * nobody else may use: a queue another user can write to is a queue of
 * mail sent with our credentials. */
static gboolean
make_dir (const char *path, GError **error)
{
	struct stat st;

	if (g_mkdir_with_parents (path, 0700) < 0 || stat (path, &st) < 0) {
		mp_error_set_errno (error, MP_ERROR_CANT_CREATE, errno, path);
		return FALSE;
	}
	if (!S_ISDIR (st.st_mode)) {
		mp_error_set_errno (error, MP_ERROR_CANT_CREATE, ENOTDIR, path);
		return FALSE;
	}
	if (st.st_uid != geteuid ()) {
		g_set_error (error, MP_ERROR, MP_ERROR_CONFIG,
			     "outbox %s: belongs to uid %u, not to you (uid "
			     "%u): not used",
			     path, (guint) st.st_uid, (guint) geteuid ());
		return FALSE;
	}
	if ((st.st_mode & 077) != 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_CONFIG,
			     "outbox %s: mode %04o lets others in: not used "
			     "(chmod 700 %s)",
			     path, (guint) (st.st_mode & 07777), path);
		return FALSE;
	}
	return TRUE;
}

MpOutbox *
mp_outbox_open (const char *dir, GError **error)
{
	const char *const subs[] = { "tmp", "new", "cur" };
	MpOutbox *outbox;

	if (!make_dir (dir, error))
		return NULL;
	for (guint i = 0; i < G_N_ELEMENTS (subs); i++) {
		g_autofree char *sub = g_build_filename (dir, subs[i], NULL);

		if (!make_dir (sub, error))
			return NULL;
	}
	outbox = g_new0 (MpOutbox, 1);
	outbox->dir = g_strdup (dir);
	outbox->lock_fd = -1;
	return outbox;
}

void
mp_outbox_free (MpOutbox *outbox)
{
	if (outbox == NULL)
		return;
	if (outbox->lock_fd >= 0)
		close (outbox->lock_fd);
	g_free (outbox->dir);
	g_free (outbox);
}

const char *
mp_outbox_get_dir (MpOutbox *outbox)
{
	return outbox->dir;
}

gboolean
mp_outbox_lock (MpOutbox *outbox, gboolean wait, GError **error)
{
	g_autofree char *path = NULL;
	int rc;

	if (outbox->lock_fd >= 0)
		return TRUE;
	path = g_build_filename (outbox->dir, "mimepipe.lock", NULL);
	outbox->lock_fd = open (path,
				O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY |
					O_NOFOLLOW | O_NONBLOCK,
				0600);
	if (outbox->lock_fd < 0) {
		mp_error_set_errno (error, MP_ERROR_CANT_CREATE, errno, path);
		return FALSE;
	}
	do
		rc = flock (outbox->lock_fd, LOCK_EX | (wait ? 0 : LOCK_NB));
	while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		int errsv = errno;

		close (outbox->lock_fd);
		outbox->lock_fd = -1;
		if (errsv == EWOULDBLOCK)
			g_set_error (error, MP_ERROR, MP_ERROR_TEMPFAIL,
				     "%s: another smtp-send is flushing it",
				     outbox->dir);
		else
			mp_error_set_errno (error, MP_ERROR_CANT_CREATE, errsv,
					    path);
		return FALSE;
	}
	return TRUE;
}

static gboolean
check_value (const char *what, const char *value, GError **error)
{
	for (const char *p = value; *p != '\0'; p++) {
		if ((guchar) *p < 0x20 || *p == 0x7f) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "outbox: %s: control character", what);
			return FALSE;
		}
	}
	return TRUE;
}

/* The fields of the envelope block that hold a string as it is, for the
 * writer and the reader alike: where the connection was to go (written
 * before From and To) and the DSN values (after them). */
static const struct {
	const char *field;
	gsize offset;
	gboolean after_rcpts;
} string_fields[] = {
	{ "Account", G_STRUCT_OFFSET (MpOutboxEnvelope, account), FALSE },
	{ "Server", G_STRUCT_OFFSET (MpOutboxEnvelope, server), FALSE },
	{ "Tls", G_STRUCT_OFFSET (MpOutboxEnvelope, tls), FALSE },
	{ "User", G_STRUCT_OFFSET (MpOutboxEnvelope, user), FALSE },
	{ "Notify", G_STRUCT_OFFSET (MpOutboxEnvelope, notify), TRUE },
	{ "Ret", G_STRUCT_OFFSET (MpOutboxEnvelope, ret), TRUE },
	{ "Envid", G_STRUCT_OFFSET (MpOutboxEnvelope, envid), TRUE },
};

#define STRING_FIELD(env, i) \
	G_STRUCT_MEMBER (char *, (env), string_fields[i].offset)

/* The string fields written before (@after_rcpts FALSE) or after the
 * addresses. */
static gboolean
format_strings (const MpOutboxEnvelope *env, gboolean after_rcpts, GString *out,
		GError **error)
{
	for (guint i = 0; i < G_N_ELEMENTS (string_fields); i++) {
		const char *value = STRING_FIELD (env, i);

		if (string_fields[i].after_rcpts != after_rcpts ||
		    value == NULL)
			continue;
		if (!check_value (string_fields[i].field, value, error))
			return FALSE;
		g_string_append_printf (out, FIELD_PREFIX "%s: %s\n",
					string_fields[i].field, value);
	}
	return TRUE;
}

static gboolean
format_block (const MpOutboxEnvelope *env, GString *out, GError **error)
{
	if (env->recipients->len == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "outbox: no recipient to store");
		return FALSE;
	}
	g_string_append (out, FIELD_PREFIX "Envelope: 1\n");
	if (!format_strings (env, FALSE, out, error))
		return FALSE;
	if (!check_value ("sender", env->sender ? env->sender : "", error))
		return FALSE;
	g_string_append_printf (out, FIELD_PREFIX "From: <%s>\n",
				env->sender ? env->sender : "");
	for (guint i = 0; i < env->recipients->len; i++) {
		const char *r = g_ptr_array_index (env->recipients, i);

		if (!check_value ("recipient", r, error))
			return FALSE;
		if (*r == '\0') {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "outbox: empty recipient");
			return FALSE;
		}
		g_string_append_printf (out, FIELD_PREFIX "To: <%s>\n", r);
	}
	if (!format_strings (env, TRUE, out, error))
		return FALSE;
	if (env->allow_partial)
		g_string_append (out, FIELD_PREFIX "Partial: yes\n");
	g_string_append (out, FIELD_PREFIX "End: 1\n");
	return TRUE;
}

/* Makes a rename or unlink in @dir durable. */
static gboolean
sync_dir (const char *dir, GError **error)
{
	int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync (fd) < 0) {
		int errsv = errno;

		if (fd >= 0)
			close (fd);
		mp_error_set_errno (error, MP_ERROR_IO, errsv, dir);
		return FALSE;
	}
	close (fd);
	return TRUE;
}

/* A maildir name: SECONDS.MUSECONDSPPIDQCOUNT.HOST, with '/' and ':' in
 * the host name written as maildir says (\057, \072). */
static char *
unique_name (void)
{
	static guint count;
	gint64 now = g_get_real_time ();
	GString *host = g_string_new (NULL);
	char *name;

	for (const char *p = g_get_host_name (); *p != '\0'; p++) {
		if (*p == '/')
			g_string_append (host, "\\057");
		else if (*p == ':')
			g_string_append (host, "\\072");
		else
			g_string_append_c (host, *p);
	}
	name = g_strdup_printf ("%" G_GINT64_FORMAT ".M%06" G_GINT64_FORMAT
				"P%dQ%u.%s",
				now / G_USEC_PER_SEC, now % G_USEC_PER_SEC,
				(int) getpid (), ++count, host->str);
	g_string_free (host, TRUE);
	return name;
}

char *
mp_outbox_store (MpOutbox *outbox, const MpOutboxEnvelope *env,
		 GMimeStream *data, GError **error)
{
	g_autoptr (GString) block = g_string_new (NULL);
	g_autofree char *name = unique_name ();
	g_autofree char *tmp =
		g_build_filename (outbox->dir, "tmp", name, NULL);
	g_autofree char *newdir = g_build_filename (outbox->dir, "new", NULL);
	g_autofree char *path = g_build_filename (newdir, name, NULL);
	g_autofree char *buf = NULL;
	int fd;
	int errsv = 0;

	if (!format_block (env, block, error))
		return NULL;
	fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY,
		   0600);
	if (fd < 0) {
		mp_error_set_errno (error, MP_ERROR_CANT_CREATE, errno, tmp);
		return NULL;
	}
	if (!mp_io_write_all (fd, block->str, block->len, &errsv))
		goto write_failed;
	buf = g_malloc (65536);
	for (;;) {
		gssize n = mp_io_stream_read (data, buf, 65536);

		if (n < 0) {
			close (fd);
			unlink (tmp);
			g_set_error (error, MP_ERROR, MP_ERROR_IO,
				     "outbox: cannot read the message");
			return NULL;
		}
		if (n == 0)
			break;
		if (!mp_io_write_all (fd, buf, (gsize) n, &errsv))
			goto write_failed;
	}
	/* the data must be on disk before the name says it is there */
	if (fsync (fd) < 0) {
		errsv = errno;
		goto write_failed;
	}
	if (close (fd) < 0) {
		fd = -1;
		errsv = errno;
		goto write_failed;
	}
	fd = -1;
	if (rename (tmp, path) < 0) {
		errsv = errno;
		goto write_failed;
	}
	if (!sync_dir (newdir, error)) {
		unlink (path);
		return NULL;
	}
	return g_steal_pointer (&path);

write_failed:
	if (fd >= 0)
		close (fd);
	unlink (tmp);
	mp_error_set_errno (error, MP_ERROR_IO, errsv, tmp);
	return NULL;
}

typedef struct {
	char *name; /* "new/..." or "cur/..." */
	gint64 sec;
	gint64 usec;
	guint64 count;
} Entry;

static int
entry_compare (gconstpointer a, gconstpointer b)
{
	const Entry *x = *(Entry *const *) a;
	const Entry *y = *(Entry *const *) b;

	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	if (x->usec != y->usec)
		return x->usec < y->usec ? -1 : 1;
	if (x->count != y->count)
		return x->count < y->count ? -1 : 1;
	return strcmp (x->name, y->name);
}

static void
entry_free (Entry *e)
{
	g_free (e->name);
	g_free (e);
}

/* Reads the times our names carry: "SECONDS.MUSECONDSP...Q<n>." */
static gboolean
parse_name (const char *name, Entry *e)
{
	char *end;
	const char *q;

	e->sec = g_ascii_strtoll (name, &end, 10);
	if (end == name || end[0] != '.' || end[1] != 'M')
		return FALSE;
	name = end + 2;
	e->usec = g_ascii_strtoll (name, &end, 10);
	if (end == name || *end != 'P')
		return FALSE;
	q = strchr (end, 'Q');
	if (q != NULL && g_ascii_isdigit (q[1]))
		e->count = g_ascii_strtoull (q + 1, NULL, 10);
	return TRUE;
}

GPtrArray *
mp_outbox_list (MpOutbox *outbox, GError **error)
{
	const char *const subs[] = { "new", "cur" };
	g_autoptr (GPtrArray) entries =
		g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
	GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

	for (guint i = 0; i < G_N_ELEMENTS (subs); i++) {
		g_autofree char *path =
			g_build_filename (outbox->dir, subs[i], NULL);
		g_autoptr (GError) local = NULL;
		GDir *dir = g_dir_open (path, 0, &local);
		const char *name;

		if (dir == NULL) {
			g_set_error (error, MP_ERROR, MP_ERROR_IO, "%s",
				     local->message);
			g_ptr_array_unref (names);
			return NULL;
		}
		while ((name = g_dir_read_name (dir)) != NULL) {
			Entry *e;

			if (name[0] == '.')
				continue;
			e = g_new0 (Entry, 1);
			e->name = g_build_filename (subs[i], name, NULL);
			if (!parse_name (name, e)) {
				g_autofree char *full =
					g_build_filename (path, name, NULL);
				struct stat st;

				if (stat (full, &st) == 0) {
					e->sec = st.st_mtim.tv_sec;
					e->usec = st.st_mtim.tv_nsec / 1000;
				}
			}
			g_ptr_array_add (entries, e);
		}
		g_dir_close (dir);
	}
	g_ptr_array_sort (entries, entry_compare);
	for (guint i = 0; i < entries->len; i++) {
		Entry *e = g_ptr_array_index (entries, i);

		g_ptr_array_add (names, g_steal_pointer (&e->name));
	}
	return names;
}

/* A relative name of ours: "new/X" or "cur/X", X without '/'. */
static gboolean
valid_name (const char *name)
{
	return (g_str_has_prefix (name, "new/") ||
		g_str_has_prefix (name, "cur/")) &&
	       name[4] != '\0' && name[4] != '.' &&
	       strchr (name + 4, '/') == NULL;
}

static gboolean
parse_block (const char *path, const char *text, MpOutboxEnvelope *env,
	     GError **error)
{
	g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

	if (lines[0] == NULL ||
	    !g_str_equal (lines[0], FIELD_PREFIX "Envelope: 1"))
		goto bad;
	for (guint i = 1; lines[i] != NULL; i++) {
		const char *line = lines[i];
		const char *colon;
		guint k;
		g_autofree char *field = NULL;
		const char *value;

		if (!g_str_has_prefix (line, FIELD_PREFIX))
			goto bad;
		colon = strchr (line, ':');
		if (colon == NULL || colon[1] != ' ')
			goto bad;
		field = g_strndup (line + strlen (FIELD_PREFIX),
				   (gsize) (colon - line) -
					   strlen (FIELD_PREFIX));
		value = colon + 2;
		for (k = 0; k < G_N_ELEMENTS (string_fields); k++)
			if (g_str_equal (field, string_fields[k].field))
				break;
		if (k < G_N_ELEMENTS (string_fields)) {
			g_free (STRING_FIELD (env, k));
			STRING_FIELD (env, k) = g_strdup (value);
		} else if (g_str_equal (field, "From") ||
			   g_str_equal (field, "To")) {
			gsize len = strlen (value);
			char *addr;

			if (len < 2 || value[0] != '<' || value[len - 1] != '>')
				goto bad;
			addr = g_strndup (value + 1, len - 2);
			if (g_str_equal (field, "From")) {
				g_free (env->sender);
				env->sender = addr;
			} else {
				g_ptr_array_add (env->recipients, addr);
			}
		} else if (g_str_equal (field, "Partial")) {
			env->allow_partial = g_str_equal (value, "yes");
		} else {
			goto bad;
		}
	}
	if (env->sender == NULL || env->recipients->len == 0)
		goto bad;
	return TRUE;
bad:
	g_set_error (error, MP_ERROR, MP_ERROR_DATA,
		     "%s: not a message stored by smtp-send (its envelope "
		     "block is missing or malformed)",
		     path);
	return FALSE;
}

/* Opens PATH for reading when it is a regular file of ours, not following
 * a link nor waiting on a FIFO; returns the blocking fd, or -1 with
 * @error. */
static int
open_stored_file (const char *path, GError **error)
{
	struct stat st = { 0 };
	/* not following a link, not waiting on a FIFO (a flush holds the
	 * lock): only a regular file of ours is a message we stored */
	int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW |
				     O_NONBLOCK);

	if (fd < 0 && errno == ELOOP) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: a symbolic link, not a message stored by "
			     "smtp-send: not sent",
			     path);
		return -1;
	}
	if (fd < 0) {
		mp_error_set_errno (error, MP_ERROR_NO_INPUT, errno, path);
		return -1;
	}
	if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) ||
	    st.st_uid != geteuid ()) {
		gboolean reg = S_ISREG (st.st_mode);

		close (fd);
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: %s, not a message stored by smtp-send: not "
			     "sent",
			     path,
			     !reg ? "not a regular file" :
				    "a file of another user");
		return -1;
	}
	if (fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		int errsv = errno;

		close (fd);
		mp_error_set_errno (error, MP_ERROR_IO, errsv, path);
		return -1;
	}
	return fd;
}

/* Reads from FD (of PATH) until END_FIELD and leaves in BLOCK the
 * envelope block before it; FALSE with @error when reading fails or the
 * block is missing, longer than BLOCK_MAX or holds a NUL byte. */
static gboolean
read_envelope_block (int fd, const char *path, const char *end_field,
		     GString *block, GError **error)
{
	const char *found = NULL;

	/* read until the end field, which comes before any message byte
	 * (the message may hold anything, NUL bytes too) */
	while (found == NULL && block->len < BLOCK_MAX) {
		char chunk[8192];
		gssize n = mp_io_read (fd, chunk, sizeof chunk);

		if (n < 0) {
			mp_error_set_errno (error, MP_ERROR_IO, errno, path);
			return FALSE;
		}
		if (n == 0)
			break;
		g_string_append_len (block, chunk, n);
		found = memmem (block->str, block->len, end_field,
				strlen (end_field));
	}
	if (found == NULL ||
	    memchr (block->str, '\0', (gsize) (found - block->str)) != NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: not a message stored by smtp-send (its "
			     "envelope block is missing or malformed)",
			     path);
		return FALSE;
	}
	g_string_truncate (block, (gsize) (found - block->str));
	return TRUE;
}

int
mp_outbox_open_message (MpOutbox *outbox, const char *name,
			MpOutboxEnvelope **env_out, GError **error)
{
	g_autofree char *path = NULL;
	g_autoptr (GString) block = g_string_new (NULL);
	g_autoptr (MpOutboxEnvelope) env = mp_outbox_envelope_new ();
	const char *end_field = "\n" FIELD_PREFIX "End: 1\n";
	int fd;

	if (!valid_name (name)) {
		g_set_error (error, MP_ERROR, MP_ERROR_NO_INPUT,
			     "%s: not a message name of the outbox", name);
		return -1;
	}
	path = g_build_filename (outbox->dir, name, NULL);
	fd = open_stored_file (path, error);
	if (fd < 0)
		return -1;
	if (!read_envelope_block (fd, path, end_field, block, error) ||
	    !parse_block (path, block->str, env, error)) {
		close (fd);
		return -1;
	}
	if (lseek (fd, (off_t) (block->len + strlen (end_field)), SEEK_SET) <
	    0) {
		int errsv = errno;

		close (fd);
		mp_error_set_errno (error, MP_ERROR_IO, errsv, path);
		return -1;
	}
	*env_out = g_steal_pointer (&env);
	return fd;
}

/* The path of the message @name, for removing it or setting it aside,
 * or NULL (MP_ERROR_IO) when @name is none of the outbox's. */
static char *
message_path (MpOutbox *outbox, const char *name, GError **error)
{
	if (!valid_name (name)) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO,
			     "%s: not a message name of the outbox", name);
		return NULL;
	}
	return g_build_filename (outbox->dir, name, NULL);
}

gboolean
mp_outbox_remove (MpOutbox *outbox, const char *name, GError **error)
{
	g_autofree char *path = message_path (outbox, name, error);
	g_autofree char *dir = NULL;

	if (path == NULL)
		return FALSE;
	if (unlink (path) < 0) {
		mp_error_set_errno (error, MP_ERROR_IO, errno, path);
		return FALSE;
	}
	dir = g_path_get_dirname (path);
	return sync_dir (dir, error);
}

char *
mp_outbox_set_aside (MpOutbox *outbox, const char *name, GError **error)
{
	g_autofree char *path = message_path (outbox, name, error);
	g_autofree char *dir = NULL;
	g_autofree char *failed = NULL;
	g_autofree char *target = NULL;

	if (path == NULL)
		return NULL;
	dir = g_path_get_dirname (path);
	failed = g_build_filename (outbox->dir, "failed", NULL);
	target = g_build_filename (failed, name + 4, NULL);
	if (g_mkdir_with_parents (failed, 0700) < 0 ||
	    rename (path, target) < 0) {
		mp_error_set_errno (error, MP_ERROR_IO, errno, path);
		return NULL;
	}
	if (!sync_dir (failed, error) || !sync_dir (dir, error))
		return NULL;
	return g_steal_pointer (&target);
}
