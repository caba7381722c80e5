/* mime-verify: check every signature of the message on stdin, one line
 * each (issue 17).  Exit 0 when all are good, 1 when one is not or there
 * is none, 65 for a malformed message. */
#include "mp-crypto-cli.h"

#include <stdio.h>

static MpCryptoOptions opts = { .passphrase_fd = -1 };
static guint n_sigs;
static gboolean all_good = TRUE;

/* One line a signature: "STATUS SIGNER FINGERPRINT VALIDITY TIME". */
static gboolean
verify (MpInput *in, const MpCryptoOptions *o, MpOutput *out, GError **error)
{
	g_autoptr (GPtrArray) sigs = mp_crypto_verify (in, o, error);

	if (sigs == NULL)
		return FALSE;
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

		if (!mp_output_write (out, line, strlen (line), error))
			return FALSE;
		all_good = all_good && s->good;
	}
	n_sigs = sigs->len;
	return TRUE;
}

int
main (int argc, char **argv)
{
	const GOptionEntry entries[] = {
		MP_CRYPTO_CLI_GNUPG_ENTRIES (
			&opts,
			"Passphrase (first line of FILE) of the key that "
			"decrypts a message signed and encrypted",
			"Read that passphrase from descriptor N"),
		{ NULL }
	};
	int rc = mp_crypto_cli_main ("mime-verify", entries,
				     "Verify the signatures of the message on "
				     "stdin: one line each,\n\"STATUS SIGNER "
				     "FINGERPRINT VALIDITY TIME\".",
				     &opts, NULL, verify, argc, argv);

	if (rc != 0)
		return rc;
	if (n_sigs == 0) {
		fprintf (stderr, "%s: stdin: no signature\n", g_get_prgname ());
		return 1;
	}
	return all_good ? 0 : 1;
}
