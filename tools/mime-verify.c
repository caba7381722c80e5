/* mime-verify: check every signature of the message on stdin, one line
 * each (issue 17).  Exit 0 when all are good, 1 when one is not or there
 * is none, 65 for a malformed message. */
#include "mp-cli.h"
#include "mp-crypto.h"
#include "mp-error.h"
#include "mp-io.h"

#include <stdio.h>

static char *homedir, *passphrase_file;
static int passphrase_fd = -1;

int
main (int argc, char **argv)
{
	MpCliCommon common = { 0 };
	MpCryptoOptions opts = { 0 };
	g_autoptr (MpInput) in = NULL;
	g_autoptr (MpOutput) out = NULL;
	g_autoptr (GPtrArray) sigs = NULL;
	GError *error = NULL;
	gboolean all_good = TRUE;
	const GOptionEntry entries[] = {
		{ "homedir", 0, 0, G_OPTION_ARG_FILENAME, &homedir,
		  "GnuPG home directory (default: GNUPGHOME or ~/.gnupg)",
		  "DIR" },
		{ "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME,
		  &passphrase_file,
		  "Passphrase (first line of FILE) of the key that decrypts "
		  "a message signed and encrypted",
		  "FILE" },
		{ "passphrase-fd", 0, 0, G_OPTION_ARG_INT, &passphrase_fd,
		  "Read that passphrase from descriptor N", "N" },
		{ NULL }
	};

	mp_cli_init ("mime-verify");
	if (!mp_cli_parse_operands (
		    entries, NULL,
		    "Verify the signatures of the message on stdin: "
		    "one line each,\n\"STATUS SIGNER FINGERPRINT "
		    "VALIDITY TIME\".",
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
	sigs = mp_crypto_verify (in, &opts, &error);
	if (sigs == NULL)
		return mp_cli_fail (error);
	out = mp_output_open (common.output, FALSE, &error);
	if (out == NULL)
		return mp_cli_fail (error);
	for (guint i = 0; i < sigs->len; i++) {
		MpCryptoSignature *s = sigs->pdata[i];
		g_autoptr (GDateTime) dt =
			s->time ? g_date_time_new_from_unix_utc (s->time) :
				  NULL;
		g_autofree char *when =
			dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") :
			     g_strdup ("-");
		g_autofree char *line = g_strdup_printf (
			"%s %s %s %s %s\n", s->status, s->signer,
			s->fingerprint, s->validity, when);

		if (!mp_output_write (out, line, strlen (line), &error))
			return mp_cli_fail (error);
		all_good = all_good && s->good;
	}
	if (!mp_output_close (out, &error))
		return mp_cli_fail (error);
	if (sigs->len == 0) {
		fprintf (stderr, "%s: stdin: no signature\n", g_get_prgname ());
		return 1;
	}
	return all_good ? 0 : 1;
}
