/* mime-decrypt: write the message an encrypted message on stdin holds
 * (PGP/MIME or S/MIME, told by its Content-Type; issue 17). */
#include "mp-cli.h"
#include "mp-crypto.h"
#include "mp-error.h"
#include "mp-io.h"

static char *homedir, *passphrase_file;
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
		{ "homedir", 0, 0, G_OPTION_ARG_FILENAME, &homedir,
		  "GnuPG home directory (default: GNUPGHOME or ~/.gnupg)",
		  "DIR" },
		{ "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME,
		  &passphrase_file,
		  "Read the key's passphrase from the first line of FILE",
		  "FILE" },
		{ "passphrase-fd", 0, 0, G_OPTION_ARG_INT, &passphrase_fd,
		  "Read the key's passphrase from descriptor N", "N" },
		{ NULL }
	};

	mp_cli_init ("mime-decrypt");
	if (!mp_cli_parse_operands (
		    entries, NULL,
		    "Decrypt the PGP/MIME or S/MIME message on stdin, or unwrap an\nopaque S/MIME signed one.",
		    FALSE, 0, &common, &argc, &argv, &error))
		return mp_cli_fail (error);
	opts.homedir = homedir;
	opts.passphrase_file = passphrase_file;
	opts.passphrase_fd = passphrase_fd;

	if (!mp_crypto_check_options (&opts, &error))
		return mp_cli_fail (error);
	in = mp_input_open (NULL, &error);
	if (in == NULL)
		return mp_cli_fail (error);
	out = mp_output_open (common.output, FALSE, &error);
	if (out == NULL || !mp_crypto_decrypt (in, &opts, out, &error) ||
	    !mp_output_close (out, &error))
		return mp_cli_fail (error);
	return 0;
}
