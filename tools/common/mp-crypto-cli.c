#include "mp-crypto-cli.h"

int
mp_crypto_cli_main (const char *prog, const GOptionEntry *entries,
		    const char *summary, MpCryptoOptions *opts,
		    const gboolean *smime, MpCryptoCliRun run, int argc,
		    char **argv)
{
	static MpCliCommon common; /* static: its strings stay reachable */
	g_autoptr (MpInput) in = NULL;
	g_autoptr (MpOutput) out = NULL;
	GError *error = NULL;

	mp_cli_init (prog);
	if (!mp_cli_parse_operands (entries, NULL, summary, FALSE, 0, &common,
				    &argc, &argv, &error))
		return mp_cli_fail (error);
	if (smime)
		opts->protocol = *smime ? MP_CRYPTO_SMIME : MP_CRYPTO_OPENPGP;
	if (!mp_crypto_check_options (opts, &error))
		return mp_cli_fail (error);
	in = mp_input_open (NULL, &error);
	if (in == NULL)
		return mp_cli_fail (error);
	out = mp_output_open (common.output, FALSE, &error);
	if (out == NULL || !run (in, opts, out, &error) ||
	    !mp_output_close (out, &error))
		return mp_cli_fail (error);
	return 0;
}
