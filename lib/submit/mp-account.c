/* mp-account: where the configuration file is, the errors that name its
 * lines, and choosing an account (by name, by From address, or
 * "default"). */
#include "mp-account-private.h"
#include "mp-error.h"

#include <stdarg.h>
#include <string.h>

const char *
mp_account_home_dir (void)
{
	const char *home = g_getenv ("HOME");

	return home != NULL && *home == '/' ? home : g_get_home_dir ();
}

char *
mp_account_config_path (void)
{
	const char *env = g_getenv ("MIMEPIPE_CONFIG");
	const char *xdg = g_getenv ("XDG_CONFIG_HOME");

	if (env != NULL && *env != '\0')
		return g_strdup (env);
	/* XDG Base Directory: a relative value is invalid and ignored */
	if (xdg != NULL && *xdg == '/')
		return g_build_filename (xdg, "mimepipe", "config", NULL);
	return g_build_filename (mp_account_home_dir (), ".config", "mimepipe",
				 "config", NULL);
}

G_GNUC_PRINTF (4, 5)
void
mp_account_config_error (GError **error, const char *file, guint line,
			 const char *fmt, ...)
{
	va_list ap;
	g_autofree char *msg = NULL;

	va_start (ap, fmt);
	msg = g_strdup_vprintf (fmt, ap);
	va_end (ap);
	if (line > 0)
		g_set_error (error, MP_ERROR, MP_ERROR_CONFIG, "%s:%u: %s",
			     file, line, msg);
	else
		g_set_error (error, MP_ERROR, MP_ERROR_CONFIG, "%s: %s", file,
			     msg);
}

void
mp_account_config_free (MpAccountConfig *config)
{
	if (config == NULL)
		return;
	g_free (config->file);
	g_ptr_array_unref (config->accounts);
	g_free (config);
}

const char *
mp_account_config_get_file (MpAccountConfig *config)
{
	return config->file;
}

GPtrArray *
mp_account_config_get_accounts (MpAccountConfig *config)
{
	return config->accounts;
}

const MpAccount *
mp_account_config_find (MpAccountConfig *config, const char *name)
{
	for (guint i = 0; i < config->accounts->len; i++) {
		const MpAccount *a = g_ptr_array_index (config->accounts, i);

		if (g_str_equal (a->name, name))
			return a;
	}
	return NULL;
}

/* The same address for choosing an account: the local part without
 * regard to case, the domain compared as A-labels (a message's From may
 * carry either form of an IDN domain, and so may from=). */
static gboolean
same_address (const char *x, const char *y)
{
	const char *ax = strrchr (x, '@');
	const char *ay = strrchr (y, '@');
	g_autofree char *dx = NULL;
	g_autofree char *dy = NULL;

	if (ax == NULL || ay == NULL)
		return g_ascii_strcasecmp (x, y) == 0;
	if (ax - x != ay - y ||
	    g_ascii_strncasecmp (x, y, (gsize) (ax - x)) != 0)
		return FALSE;
	dx = g_hostname_to_ascii (ax + 1);
	dy = g_hostname_to_ascii (ay + 1);
	return dx != NULL && dy != NULL && g_ascii_strcasecmp (dx, dy) == 0;
}

gboolean
mp_account_allows_from (const MpAccount *a, const char *addr)
{
	const char *at = strrchr (addr, '@');

	if (a->from == NULL && a->allowed_from == NULL)
		return TRUE;
	if (a->from != NULL && same_address (a->from, addr))
		return TRUE;
	for (guint i = 0; a->allowed_from != NULL && a->allowed_from[i]; i++) {
		const char *w = a->allowed_from[i];

		if (w[0] != '@') {
			if (same_address (w, addr))
				return TRUE;
		} else if (at != NULL) {
			g_autofree char *want = g_hostname_to_ascii (w + 1);
			g_autofree char *got = g_hostname_to_ascii (at + 1);

			if (want != NULL && got != NULL &&
			    g_ascii_strcasecmp (want, got) == 0)
				return TRUE;
		}
	}
	return FALSE;
}

const MpAccount *
mp_account_select (MpAccountConfig *config, const char *name, const char *from,
		   GError **error)
{
	const MpAccount *a;

	if (name != NULL) {
		a = mp_account_config_find (config, name);
		if (a == NULL) {
			g_autofree char *file = mp_account_config_path ();

			mp_account_config_error (
				error, config->file ? config->file : file, 0,
				config->file ? "no [account %s]" :
					       "no [account %s] (the file does "
					       "not exist)",
				name);
		}
		return a;
	}
	if (from != NULL && *from != '\0') {
		for (guint i = 0; i < config->accounts->len; i++) {
			a = g_ptr_array_index (config->accounts, i);
			if (a->from != NULL && same_address (a->from, from))
				return a;
		}
	}
	return mp_account_config_find (config, "default");
}
