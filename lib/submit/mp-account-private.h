/* mp-account-private: what the files of mp-account share (mp-account.c:
 * where the file is, its errors, choosing an account; mp-account-config.c:
 * reading the configuration file; mp-account-password.c: password
 * sources).  Not for other modules. */
#pragma once

#include "mp-account.h"

#include <sys/stat.h>

G_BEGIN_DECLS

struct _MpAccountConfig {
	char *file;
	GPtrArray *accounts; /* MpAccount * */
};

/* ---- mp-account.c */

/* $HOME when it is absolute, else GLib's home directory. */
const char *mp_account_home_dir (void);

/* Sets @error (MP_ERROR_CONFIG) to "FILE:LINE: msg"; no LINE when 0. */
G_GNUC_PRINTF (4, 5)
void mp_account_config_error (GError **error, const char *file, guint line,
			      const char *fmt, ...);

/* ---- mp-account-config.c */

/* Reads all of @path (at most 1 MiB); absent: *@missing unless @must_exist. */
gboolean mp_account_read_file (const char *path, gboolean must_exist,
			       char **data, gsize *len, struct stat *st,
			       gboolean *missing, GError **error);

G_END_DECLS
