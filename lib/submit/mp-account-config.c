/* mp-account-config: reading the configuration file
 * (mp_account_config_load()): its lines checked one by one so that each
 * error names its line, then each account read through GKeyFile, its
 * values and the rules between its keys checked. */
#include "mp-account-private.h"
#include "mp-io.h"
#include "mp-secret.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A configuration file larger than this is not one. */
#define CONFIG_MAX_SIZE (1024 * 1024)

static const char *const known_keys[] = { "host",        "port",
					  "tls",         "user",
					  "auth",        "password-command",
					  "password",    "ca-file",
					  "pin-sha256",  "from",
					  "outbox",      "allowed-from",
					  "dkim-domain", "dkim-selector",
					  "dkim-key",    NULL };

static void
account_free (MpAccount *a)
{
	if (a == NULL)
		return;
	g_free (a->name);
	g_free (a->host);
	g_free (a->tls);
	g_free (a->user);
	g_free (a->auth);
	g_free (a->password_command);
	mp_secret_free (a->password);
	g_free (a->ca_file);
	g_strfreev (a->pins);
	g_free (a->from);
	g_strfreev (a->allowed_from);
	g_free (a->dkim_domain);
	g_strfreev (a->dkim_selectors);
	g_strfreev (a->dkim_keys);
	g_free (a->outbox);
	g_free (a->file);
	g_free (a);
}

/* What the line scan learnt: where each group and key is. */
typedef struct {
	GPtrArray *groups; /* char *, raw group names in file order */
	GHashTable *lines; /* "group\nkey" or "group" -> line (uint) */
} Scan;

static guint
scan_line_of (Scan *scan, const char *group, const char *key)
{
	g_autofree char *k =
		key ? g_strconcat (group, "\n", key, NULL) : g_strdup (group);

	return GPOINTER_TO_UINT (g_hash_table_lookup (scan->lines, k));
}

/* The NAME of "account NAME", or NULL. */
static char *
group_account_name (const char *group)
{
	g_autofree char *name = NULL;

	if (!g_str_has_prefix (group, "account") || !g_ascii_isspace (group[7]))
		return NULL;
	name = g_strstrip (g_strdup (group + 8));
	if (*name == '\0')
		return NULL;
	return g_steal_pointer (&name);
}

/* Reads the group line LINE ("[...]", NUL-terminated by the caller) at
 * LINENO into @scan and sets *GROUP to its name; FALSE with @error when it
 * is malformed, not "[account NAME]" or given twice. */
static gboolean
scan_group_line (const char *file, guint lineno, char *line, Scan *scan,
		 const char **group, GError **error)
{
	char *end = strchr (line, ']');
	g_autofree char *name = NULL;
	guint first;

	/* the line is not quoted: it may be a password
	 * typed in the wrong place (issue 14) */
	if (end == NULL || end[1] != '\0' || strchr (line + 1, '[') != NULL) {
		mp_account_config_error (error, file, lineno,
					 "malformed group line (want "
					 "[account NAME] alone)");
		return FALSE;
	}
	*end = '\0';
	name = group_account_name (line + 1);
	if (name == NULL) {
		mp_account_config_error (error, file, lineno,
					 "unknown group [%s] (want "
					 "[account NAME])",
					 line + 1);
		return FALSE;
	}
	first = scan_line_of (scan, line + 1, NULL);
	if (first > 0) {
		mp_account_config_error (error, file, lineno,
					 "[%s] given twice (first on "
					 "line %u)",
					 line + 1, first);
		return FALSE;
	}
	*group = line + 1;
	g_ptr_array_add (scan->groups, g_strdup (*group));
	g_hash_table_insert (scan->lines, g_strdup (*group),
			     GUINT_TO_POINTER (lineno));
	return TRUE;
}

/* Reads the "key = value" line LINE at LINENO of GROUP (NULL before the
 * first group) into @scan; FALSE with @error when it is no such line, is
 * outside a group, has an unknown or repeated key, or is a password= that
 * others can read. */
static gboolean
scan_key_line (const char *file, guint lineno, const char *line,
	       const char *group, gboolean others_can_read, gboolean ours,
	       Scan *scan, GError **error)
{
	const char *eq = strchr (line, '=');
	g_autofree char *key = NULL;
	g_autofree char *slot = NULL;

	if (eq == NULL) {
		/* not quoted: "password hunter2" lands here */
		mp_account_config_error (
			error, file, lineno,
			"not a \"key = value\" line, a [group] "
			"or a # comment");
		return FALSE;
	}
	key = g_strstrip (g_strndup (line, (gsize) (eq - line)));
	if (group == NULL) {
		mp_account_config_error (error, file, lineno,
					 "%s: outside any [account NAME] group",
					 key);
		return FALSE;
	}
	if (!g_strv_contains (known_keys, key)) {
		mp_account_config_error (error, file, lineno,
					 "unknown key \"%s\" in [%s]", key,
					 group);
		return FALSE;
	}
	slot = g_strconcat (group, "\n", key, NULL);
	if (g_hash_table_contains (scan->lines, slot)) {
		mp_account_config_error (
			error, file, lineno,
			"%s given twice in [%s] (first on line "
			"%u)",
			key, group, scan_line_of (scan, group, key));
		return FALSE;
	}
	if (g_str_equal (key, "password") && others_can_read) {
		mp_account_config_error (error, file, lineno,
					 "password= in a file that group or "
					 "others can read (chmod 600 %s)",
					 file);
		return FALSE;
	}
	if (g_str_equal (key, "password") && !ours) {
		mp_account_config_error (
			error, file, lineno,
			"password= in a file of another user, "
			"who can read it (chown it to yourself)");
		return FALSE;
	}
	g_hash_table_insert (scan->lines, g_steal_pointer (&slot),
			     GUINT_TO_POINTER (lineno));
	return TRUE;
}

/* Checks the file's structure line by line, as GKeyFile reads it, so that
 * every error can name its line (GKeyFile's own errors do not). */
static gboolean
scan_config (const char *file, const char *data, gsize len,
	     gboolean others_can_read, gboolean ours, Scan *scan,
	     GError **error)
{
	g_auto (GStrv) lines = NULL;
	g_autofree char *copy = g_strndup (data, len);
	const char *group = NULL;

	if (memchr (data, '\0', len) != NULL) {
		mp_account_config_error (error, file, 0, "holds a NUL byte");
		return FALSE;
	}
	lines = g_strsplit (copy, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		guint lineno = i + 1;
		char *line = lines[i];
		gsize n = strlen (line);

		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (!g_utf8_validate (line, -1, NULL)) {
			mp_account_config_error (error, file, lineno,
						 "not valid UTF-8");
			return FALSE;
		}
		while (g_ascii_isspace (*line))
			line++;
		if (*line == '\0' || *line == '#')
			continue;
		if (*line == '[') {
			if (!scan_group_line (file, lineno, line, scan, &group,
					      error))
				return FALSE;
			continue;
		}
		if (!scan_key_line (file, lineno, line, group, others_can_read,
				    ours, scan, error))
			return FALSE;
	}
	return TRUE;
}

/* A path value: absolute, or "~/" for the home directory. */
static char *
expand_path (const char *value)
{
	if (g_str_has_prefix (value, "~/"))
		return g_build_filename (mp_account_home_dir (), value + 2,
					 NULL);
	if (g_path_is_absolute (value))
		return g_strdup (value);
	return NULL;
}

static gboolean
is_token (const char *s, const char *extra)
{
	if (*s == '\0')
		return FALSE;
	for (; *s != '\0'; s++)
		if (!g_ascii_isalnum (*s) && strchr (extra, *s) == NULL)
			return FALSE;
	return TRUE;
}

/* A plain envelope address: local@domain, nothing around it. */
static gboolean
is_address (const char *s)
{
	const char *at = strrchr (s, '@');

	if (at == NULL || at == s || at[1] == '\0')
		return FALSE;
	for (const char *p = s; *p != '\0'; p++)
		if ((guchar) *p <= 0x20 || *p == 0x7f || strchr ("<>,;", *p))
			return FALSE;
	return TRUE;
}

static gboolean
is_host_name (const char *s)
{
	return is_token (s, ".-_:[]");
}

static gboolean
is_domain (const char *s)
{
	return is_token (s, ".-_");
}

static gboolean
is_tls_mode (const char *s)
{
	return g_str_equal (s, "starttls") || g_str_equal (s, "implicit") ||
	       g_str_equal (s, "off");
}

/* The keys whose value is kept as it is written, once @check (when there
 * is one) accepts it; @refusal ends the message 'KEY: "VALUE"...' when it
 * does not. */
static const struct {
	const char *key;
	gsize offset; /* of its char * in MpAccount */
	gboolean (*check) (const char *value);
	const char *refusal;
} plain_keys[] = {
	{ "host", G_STRUCT_OFFSET (MpAccount, host), is_host_name,
	  " is not a host name" },
	{ "tls", G_STRUCT_OFFSET (MpAccount, tls), is_tls_mode,
	  ": want starttls, implicit or off" },
	{ "user", G_STRUCT_OFFSET (MpAccount, user), NULL, NULL },
	{ "password-command", G_STRUCT_OFFSET (MpAccount, password_command),
	  NULL, NULL },
	{ "password", G_STRUCT_OFFSET (MpAccount, password), NULL, NULL },
	{ "dkim-domain", G_STRUCT_OFFSET (MpAccount, dkim_domain), is_domain,
	  " is not a domain" },
	{ "from", G_STRUCT_OFFSET (MpAccount, from), is_address,
	  " is not an address (write it as local@domain)" },
};

static char **
parse_pins (const char *value)
{
	g_auto (GStrv) words = g_strsplit_set (value, ",; \t", -1);
	g_autoptr (GPtrArray) pins = g_ptr_array_new_with_free_func (g_free);

	for (guint i = 0; words[i] != NULL; i++) {
		const char *w = words[i];
		gsize len = 0;
		g_autofree guchar *raw = NULL;

		if (*w == '\0')
			continue;
		if (g_str_has_prefix (w, "sha256//"))
			w += 8;
		if (strlen (w) != 44 || !is_token (w, "+/="))
			return NULL;
		raw = g_base64_decode (w, &len);
		if (len != 32)
			return NULL;
		g_ptr_array_add (pins, g_strdup (w));
	}
	if (pins->len == 0)
		return NULL;
	g_ptr_array_add (pins, NULL);
	return (char **) g_ptr_array_free (g_steal_pointer (&pins), FALSE);
}

/* The value of @key in @group, unescaped (a password-command as written),
 * trailing blanks dropped except in a password, and checked to be neither
 * empty nor, outside a password, holding a control character; NULL with
 * @error naming LINE otherwise. */
static char *
read_key_value (GKeyFile *kf, const char *file, guint line, const char *group,
		const char *key, GError **error)
{
	g_autoptr (GError) local = NULL;
	/* a shell command is taken as written, as the shell will read it:
	 * GKeyFile's escapes (\n, \\) would change what it does */
	g_autofree char *value =
		g_str_equal (key, "password-command") ?
			g_key_file_get_value (kf, group, key, &local) :
			g_key_file_get_string (kf, group, key, &local);

	/* GKeyFile returns a value and an error for a bad escape */
	if (value == NULL || local != NULL) {
		/* GLib's message quotes the escape: a piece of a password */
		mp_secret_wipe (value);
		mp_account_config_error (
			error, file, line, "%s: %s", key,
			g_str_equal (key, "password") ?
				"invalid escape sequence (write \\\\ "
				"for a backslash)" :
			local ? local->message :
				"unreadable");
		return NULL;
	}
	/* trailing blanks are a typing accident, except in a password */
	if (!g_str_equal (key, "password"))
		g_strchomp (value);
	if (*value == '\0') {
		mp_account_config_error (error, file, line, "%s: empty value",
					 key);
		return NULL;
	}
	/* a password may hold anything its escapes can say (\t, \n) */
	for (const char *p = value;
	     *p != '\0' && !g_str_equal (key, "password"); p++) {
		if ((guchar) *p < 0x20 || *p == 0x7f) {
			mp_account_config_error (
				error, file, line,
				"%s: control character in the value", key);
			return NULL;
		}
	}
	return g_steal_pointer (&value);
}

/* The index in plain_keys of @key, or -1 when it is not a plain key. */
static int
plain_key_index (const char *key)
{
	for (guint i = 0; i < G_N_ELEMENTS (plain_keys); i++)
		if (g_str_equal (key, plain_keys[i].key))
			return (int) i;
	return -1;
}

/* Sets a->port from VALUE; FALSE with @error unless it is a number from 1
 * to 65535. */
static gboolean
read_port (const char *file, guint line, const char *value, MpAccount *a,
	   GError **error)
{
	char *end = NULL;
	guint64 port;

	errno = 0;
	port = g_ascii_strtoull (value, &end, 10);
	if (!g_ascii_isdigit (*value) || *end != '\0' || errno != 0 ||
	    port < 1 || port > 65535) {
		mp_account_config_error (
			error, file, line,
			"port: \"%s\" is not a number from 1 to 65535", value);
		return FALSE;
	}
	a->port = (guint16) port;
	return TRUE;
}

/* Sets a->allowed_from to the addresses and @DOMAINs of VALUE; FALSE with
 * @error naming the first word that is neither. */
static gboolean
read_allowed_from (const char *file, guint line, const char *value,
		   MpAccount *a, GError **error)
{
	g_auto (GStrv) words = g_strsplit_set (value, ",; \t", -1);
	g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func (g_free);

	for (guint i = 0; words[i] != NULL; i++) {
		const char *w = words[i];

		if (*w == '\0')
			continue;
		if (!(w[0] == '@' && w[1] != '\0' && is_token (w + 1, ".-")) &&
		    !is_address (w)) {
			mp_account_config_error (
				error, file, line,
				"allowed-from: \"%s\" is neither an "
				"address nor @DOMAIN",
				w);
			return FALSE;
		}
		g_ptr_array_add (list, g_strdup (w));
	}
	g_ptr_array_add (list, NULL);
	a->allowed_from =
		(char **) g_ptr_array_free (g_steal_pointer (&list), FALSE);
	return TRUE;
}

/* Sets a->dkim_keys (KEYS, paths) or a->dkim_selectors (selector names)
 * from the list in VALUE; FALSE with @error naming the first word that is
 * a relative path or not a selector. */
static gboolean
read_dkim_list (const char *file, guint line, const char *value, gboolean keys,
		MpAccount *a, GError **error)
{
	/* several, for dual signing: "ed2026, rsa2026" */
	g_auto (GStrv) words = g_strsplit_set (value, ", \t", -1);
	g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func (g_free);

	for (guint i = 0; words[i] != NULL; i++) {
		char *w;

		if (*words[i] == '\0')
			continue;
		w = keys ? expand_path (words[i]) :
			   (is_token (words[i], ".-_") ? g_strdup (words[i]) :
							 NULL);
		if (w == NULL) {
			mp_account_config_error (
				error, file, line,
				keys ? "dkim-key: \"%s\" is relative "
				       "(write it absolute or starting "
				       "with ~/)" :
				       "dkim-selector: \"%s\" is not a "
				       "selector",
				words[i]);
			return FALSE;
		}
		g_ptr_array_add (list, w);
	}
	g_ptr_array_add (list, NULL);
	if (keys)
		a->dkim_keys = (char **) g_ptr_array_free (
			g_steal_pointer (&list), FALSE);
	else
		a->dkim_selectors = (char **) g_ptr_array_free (
			g_steal_pointer (&list), FALSE);
	return TRUE;
}

/* Reads VALUE of a key that is not a plain key (port, auth, ca-file,
 * outbox, pin-sha256, allowed-from, dkim-selector, dkim-key) into @a;
 * FALSE with @error when the value is refused. */
static gboolean
read_typed_key (const char *file, guint line, const char *key,
		const char *value, MpAccount *a, GError **error)
{
	if (g_str_equal (key, "port"))
		return read_port (file, line, value, a, error);
	if (g_str_equal (key, "auth")) {
		if (!is_token (value, "-_")) {
			mp_account_config_error (
				error, file, line,
				"auth: \"%s\" is not a SASL mechanism "
				"name",
				value);
			return FALSE;
		}
		a->auth = g_ascii_strup (value, -1);
	} else if (g_str_equal (key, "ca-file") ||
		   g_str_equal (key, "outbox")) {
		char *path = expand_path (value);

		if (path == NULL) {
			mp_account_config_error (
				error, file, line,
				"%s: \"%s\" is relative (write it "
				"absolute or starting with ~/)",
				key, value);
			return FALSE;
		}
		if (g_str_equal (key, "outbox"))
			a->outbox = path;
		else
			a->ca_file = path;
	} else if (g_str_equal (key, "pin-sha256")) {
		a->pins = parse_pins (value);
		if (a->pins == NULL) {
			mp_account_config_error (
				error, file, line,
				"pin-sha256: want base64 SHA-256 hashes "
				"(44 characters each), separated by "
				"commas");
			return FALSE;
		}
	} else if (g_str_equal (key, "allowed-from")) {
		return read_allowed_from (file, line, value, a, error);
	} else if (g_str_equal (key, "dkim-selector") ||
		   g_str_equal (key, "dkim-key")) {
		return read_dkim_list (file, line, value,
				       g_str_equal (key, "dkim-key"), a, error);
	}
	return TRUE;
}

/* Reads, unescapes and checks the value of @key of account @a. */
static gboolean
read_key (GKeyFile *kf, Scan *scan, const char *file, const char *group,
	  const char *key, MpAccount *a, GError **error)
{
	guint line = scan_line_of (scan, group, key);
	/* wiped when freed, whichever way this ends (a password refused) */
	g_autoptr (MpSecretStr) value =
		read_key_value (kf, file, line, group, key, error);
	int i;

	if (value == NULL)
		return FALSE;
	i = plain_key_index (key);
	if (i >= 0) {
		if (plain_keys[i].check != NULL &&
		    !plain_keys[i].check (value)) {
			mp_account_config_error (error, file, line,
						 "%s: \"%s\"%s", key, value,
						 plain_keys[i].refusal);
			return FALSE;
		}
		*(char **) G_STRUCT_MEMBER_P (a, plain_keys[i].offset) =
			g_steal_pointer (&value);
		return TRUE;
	}
	return read_typed_key (file, line, key, value, a, error);
}

gboolean
mp_account_read_file (const char *path, gboolean must_exist, char **data,
		      gsize *len, struct stat *st, gboolean *missing,
		      GError **error)
{
	int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	GString *buf;

	*missing = FALSE;
	if (fd < 0) {
		if (errno == ENOENT && !must_exist) {
			*missing = TRUE;
			return TRUE;
		}
		mp_account_config_error (error, path, 0, "%s",
					 g_strerror (errno));
		return FALSE;
	}
	if (fstat (fd, st) < 0) {
		int errsv = errno;

		close (fd);
		mp_account_config_error (error, path, 0, "%s",
					 g_strerror (errsv));
		return FALSE;
	}
	/* a regular file, or /dev/null to say "no accounts" */
	if (!S_ISREG (st->st_mode) && !S_ISCHR (st->st_mode)) {
		close (fd);
		mp_account_config_error (error, path, 0, "%s",
					 S_ISDIR (st->st_mode) ?
						 g_strerror (EISDIR) :
						 "not a regular file");
		return FALSE;
	}
	buf = g_string_new (NULL);
	for (;;) {
		char chunk[8192];
		gssize n = mp_io_read (fd, chunk, sizeof chunk);

		if (n < 0) {
			int errsv = errno;

			close (fd);
			g_string_free (buf, TRUE);
			mp_account_config_error (error, path, 0, "%s",
						 g_strerror (errsv));
			return FALSE;
		}
		if (n == 0)
			break;
		g_string_append_len (buf, chunk, n);
		if (buf->len > CONFIG_MAX_SIZE) {
			close (fd);
			g_string_free (buf, TRUE);
			mp_account_config_error (error, path, 0,
						 "larger than 1 MiB");
			return FALSE;
		}
	}
	close (fd);
	*len = buf->len;
	*data = g_string_free (buf, FALSE);
	return TRUE;
}

/* Checks the rules between the keys of account @a of GROUP: dkim-domain,
 * dkim-selector and dkim-key together, one selector per key, and not both
 * password and password-command; FALSE with @error otherwise. */
static gboolean
check_account (Scan *scan, const char *file, const char *group,
	       const MpAccount *a, GError **error)
{
	if ((a->dkim_domain != NULL) != (a->dkim_keys != NULL) ||
	    (a->dkim_keys != NULL) != (a->dkim_selectors != NULL) ||
	    (a->dkim_keys != NULL &&
	     (g_strv_length (a->dkim_keys) !=
		      g_strv_length (a->dkim_selectors) ||
	      a->dkim_keys[0] == NULL))) {
		mp_account_config_error (
			error, file, a->line,
			"[%s]: dkim-domain, dkim-selector and "
			"dkim-key go together, one selector per "
			"key",
			group);
		return FALSE;
	}
	if (a->password != NULL && a->password_command != NULL) {
		mp_account_config_error (error, file,
					 scan_line_of (scan, group, "password"),
					 "[%s] has both password and "
					 "password-command",
					 group);
		return FALSE;
	}
	return TRUE;
}

/* Reads the account of GROUP from @kf into a new MpAccount appended to
 * ACCOUNTS (there even when it fails); FALSE with @error when a key or
 * the rules between keys refuse it. */
static gboolean
read_account (GKeyFile *kf, Scan *scan, const char *file, const char *group,
	      GPtrArray *accounts, GError **error)
{
	MpAccount *a = g_new0 (MpAccount, 1);
	g_auto (GStrv) keys = NULL;

	a->name = group_account_name (group);
	a->file = g_strdup (file);
	a->line = scan_line_of (scan, group, NULL);
	g_ptr_array_add (accounts, a);
	keys = g_key_file_get_keys (kf, group, NULL, NULL);
	for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
		if (!read_key (kf, scan, file, group, keys[k], a, error))
			return FALSE;
	return check_account (scan, file, group, a, error);
}

/* Reads the accounts of the checked file DATA (LEN bytes) in the order of
 * scan->groups into ACCOUNTS; FALSE with @error when GKeyFile cannot read
 * it or an account is refused. */
static gboolean
read_accounts (const char *file, const char *data, gsize len, Scan *scan,
	       GPtrArray *accounts, GError **error)
{
	g_autoptr (GKeyFile) kf = g_key_file_new ();
	g_autoptr (GError) local = NULL;

	if (!g_key_file_load_from_data (kf, data, len, G_KEY_FILE_NONE,
					&local)) {
		/* GLib's message may quote a line: a password, perhaps */
		mp_account_config_error (error, file, 0,
					 "not a valid key file");
		return FALSE;
	}
	for (guint i = 0; i < scan->groups->len; i++)
		if (!read_account (kf, scan, file,
				   g_ptr_array_index (scan->groups, i),
				   accounts, error))
			return FALSE;
	return TRUE;
}

MpAccountConfig *
mp_account_config_load (const char *path, GError **error)
{
	g_autofree char *file =
		path ? g_strdup (path) : mp_account_config_path ();
	gboolean explicit_file =
		path != NULL || (g_getenv ("MIMEPIPE_CONFIG") != NULL &&
				 *g_getenv ("MIMEPIPE_CONFIG") != '\0');
	MpAccountConfig *config = g_new0 (MpAccountConfig, 1);
	char *data = NULL;
	gsize len = 0;
	struct stat st = { 0 };
	gboolean missing;
	Scan scan = { 0 };
	gboolean ok = FALSE;

	config->accounts =
		g_ptr_array_new_with_free_func ((GDestroyNotify) account_free);
	if (!mp_account_read_file (file, explicit_file, &data, &len, &st,
				   &missing, error)) {
		mp_account_config_free (config);
		return NULL;
	}
	if (missing)
		return config;
	config->file = g_strdup (file);

	scan.groups = g_ptr_array_new_with_free_func (g_free);
	scan.lines =
		g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	ok = scan_config (file, data, len,
			  (st.st_mode & (S_IRGRP | S_IROTH)) != 0,
			  st.st_uid == geteuid () || S_ISCHR (st.st_mode),
			  &scan, error) &&
	     read_accounts (file, data, len, &scan, config->accounts, error);
	mp_secret_free_len (data, len);
	g_ptr_array_unref (scan.groups);
	g_hash_table_unref (scan.lines);
	if (!ok) {
		mp_account_config_free (config);
		return NULL;
	}
	return config;
}
