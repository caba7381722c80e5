/* mime-encrypt: encrypt the message on stdin for its recipients,
 * PGP/MIME (RFC 3156) or S/MIME (RFC 8551) with --smime (issue 17). */
#include "mp-cli.h"
#include "mp-crypto.h"
#include "mp-error.h"
#include "mp-io.h"

static gboolean smime, sign, no_self, protect_headers, autocrypt;
static char *local_user, *homedir, *passphrase_file, *seed;
static char **recipients, **hidden;
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
		{ "recipient", 0, 0, G_OPTION_ARG_STRING_ARRAY, &recipients,
		  "Encrypt for ADDR instead of To, Cc and Bcc (repeatable)",
		  "ADDR" },
		{ "hidden-recipient", 0, 0, G_OPTION_ARG_STRING_ARRAY, &hidden,
		  "Encrypt for ADDR without naming its key (repeatable)",
		  "ADDR" },
		{ "sign", 0, 0, G_OPTION_ARG_NONE, &sign,
		  "Sign the message too", NULL },
		{ "local-user", 0, 0, G_OPTION_ARG_STRING, &local_user,
		  "Sign with, and encrypt to, the key of ID (default: the "
		  "From address)",
		  "ID" },
		{ "no-encrypt-to-self", 0, 0, G_OPTION_ARG_NONE, &no_self,
		  "Do not add the sender as a recipient", NULL },
		{ "homedir", 0, 0, G_OPTION_ARG_FILENAME, &homedir,
		  "GnuPG home directory (default: GNUPGHOME or ~/.gnupg)",
		  "DIR" },
		{ "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME,
		  &passphrase_file,
		  "Read the signing key's passphrase from the first line of "
		  "FILE",
		  "FILE" },
		{ "passphrase-fd", 0, 0, G_OPTION_ARG_INT, &passphrase_fd,
		  "Read the signing key's passphrase from descriptor N", "N" },
		{ "protect-headers", 0, 0, G_OPTION_ARG_NONE, &protect_headers,
		  "Encrypt the header fields too; the outer Subject becomes "
		  "[...] (RFC 9788)",
		  NULL },
		{ "autocrypt", 0, 0, G_OPTION_ARG_NONE, &autocrypt,
		  "Add an Autocrypt field with the sender's key", NULL },
		{ "seed", 0, 0, G_OPTION_ARG_STRING, &seed,
		  "Make the boundary reproducible from SEED", "SEED" },
		{ NULL }
	};

	mp_cli_init ("mime-encrypt");
	if (!mp_cli_parse_operands (
		    entries, NULL,
		    "Encrypt the message on stdin for its recipients "
		    "(PGP/MIME, or S/MIME with --smime).",
		    FALSE, 0, &common, &argc, &argv, &error))
		return mp_cli_fail (error);
	opts.protocol = smime ? MP_CRYPTO_SMIME : MP_CRYPTO_OPENPGP;
	opts.recipients = recipients;
	opts.hidden = hidden;
	opts.sign = sign;
	opts.no_encrypt_to_self = no_self;
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
	if (out == NULL || !mp_crypto_encrypt (in, &opts, out, &error) ||
	    !mp_output_close (out, &error))
		return mp_cli_fail (error);
	return 0;
}
