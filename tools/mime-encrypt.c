/* mime-encrypt: encrypt the message on stdin for its recipients,
 * PGP/MIME (RFC 3156) or S/MIME (RFC 8551) with --smime (issue 17). */
#include "mp-crypto-cli.h"

static gboolean smime;
static MpCryptoOptions opts = { .passphrase_fd = -1 };

int
main (int argc, char **argv)
{
	const GOptionEntry entries[] = {
		{ "smime", 0, 0, G_OPTION_ARG_NONE, &smime,
		  "S/MIME (gpgsm) instead of PGP/MIME (gpg)", NULL },
		{ "recipient", 0, 0, G_OPTION_ARG_STRING_ARRAY,
		  &opts.recipients,
		  "Encrypt for ADDR instead of To, Cc and Bcc (repeatable)",
		  "ADDR" },
		{ "hidden-recipient", 0, 0, G_OPTION_ARG_STRING_ARRAY,
		  &opts.hidden,
		  "Encrypt for ADDR without naming its key (repeatable)",
		  "ADDR" },
		{ "sign", 0, 0, G_OPTION_ARG_NONE, &opts.sign,
		  "Sign the message too", NULL },
		{ "local-user", 0, 0, G_OPTION_ARG_STRING, &opts.local_user,
		  "Sign with, and encrypt to, the key of ID (default: the "
		  "From address)",
		  "ID" },
		{ "no-encrypt-to-self", 0, 0, G_OPTION_ARG_NONE,
		  &opts.no_encrypt_to_self,
		  "Do not add the sender as a recipient", NULL },
		MP_CRYPTO_CLI_GNUPG_ENTRIES (
			&opts,
			"Read the signing key's passphrase from the first "
			"line of FILE",
			"Read the signing key's passphrase from descriptor N"),
		{ "protect-headers", 0, 0, G_OPTION_ARG_NONE,
		  &opts.protect_headers,
		  "Encrypt the header fields too; the outer Subject becomes "
		  "[...] (RFC 9788)",
		  NULL },
		{ "autocrypt", 0, 0, G_OPTION_ARG_NONE, &opts.autocrypt,
		  "Add an Autocrypt field with the sender's key", NULL },
		{ "seed", 0, 0, G_OPTION_ARG_STRING, &opts.seed,
		  "Make the boundary reproducible from SEED", "SEED" },
		{ NULL }
	};

	return mp_crypto_cli_main ("mime-encrypt", entries,
				   "Encrypt the message on stdin for its "
				   "recipients (PGP/MIME, or S/MIME with "
				   "--smime).",
				   &opts, &smime, mp_crypto_encrypt, argc,
				   argv);
}
