/* mp-dkim-module: mp-dkim's crypto (mp-dkim-crypto.h) from the module
 * built from mp-dkim-gnutls.c, loaded the first time a key is read.
 * smtp-send links this instead of GnuTLS: GnuTLS, nettle, hogweed, gmp,
 * p11-kit and libtasn1 (with its ASN.1 constructor) are then loaded only
 * for an account that signs (issue 21: ~1.8 ms and 160 page faults at
 * every start otherwise). */
#include "mp-dkim-crypto.h"
#include "mp-error.h"

#include <gmodule.h>
#include <string.h>

#ifndef MP_DKIM_MODULE_NAME
#error "MP_DKIM_MODULE_NAME: the module's file name (lib/message/meson.build)"
#endif

static GMutex lock;
static const MpDkimCrypto *loaded;
static GError *failure; /* why it could not be loaded, once tried */

/* Where the module may be, in this order: in mimepipe/ beside the
 * executable (the build tree, where tests run: tools/mimepipe); in
 * libdir/mimepipe of the prefix the executable is installed in (bindir),
 * wherever that tree was moved; in the libdir/mimepipe it was built
 * for. */
static GPtrArray *
module_dirs (void)
{
	GPtrArray *dirs = g_ptr_array_new_with_free_func (g_free);
	g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
	const char *bindir = MP_BINDIR_IN_PREFIX, *moddir = MP_MODULE_IN_PREFIX;

	if (exe != NULL && g_path_is_absolute (exe)) {
		g_autofree char *dir = g_path_get_dirname (exe);
		gsize dl = strlen (dir), bl = strlen (bindir);

		g_ptr_array_add (dirs,
				 g_build_filename (dir, "mimepipe", NULL));
		/* "PREFIX/bin" -> "PREFIX/lib/<triplet>/mimepipe" */
		if (*bindir != '\0' && *moddir != '\0' && dl > bl &&
		    dir[dl - bl - 1] == '/' &&
		    strcmp (dir + dl - bl, bindir) == 0) {
			g_autofree char *prefix = g_strndup (dir, dl - bl);

			g_ptr_array_add (dirs,
					 g_strconcat (prefix, moddir, NULL));
		}
	}
	for (guint i = 0; i < dirs->len; i++)
		if (strcmp (dirs->pdata[i], MP_MODULE_DIR) == 0)
			return dirs;
	g_ptr_array_add (dirs, g_strdup (MP_MODULE_DIR));
	return dirs;
}

static const MpDkimCrypto *
load (const char *path, GError **error)
{
	GModule *module = g_module_open (path, G_MODULE_BIND_LOCAL);
	MpDkimCryptoEntry entry = NULL;
	const MpDkimCrypto *table;

	if (module == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_UNAVAILABLE,
			     "%s: cannot load the DKIM module: %s", path,
			     g_module_error ());
		return NULL;
	}
	if (!g_module_symbol (module, MP_DKIM_CRYPTO_ENTRY,
			      (gpointer *) &entry) ||
	    entry == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_UNAVAILABLE,
			     "%s: not a mimepipe DKIM module", path);
		g_module_close (module);
		return NULL;
	}
	table = entry ();
	if (table == NULL || table->abi != MP_DKIM_CRYPTO_ABI ||
	    table->version == NULL || strcmp (table->version, MP_VERSION)) {
		g_set_error (error, MP_ERROR, MP_ERROR_UNAVAILABLE,
			     "%s: the DKIM module of mimepipe %s, not %s "
			     "(install both from one build)",
			     path,
			     table && table->version ? table->version : "?",
			     MP_VERSION);
		g_module_close (module);
		return NULL;
	}
	/* its tables and keys are used until exit */
	g_module_make_resident (module);
	return table;
}

/* The first call: tries each directory; sets loaded or failure. */
static void
find_module (void)
{
	g_autoptr (GPtrArray) dirs = module_dirs ();
	g_autoptr (GString) looked = g_string_new (NULL);

	for (guint i = 0; i < dirs->len && loaded == NULL && failure == NULL;
	     i++) {
		g_autofree char *path = g_build_filename (
			dirs->pdata[i], MP_DKIM_MODULE_NAME, NULL);

		if (g_file_test (path, G_FILE_TEST_EXISTS))
			loaded = load (path, &failure);
		else
			g_string_append_printf (looked, "%s%s",
						looked->len ? ", " : "",
						(char *) dirs->pdata[i]);
	}
	if (loaded == NULL && failure == NULL)
		g_set_error (&failure, MP_ERROR, MP_ERROR_UNAVAILABLE,
			     "%s: the DKIM module is missing (looked in %s): "
			     "signing needs it installed with smtp-send",
			     MP_DKIM_MODULE_NAME, looked->str);
}

const MpDkimCrypto *
mp_dkim_crypto_get (GError **error)
{
	const MpDkimCrypto *table;

	g_mutex_lock (&lock);
	if (loaded == NULL && failure == NULL)
		find_module ();
	table = loaded;
	if (table == NULL)
		g_propagate_error (error, g_error_copy (failure));
	g_mutex_unlock (&lock);
	return table;
}
