/* mp-account-password: where a password comes from: a password command,
 * the account's password=, ~/.netrc or MIMEPIPE_PASSWORD. */
#include "mp-account-private.h"
#include "mp-error.h"
#include "mp-secret.h"

#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* The first lines of a command's stderr, on one line. */
static char *
stderr_summary (const char *err)
{
	g_autofree char *copy = g_strdup (err ? err : "");
	g_auto (GStrv) lines = NULL;
	GString *out = g_string_new (NULL);

	lines = g_strsplit (g_strstrip (copy), "\n", 4);
	for (guint i = 0; lines[i] != NULL && i < 3; i++) {
		char *l = g_strstrip (lines[i]);

		if (*l == '\0')
			continue;
		if (out->len > 0)
			g_string_append (out, " / ");
		g_string_append (out, l);
	}
	for (gsize i = 0; i < out->len; i++)
		if ((guchar) out->str[i] < 0x20 || out->str[i] == 0x7f)
			out->str[i] = '?';
	if (out->len > 300) {
		g_string_truncate (out, 300);
		g_string_append (out, "...");
	}
	return g_string_free (out, FALSE);
}

char *
mp_account_run_password_command (const char *command, const char *what,
				 GError **error)
{
	const char *argv[] = { "/bin/sh", "-c", command, NULL };
	g_autofree char *out = NULL;
	g_autofree char *err = NULL;
	g_autofree char *summary = NULL;
	g_autoptr (GError) local = NULL;
	int status = 0;
	gsize len;

	if (!g_spawn_sync (NULL, (char **) argv, NULL,
			   G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL, &out, &err,
			   &status, &local)) {
		g_set_error (error, MP_ERROR, MP_ERROR_CONFIG,
			     "%s: cannot run: %s", what, local->message);
		return NULL;
	}
	summary = stderr_summary (err);
	if (WIFSIGNALED (status)) {
		g_set_error (error, MP_ERROR, MP_ERROR_CONFIG,
			     "%s: killed by signal %d%s%s", what,
			     WTERMSIG (status), *summary ? ": " : "", summary);
		goto fail;
	}
	if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
		int code = WIFEXITED (status) ? WEXITSTATUS (status) : -1;

		/* sysexits: the helper says "try later" (an OAuth2 token
		 * server out of reach), and so do we */
		g_set_error (error, MP_ERROR,
			     code == 75 ? MP_ERROR_TEMPFAIL : MP_ERROR_CONFIG,
			     "%s: exited with status %d%s%s", what, code,
			     *summary ? ": " : "", summary);
		goto fail;
	}
	len = strlen (out);
	if (len > 0 && out[len - 1] == '\n')
		out[--len] = '\0';
	if (len > 0 && out[len - 1] == '\r')
		out[--len] = '\0';
	if (len == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_CONFIG,
			     "%s: printed no password", what);
		goto fail;
	}
	return g_steal_pointer (&out);
fail:
	mp_secret_wipe (out);
	return NULL;
}

/* The next netrc token: words separated by blanks, or a double-quoted
 * string with backslash escapes. */
static char *
netrc_token (const char **pp)
{
	const char *p = *pp;
	GString *tok;

	while (*p != '\0' && g_ascii_isspace (*p))
		p++;
	if (*p == '\0') {
		*pp = p;
		return NULL;
	}
	tok = g_string_new (NULL);
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			g_string_append_c (tok, *p);
		}
		if (*p == '"')
			p++;
	} else {
		for (; *p != '\0' && !g_ascii_isspace (*p); p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			g_string_append_c (tok, *p);
		}
	}
	*pp = p;
	return g_string_free (tok, FALSE);
}

/* Reads the login/password/account pairs of one entry from *PP into
 * *LOGIN and *PASS (a later pair replaces an earlier one); returns the
 * token that starts the next entry ("machine", "default", "macdef"), or
 * NULL at the end. */
static char *
netrc_read_pairs (const char **pp, char **login, char **pass)
{
	char *tok;

	while ((tok = netrc_token (pp)) != NULL) {
		char **slot = NULL;

		if (g_str_equal (tok, "machine") ||
		    g_str_equal (tok, "default") || g_str_equal (tok, "macdef"))
			break;
		if (g_str_equal (tok, "login"))
			slot = login;
		else if (g_str_equal (tok, "password"))
			slot = pass;
		g_free (tok);
		tok = netrc_token (pp);
		if (slot != NULL && tok != NULL) {
			mp_secret_free (*slot);
			*slot = tok;
			tok = NULL;
		}
		g_free (tok);
	}
	return tok;
}

/* The password of the first entry of the netrc text DATA for HOST (or
 * "default") whose login is USER (any when either is absent), or NULL. */
static char *
netrc_find_password (const char *data, const char *host, const char *user)
{
	const char *p = data;
	char *found = NULL;
	/* an entry: "machine NAME" or "default", then login/password/account
	 * pairs until the next entry */
	char *tok = netrc_token (&p);

	while (tok != NULL && found == NULL) {
		gboolean is_default = g_str_equal (tok, "default");
		gboolean is_machine = g_str_equal (tok, "machine");
		g_autofree char *machine = NULL;
		g_autofree char *login = NULL;
		char *pass = NULL;

		if (g_str_equal (tok, "macdef")) {
			/* a macro runs to the next blank line */
			const char *end = strstr (p, "\n\n");

			g_free (tok);
			p = end ? end + 2 : p + strlen (p);
			tok = netrc_token (&p);
			continue;
		}
		g_free (tok);
		tok = NULL;
		if (!is_default && !is_machine) {
			tok = netrc_token (&p);
			continue;
		}
		if (is_machine)
			machine = netrc_token (&p);
		tok = netrc_read_pairs (&p, &login, &pass);
		if ((is_default || (machine != NULL &&
				    g_ascii_strcasecmp (machine, host) == 0)) &&
		    (user == NULL || login == NULL ||
		     g_str_equal (login, user)) &&
		    pass != NULL)
			found = g_steal_pointer (&pass);
		mp_secret_free (pass);
	}
	g_free (tok);
	return found;
}

gboolean
mp_account_netrc_lookup (const char *path, const char *host, const char *user,
			 char **password, GError **error)
{
	char *data = NULL;
	gsize len = 0;
	struct stat st = { 0 };
	gboolean missing;

	*password = NULL;
	if (!mp_account_read_file (path, FALSE, &data, &len, &st, &missing,
				   error))
		return FALSE;
	if (missing)
		return TRUE;
	*password = netrc_find_password (data, host, user);
	mp_secret_free_len (data, len);
	if (*password != NULL && (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
		g_clear_pointer (password, mp_secret_free);
		mp_account_config_error (
			error, path, 0,
			"holds a password but group or others can read "
			"it (chmod 600 %s)",
			path);
		return FALSE;
	}
	return TRUE;
}

char *
mp_account_get_password (const char *host, const char *user,
			 const char *password_command, const char *password,
			 const char *what, GError **error)
{
	g_autofree char *netrc = NULL;
	char *found = NULL;
	const char *env;

	if (password_command != NULL)
		return mp_account_run_password_command (password_command, what,
							error);
	if (password != NULL)
		return g_strdup (password);
	if (host != NULL) {
		netrc = g_build_filename (mp_account_home_dir (), ".netrc",
					  NULL);
		if (!mp_account_netrc_lookup (netrc, host, user, &found, error))
			return NULL;
		if (found != NULL)
			return found;
	}
	env = g_getenv ("MIMEPIPE_PASSWORD");
	if (env != NULL && *env != '\0')
		return g_strdup (env);
	g_set_error (error, MP_ERROR, MP_ERROR_CONFIG,
		     "%s: no password for %s at %s: set password-command, add "
		     "a ~/.netrc entry or set MIMEPIPE_PASSWORD",
		     what, user ? user : "(no user)",
		     host ? host : "(no host)");
	return NULL;
}
