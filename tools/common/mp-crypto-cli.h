/* mp-crypto-cli: what the four crypto commands (mime-sign, mime-encrypt,
 * mime-verify, mime-decrypt) share: the GnuPG options, written straight
 * into the MpCryptoOptions of the request, and the run from the message
 * on stdin to the one written. */
#pragma once

#include "mp-cli.h"
#include "mp-crypto.h"
#include "mp-io.h"

G_BEGIN_DECLS

/* The GOptionEntry lines of --homedir, --passphrase-file FILE and
 * --passphrase-fd N filling @opts (an MpCryptoOptions *); @file_help and
 * @fd_help say whose passphrase it is. */
/* clang-format off */
#define MP_CRYPTO_CLI_GNUPG_ENTRIES(opts, file_help, fd_help)                 \
	{ "homedir", 0, 0, G_OPTION_ARG_FILENAME, (gpointer) &(opts)->homedir, \
	  "GnuPG home directory (default: GNUPGHOME or ~/.gnupg)", "DIR" },   \
	{ "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME,                     \
	  (gpointer) &(opts)->passphrase_file, file_help, "FILE" },           \
	{ "passphrase-fd", 0, 0, G_OPTION_ARG_INT,                            \
	  (gpointer) &(opts)->passphrase_fd, fd_help, "N" }
/* clang-format on */

/* One crypto operation from the message of @in to @out. */
typedef gboolean (*MpCryptoCliRun) (MpInput *in, const MpCryptoOptions *opts,
				    MpOutput *out, GError **error);

/* A whole command: starts it as @prog, parses @entries (no operand;
 * @summary for --help), sets @opts->protocol from *@smime (NULL: told by
 * the message), checks the options, opens stdin and the output, and
 * calls @run.  Returns the exit code. */
int mp_crypto_cli_main (const char *prog, const GOptionEntry *entries,
			const char *summary, MpCryptoOptions *opts,
			const gboolean *smime, MpCryptoCliRun run, int argc,
			char **argv);

G_END_DECLS
