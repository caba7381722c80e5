/* mime-sign: sign the message on stdin, PGP/MIME (RFC 3156) or S/MIME
 * (RFC 8551) with --smime (DESIGN 5, issue 17). */
#include "mp-crypto-cli.h"

static gboolean smime;
static MpCryptoOptions opts = { .passphrase_fd = -1 };

int
main (int argc, char **argv)
{
	const GOptionEntry entries[] = {
		{ "smime", 0, 0, G_OPTION_ARG_NONE, &smime,
		  "S/MIME (gpgsm) instead of PGP/MIME (gpg)", NULL },
		{ "local-user", 0, 0, G_OPTION_ARG_STRING, &opts.local_user,
		  "Sign with the key of ID (default: the From address)", "ID" },
		MP_CRYPTO_CLI_GNUPG_ENTRIES (
			&opts,
			"Read the key's passphrase from the first line of FILE",
			"Read the key's passphrase from descriptor N"),
		{ "protect-headers", 0, 0, G_OPTION_ARG_NONE,
		  &opts.protect_headers,
		  "Sign copies of the header fields too (RFC 9788)", NULL },
		{ "autocrypt", 0, 0, G_OPTION_ARG_NONE, &opts.autocrypt,
		  "Add an Autocrypt field with the sender's key", NULL },
		{ "seed", 0, 0, G_OPTION_ARG_STRING, &opts.seed,
		  "Make the boundary reproducible from SEED", "SEED" },
		{ NULL }
	};

	return mp_crypto_cli_main ("mime-sign", entries,
				   "Sign the message on stdin (PGP/MIME, or "
				   "S/MIME with --smime).",
				   &opts, &smime, mp_crypto_sign, argc, argv);
}
