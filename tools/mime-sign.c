/* mime-sign: sign the message on stdin, PGP/MIME (RFC 3156) or S/MIME
 * (RFC 8551) with --smime (DESIGN 5, issue 17). */
#include "mp-cli.h"
#include "mp-crypto.h"
#include "mp-error.h"
#include "mp-io.h"

static gboolean smime, protect_headers, autocrypt;
static char *local_user, *homedir, *passphrase_file, *seed;
static int passphrase_fd = -1;

int
main (int argc, char **argv)
{
	MpCliCommon common = { 0 };
	MpCryptoOptions opts = { 0 };
	g_autoptr (MpInput) in = NULL;
	g_autoptr (MpOutput) out = NULL;
	GError *error = NULL;
	const GOptionEntry entries[] = {
		{ "smime", 0, 0, G_OPTION_ARG_NONE, &smime,
		  "S/MIME (gpgsm) instead of PGP/MIME (gpg)", NULL },
		{ "local-user", 0, 0, G_OPTION_ARG_STRING, &local_user,
		  "Sign with the key of ID (default: the From address)", "ID" },
		{ "homedir", 0, 0, G_OPTION_ARG_FILENAME, &homedir,
		  "GnuPG home directory (default: GNUPGHOME or ~/.gnupg)",
		  "DIR" },
		{ "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME,
		  &passphrase_file,
		  "Read the key's passphrase from the first line of FILE",
		  "FILE" },
		{ "passphrase-fd", 0, 0, G_OPTION_ARG_INT, &passphrase_fd,
		  "Read the key's passphrase from descriptor N", "N" },
		{ "protect-headers", 0, 0, G_OPTION_ARG_NONE, &protect_headers,
		  "Sign copies of the header fields too (RFC 9788)", NULL },
		{ "autocrypt", 0, 0, G_OPTION_ARG_NONE, &autocrypt,
		  "Add an Autocrypt field with the sender's key", NULL },
		{ "seed", 0, 0, G_OPTION_ARG_STRING, &seed,
		  "Make the boundary reproducible from SEED", "SEED" },
		{ NULL }
	};

	mp_cli_init ("mime-sign");
	if (!mp_cli_parse_operands (
		    entries, NULL,
		    "Sign the message on stdin (PGP/MIME, or S/MIME "
		    "with --smime).",
		    FALSE, 0, &common, &argc, &argv, &error))
		return mp_cli_fail (error);
	opts.protocol = smime ? MP_CRYPTO_SMIME : MP_CRYPTO_OPENPGP;
	opts.local_user = local_user;
	opts.homedir = homedir;
	opts.passphrase_file = passphrase_file;
	opts.passphrase_fd = passphrase_fd;
	opts.protect_headers = protect_headers;
	opts.autocrypt = autocrypt;
	opts.seed = seed;

	if (!mp_crypto_check_options (&opts, &error))
		return mp_cli_fail (error);
	in = mp_input_open (NULL, &error);
	if (in == NULL)
		return mp_cli_fail (error);
	out = mp_output_open (common.output, FALSE, &error);
	if (out == NULL || !mp_crypto_sign (in, &opts, out, &error) ||
	    !mp_output_close (out, &error))
		return mp_cli_fail (error);
	return 0;
}
