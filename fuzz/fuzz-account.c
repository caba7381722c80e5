/* libFuzzer harness: the configuration file, ~/.netrc and sendmail command
 * lines.  The first byte picks the entry point; the rest is the input (a
 * file's bytes, or NUL-separated arguments). */
#include "mp-account.h"
#include "mp-error.h"
#include "mp-sendmail.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* The bytes as a regular file, named /proc/self/fd/N. */
static char *
as_file (const guint8 *data, size_t size, int *fd)
{
	*fd = memfd_create ("fuzz", MFD_CLOEXEC);
	if (*fd < 0 || (size > 0 && write (*fd, data, size) != (ssize_t) size))
		abort ();
	/* the permission rule reads the mode: a private file */
	fchmod (*fd, 0600);
	return g_strdup_printf ("/proc/self/fd/%d", *fd);
}

static void
fuzz_config (const guint8 *data, size_t size)
{
	int fd;
	g_autofree char *path = as_file (data, size, &fd);
	g_autoptr (GError) error = NULL;
	g_autoptr (MpAccountConfig) config =
		mp_account_config_load (path, &error);

	/* exactly one of a configuration and a config error */
	if ((config == NULL) == (error == NULL))
		abort ();
	if (error != NULL &&
	    (error->domain != MP_ERROR || error->code != MP_ERROR_CONFIG ||
	     !g_str_has_prefix (error->message, path)))
		abort ();
	if (config != NULL) {
		GPtrArray *all = mp_account_config_get_accounts (config);

		for (guint i = 0; i < all->len; i++) {
			const MpAccount *a = g_ptr_array_index (all, i);

			if (mp_account_config_find (config, a->name) == NULL)
				abort ();
		}
		mp_account_select (config, NULL, "ann@example.org", NULL);
	}
	close (fd);
}

static void
fuzz_netrc (const guint8 *data, size_t size)
{
	int fd;
	g_autofree char *path = as_file (data, size, &fd);
	g_autofree char *pw = NULL;

	mp_account_netrc_lookup (path, "smtp.example.org", "ann", &pw, NULL);
	close (fd);
}

static void
fuzz_sendmail (const guint8 *data, size_t size)
{
	g_autoptr (GPtrArray) argv = g_ptr_array_new ();
	g_autoptr (MpSendmailArgs) args = NULL;
	g_auto (GStrv) out = NULL;
	const char *p = (const char *) data;
	const char *end = p + size;

	g_ptr_array_add (argv, "sendmail");
	/* arguments separated by NUL bytes */
	while (p < end) {
		const char *nul = memchr (p, '\0', (size_t) (end - p));
		gsize len = nul ? (gsize) (nul - p) : (gsize) (end - p);

		g_ptr_array_add (argv, g_strndup (p, len));
		p += len + 1;
	}
	g_ptr_array_add (argv, NULL);
	mp_sendmail_detect ((int) argv->len - 1, (char **) argv->pdata, NULL);
	args = mp_sendmail_parse ((int) argv->len - 1, (char **) argv->pdata,
				  NULL, NULL);
	if (args != NULL)
		out = mp_sendmail_to_argv (args, "smtp-send");
	for (guint i = 1; i + 1 < argv->len; i++)
		g_free (g_ptr_array_index (argv, i));
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_config (data + 1, size - 1);
		break;
	case 1:
		fuzz_netrc (data + 1, size - 1);
		break;
	default:
		fuzz_sendmail (data + 1, size - 1);
		break;
	}
	return 0;
}
