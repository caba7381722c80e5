/* mime-decrypt: write the message an encrypted message on stdin holds
 * (PGP/MIME or S/MIME, told by its Content-Type; issue 17). */
#include "mp-crypto-cli.h"

static MpCryptoOptions opts = { .passphrase_fd = -1 };

int
main (int argc, char **argv)
{
	const GOptionEntry entries[] = {
		MP_CRYPTO_CLI_GNUPG_ENTRIES (
			&opts,
			"Read the key's passphrase from the first line of FILE",
			"Read the key's passphrase from descriptor N"),
		{ NULL }
	};

	return mp_crypto_cli_main (
		"mime-decrypt", entries,
		"Decrypt the PGP/MIME or S/MIME message on stdin, or unwrap "
		"an\nopaque S/MIME signed one.",
		&opts, NULL, mp_crypto_decrypt, argc, argv);
}
