#include "mp-extract.h"
#include "mp-error.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
mp_extracted_free (MpExtracted *e)
{
	if (e == NULL)
		return;
	g_free (e->section);
	g_free (e->name);
	g_free (e);
}

/* ---- choosing ---------------------------------------------------------- */

static gboolean
glob_any (char **globs, const char *value)
{
	g_autofree char *v = NULL;
	guint i;

	if (value == NULL)
		return FALSE;
	v = g_utf8_casefold (value, -1);
	for (i = 0; globs[i]; i++) {
		g_autofree char *g = g_utf8_casefold (globs[i], -1);

		if (g_pattern_match_simple (g, v))
			return TRUE;
	}
	return FALSE;
}

static gboolean
is_attachment (MpShowPart *p)
{
	if (p->kind == MP_SHOW_UUENCODED)
		return TRUE;
	if (p->disposition && g_str_equal (p->disposition, "attachment"))
		return TRUE;
	/* a named part that is not shown inline */
	return p->filename != NULL &&
	       !(p->disposition && g_str_equal (p->disposition, "inline"));
}

GPtrArray *
mp_extract_select (MpShow *show, const MpExtractRequest *req, char **missing,
		   GError **error)
{
	GPtrArray *parts = mp_show_get_parts (show);
	g_autoptr (GPtrArray) out = g_ptr_array_new ();
	MpShowPart *cut = NULL;
	guint i;

	for (i = 0; req->parts && req->parts[i]; i++) {
		MpShowPart *p = mp_show_find (show, req->parts[i]);

		if (p == NULL) {
			if (missing)
				*missing = g_strdup (req->parts[i]);
			return NULL;
		}
		if (p->kind == MP_SHOW_MULTIPART) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "part %s is a %s: choose one of its parts",
				     p->section, p->type);
			return NULL;
		}
	}
	for (i = 0; i < parts->len; i++) {
		MpShowPart *p = parts->pdata[i];
		gboolean named = FALSE;
		guint j;

		if (p->kind == MP_SHOW_MULTIPART)
			continue;
		for (j = 0; req->parts && req->parts[j]; j++)
			if (g_ascii_strcasecmp (req->parts[j], p->section) == 0)
				named = TRUE;
		if (req->parts && !named)
			continue;
		if (req->types && !glob_any (req->types, p->type))
			continue;
		if (p->kind == MP_SHOW_MESSAGE && !named && !req->types)
			continue;
		if (req->filenames && !glob_any (req->filenames, p->filename))
			continue;
		if (req->attachments && !is_attachment (p))
			continue;
		/* never a file that may be cut short */
		if (p->truncated) {
			if (named || cut == NULL)
				cut = p;
			if (!named)
				continue;
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "part %s is cut short: the message is "
				     "truncated (a multipart lacks its "
				     "closing delimiter)",
				     p->section);
			return NULL;
		}
		g_ptr_array_add (out, p);
	}
	if (out->len == 0 && cut) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "part %s is cut short: the message is truncated "
			     "(a multipart lacks its closing delimiter)",
			     cut->section);
		return NULL;
	}
	return g_steal_pointer (&out);
}

/* ---- names ------------------------------------------------------------- */

static gboolean
reserved (const char *name)
{
	static const char *const dos[] = { "con", "prn", "aux", "nul", NULL };
	gsize stem = strcspn (name, ".");
	g_autofree char *low = g_ascii_strdown (name, (gssize) stem);

	while (stem > 0 && low[stem - 1] == ' ')
		low[--stem] = '\0';
	if (g_strv_contains (dos, low))
		return TRUE;
	return stem == 4 &&
	       (g_str_has_prefix (low, "com") ||
		g_str_has_prefix (low, "lpt")) &&
	       low[3] >= '1' && low[3] <= '9';
}

/* The length of the extension of @name (".pdf"), 0 when none or when it
 * is too long to be one. */
static gsize
extension_len (const char *name)
{
	const char *dot = strrchr (name, '.');
	gsize len;

	if (dot == NULL || dot == name)
		return 0;
	len = strlen (dot);
	return len <= 16 ? len : 0;
}

/* How many of the first @len bytes of @s to keep for at most @keep bytes
 * without splitting a character. */
static gsize
cut_len (const char *s, gsize len, gsize keep)
{
	const char *cut;

	if (len <= keep)
		return len;
	cut = g_utf8_find_prev_char (s, s + keep + 1);
	while (cut && (gsize) (cut - s) > keep)
		cut = g_utf8_find_prev_char (s, cut);
	return cut ? (gsize) (cut - s) : 0;
}

char *
mp_extract_safe_name (const char *name)
{
	g_autofree char *valid = NULL;
	const char *base, *p;
	GString *s;
	gsize ext, start;

	if (name == NULL)
		return NULL;
	valid = g_utf8_make_valid (name, -1);
	base = valid;
	for (p = valid; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	s = g_string_new (NULL);
	for (p = base; *p; p = g_utf8_next_char (p)) {
		gunichar c = g_utf8_get_char (p);

		if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) ||
		    c == 0xfffd)
			g_string_append_c (s, '_');
		else
			g_string_append_unichar (s, c);
	}
	/* no leading dot (hidden files, "..") or dash (an option to the
	 * next command), no trailing dot or blank (Windows drops them) */
	for (start = 0; start < s->len && strchr (".- \t", s->str[start]);
	     start++)
		;
	g_string_erase (s, 0, (gssize) start);
	while (s->len > 0 && strchr (". \t", s->str[s->len - 1]))
		g_string_truncate (s, s->len - 1);
	if (s->len == 0) {
		g_string_free (s, TRUE);
		return NULL;
	}
	if (reserved (s->str))
		g_string_prepend_c (s, '_');
	if (s->len > MP_EXTRACT_NAME_MAX) {
		g_autofree char *tail = NULL;

		ext = extension_len (s->str);
		tail = g_strdup (s->str + s->len - ext);
		g_string_truncate (s, cut_len (s->str, s->len - ext,
					       MP_EXTRACT_NAME_MAX - ext));
		g_string_append (s, tail);
	}
	return g_string_free (s, FALSE);
}

static const char *
type_extension (const char *type)
{
	static const char *const table[][2] = {
		{ "text/plain", "txt" },
		{ "text/html", "html" },
		{ "text/csv", "csv" },
		{ "text/calendar", "ics" },
		{ "text/xml", "xml" },
		{ "text/rfc822-headers", "txt" },
		{ "message/rfc822", "eml" },
		{ "message/global", "eml" },
		{ "message/delivery-status", "txt" },
		{ "message/disposition-notification", "txt" },
		{ "application/pdf", "pdf" },
		{ "application/zip", "zip" },
		{ "application/json", "json" },
		{ "application/xml", "xml" },
		{ "application/pgp-signature", "asc" },
		{ "application/pgp-keys", "asc" },
		{ "application/pkcs7-signature", "p7s" },
		{ "application/pkcs7-mime", "p7m" },
		{ "image/png", "png" },
		{ "image/jpeg", "jpg" },
		{ "image/gif", "gif" },
		{ "image/svg+xml", "svg" },
		{ "image/webp", "webp" },
		{ "audio/mpeg", "mp3" },
		{ "video/mp4", "mp4" },
	};
	guint i;

	for (i = 0; i < G_N_ELEMENTS (table); i++)
		if (g_str_equal (table[i][0], type))
			return table[i][1];
	return "bin";
}

char *
mp_extract_part_name (MpShowPart *part)
{
	char *name = mp_extract_safe_name (part->filename);

	if (name)
		return name;
	return g_strdup_printf ("part-%s.%s", part->section,
				type_extension (part->type));
}

char *
mp_extract_numbered_name (const char *name, guint n)
{
	gsize ext = extension_len (name);
	gsize stem = strlen (name) - ext;
	g_autofree char *num = g_strdup_printf ("-%u", n);
	/* within MP_EXTRACT_NAME_MAX still: the stem gives way (the
	 * extension is at most 16 bytes, the number 11) */
	gsize keep = MP_EXTRACT_NAME_MAX - ext - strlen (num);

	return g_strdup_printf ("%.*s%s%s", (int) cut_len (name, stem, keep),
				name, num, name + stem);
}

/* ---- writing ------------------------------------------------------------ */

typedef struct {
	int fd;
	char *tmp_name; /* when O_TMPFILE could not be used */
	MpShowPart *part;
	gint64 size;
	const char *what; /* for messages: the folder */
} Pending;

static gboolean
write_fd (const char *data, gsize len, gpointer user_data, GError **error)
{
	Pending *p = user_data;
	int errsv;

	if (!mp_io_write_all (p->fd, data, len, &errsv)) {
		mp_error_set_errno (error, MP_ERROR_IO, errsv, p->what);
		return FALSE;
	}
	p->size += (gint64) len;
	return TRUE;
}

/* An unnamed file in @dirfd (O_TMPFILE), else one with a hidden random
 * name created with O_EXCL. */
static int
open_temp (int dirfd, char **tmp_name, GError **error, const char *dir)
{
	int fd, tries;

#ifdef O_TMPFILE
	fd = openat (dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL &&
	    errno != ENOENT) {
		mp_error_set_errno (error, MP_ERROR_CANT_CREATE, errno, dir);
		return -1;
	}
#endif
	for (tries = 0; tries < 100; tries++) {
		g_autofree char *name =
			g_strdup_printf (".mime-extract-%08x", g_random_int ());

		fd = openat (dirfd, name,
			     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				     O_CLOEXEC,
			     0666);
		if (fd >= 0) {
			*tmp_name = g_steal_pointer (&name);
			return fd;
		}
		if (errno != EEXIST)
			break;
	}
	mp_error_set_errno (error, MP_ERROR_CANT_CREATE, errno, dir);
	return -1;
}

/* Links the open file @fd (O_TMPFILE) into @dirfd as @name. */
static gboolean
link_fd (int dirfd, int fd, const char *name)
{
	g_autofree char *proc = NULL;

	if (linkat (fd, "", dirfd, name, AT_EMPTY_PATH) == 0)
		return TRUE;
	if (errno == EEXIST)
		return FALSE;
	proc = g_strdup_printf ("/proc/self/fd/%d", fd);
	return linkat (AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) == 0;
}

/* Gives the file of @p the name @name in @dirfd; FALSE with errno EEXIST
 * when the name is taken (and not @force). */
static gboolean
name_file (int dirfd, Pending *p, const char *name, gboolean force)
{
	if (p->tmp_name == NULL) {
		int tries;

		if (!force)
			return link_fd (dirfd, p->fd, name);
		/* a hidden name first, then renamed over @name */
		for (tries = 0; p->tmp_name == NULL; tries++) {
			g_autofree char *tmp = g_strdup_printf (
				".mime-extract-%08x", g_random_int ());

			if (link_fd (dirfd, p->fd, tmp))
				p->tmp_name = g_steal_pointer (&tmp);
			else if (errno != EEXIST || tries > 100)
				return FALSE;
		}
	}
	if (force) {
		if (renameat (dirfd, p->tmp_name, dirfd, name) != 0)
			return FALSE;
	} else {
		if (linkat (dirfd, p->tmp_name, dirfd, name, 0) != 0)
			return FALSE;
		unlinkat (dirfd, p->tmp_name, 0);
	}
	g_clear_pointer (&p->tmp_name, g_free);
	return TRUE;
}

static gboolean
name_taken (int dirfd, const char *name, GHashTable *used)
{
	struct stat st;

	if (g_hash_table_contains (used, name))
		return TRUE;
	return dirfd >= 0 &&
	       fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void
pending_clear (gpointer data)
{
	Pending *p = data;

	if (p->fd >= 0)
		close (p->fd);
	g_free (p->tmp_name);
}

/* Writes each part to a temporary file below @dirfd (@pending). */
static gboolean
write_pending (int dirfd, GPtrArray *parts, GArray *pending, const char *what,
	       GError **error)
{
	for (guint i = 0; i < parts->len; i++) {
		Pending p = { -1, NULL, parts->pdata[i], 0, what };

		p.fd = open_temp (dirfd, &p.tmp_name, error, what);
		if (p.fd < 0)
			return FALSE;
		g_array_append_val (pending, p);
		if (!mp_show_decode (
			    p.part, write_fd,
			    &g_array_index (pending, Pending, pending->len - 1),
			    error))
			return FALSE;
	}
	return TRUE;
}

/* The name @part gets: its own, else numbered, neither used by this run
 * nor taken (but with @force); @p (NULL for a dry run) is given it.
 * NULL with @error set when none can be. */
static char *
choose_name (int dirfd, MpShowPart *part, Pending *p, GHashTable *used,
	     gboolean force, const char *what, GError **error)
{
	g_autofree char *base = mp_extract_part_name (part);
	g_autofree char *name = g_strdup (base);
	guint n = 0;

	for (;;) {
		if (!g_hash_table_contains (used, name) &&
		    (force || !name_taken (dirfd, name, used))) {
			if (p == NULL || name_file (dirfd, p, name, force))
				return g_steal_pointer (&name);
			if (errno != EEXIST) {
				mp_error_set_errno (error, MP_ERROR_CANT_CREATE,
						    errno, name);
				g_prefix_error (error, "%s/", what);
				return NULL;
			}
		}
		if (++n > 100000) {
			g_set_error (error, MP_ERROR, MP_ERROR_CANT_CREATE,
				     "%s/%s: too many files of that name", what,
				     base);
			return NULL;
		}
		g_free (name);
		name = mp_extract_numbered_name (base, n);
	}
}

/* Whole or nothing: what this run named goes again (a file --force
 * replaced cannot come back), and so do the temporary files. */
static void
undo (int dirfd, GPtrArray *done, GArray *pending)
{
	for (guint i = 0; i < done->len; i++) {
		MpExtracted *e = done->pdata[i];

		unlinkat (dirfd, e->name, 0);
	}
	for (guint i = 0; i < pending->len; i++) {
		Pending *p = &g_array_index (pending, Pending, i);

		if (p->tmp_name)
			unlinkat (dirfd, p->tmp_name, 0);
	}
}

GPtrArray *
mp_extract_to_dir (GPtrArray *parts, const char *dir,
		   const MpExtractRequest *req, gboolean dry_run,
		   GError **error)
{
	g_autoptr (GPtrArray) done = g_ptr_array_new_with_free_func (
		(GDestroyNotify) mp_extracted_free);
	g_autoptr (GArray) pending =
		g_array_new (FALSE, TRUE, sizeof (Pending));
	g_autoptr (GHashTable) used =
		g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	const char *what = dir ? dir : ".";
	int dirfd;
	guint i;
	gboolean ok;

	g_array_set_clear_func (pending, pending_clear);
	dirfd = open (what, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		mp_error_set_errno (error, MP_ERROR_CANT_CREATE, errno, what);
		return NULL;
	}

	/* every part complete first ... */
	ok = dry_run || write_pending (dirfd, parts, pending, what, error);
	/* ... then named, never over a file but with --force */
	for (i = 0; ok && i < parts->len; i++) {
		MpShowPart *part = parts->pdata[i];
		Pending *p =
			dry_run ? NULL : &g_array_index (pending, Pending, i);
		char *name = choose_name (dirfd, part, p, used, req->force,
					  what, error);
		MpExtracted *e;

		if (name == NULL) {
			ok = FALSE;
			break;
		}
		g_hash_table_add (used, g_strdup (name));
		e = g_new0 (MpExtracted, 1);
		e->section = g_strdup (part->section);
		e->name = name;
		e->size = dry_run ? part->size : p->size;
		g_ptr_array_add (done, e);
	}
	if (!ok && !dry_run)
		undo (dirfd, done, pending);
	close (dirfd);
	return ok ? g_steal_pointer (&done) : NULL;
}

static gboolean
write_output (const char *data, gsize len, gpointer user_data, GError **error)
{
	return mp_output_write (user_data, data, len, error);
}

gboolean
mp_extract_to_output (MpShowPart *part, MpOutput *out, GError **error)
{
	return mp_show_decode (part, write_output, out, error);
}
