/* mime-dkim: add DKIM signatures to the message on stdin, print the DNS
 * record of a key, or verify the signatures of a message (DESIGN 5). */
#include "mp-cli.h"
#include "mp-dkim.h"
#include "mp-error.h"
#include "mp-io.h"

#include <stdio.h>
#include <string.h>

static char *opt_domain;
static char **opt_selectors;
static char **opt_keys;
static char *opt_canon;
static char *opt_headers;
static gboolean opt_print_dns;
static gboolean opt_verify;
static char *opt_dns_txt;
static gboolean opt_verbose;

static const GOptionEntry entries[] = {
	{ "domain", 0, 0, G_OPTION_ARG_STRING, &opt_domain,
	  "Sign for DOMAIN (d=)", "DOMAIN" },
	{ "selector", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_selectors,
	  "The key's selector (s=); repeat with --key to sign twice",
	  "SELECTOR" },
	{ "key", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_keys,
	  "Private key in PEM (RSA or Ed25519), one per --selector", "FILE" },
	{ "canon", 0, 0, G_OPTION_ARG_STRING, &opt_canon,
	  "Canonicalisation HEADER/BODY: relaxed (default) or simple", "C/C" },
	{ "headers", 0, 0, G_OPTION_ARG_STRING, &opt_headers,
	  "Sign exactly these fields (h=), colon-separated", "LIST" },
	{ "print-dns-record", 0, 0, G_OPTION_ARG_NONE, &opt_print_dns,
	  "Print the TXT record publishing each key, read no message", NULL },
	{ "verify", 0, 0, G_OPTION_ARG_NONE, &opt_verify,
	  "Check every DKIM-Signature (exit 1 if one fails)", NULL },
	{ "dns-txt", 0, 0, G_OPTION_ARG_FILENAME, &opt_dns_txt,
	  "With --verify: take keys from FILE (NAME TXT-VALUE lines), not "
	  "DNS",
	  "FILE" },
	{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose,
	  "Say on stderr what was signed or why a signature failed", NULL },
	{ NULL }
};

static gboolean
usage (GError **error, const char *msg)
{
	g_set_error_literal (error, MP_ERROR, MP_ERROR_USAGE, msg);
	return FALSE;
}

static gboolean
check_options (const char *input, GError **error)
{
	guint ns = opt_selectors ? g_strv_length (opt_selectors) : 0;
	guint nk = opt_keys ? g_strv_length (opt_keys) : 0;

	if (opt_verify) {
		if (opt_domain || ns || nk || opt_canon || opt_headers ||
		    opt_print_dns)
			return usage (error, "--verify takes no signing "
					     "option (only --dns-txt)");
		return TRUE;
	}
	if (opt_dns_txt)
		return usage (error, "--dns-txt needs --verify");
	if (opt_domain == NULL || ns == 0)
		return usage (error, "give --domain, --selector and --key (or "
				     "--verify)");
	if (ns != nk)
		return usage (error, "give one --key for each --selector");
	if (opt_print_dns && input)
		return usage (error, "--print-dns-record reads no message");
	return TRUE;
}

static int
verify (const char *input, MpOutput *out)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (MpDkimTable) table = NULL;
	g_autoptr (MpInput) in = NULL;
	g_autoptr (GPtrArray) results = NULL;
	g_autoptr (GString) report = g_string_new (NULL);
	gboolean failed = FALSE, temp = FALSE;

	if (opt_dns_txt) {
		table = mp_dkim_table_load (opt_dns_txt, &error);
		if (table == NULL)
			return mp_cli_fail (g_steal_pointer (&error));
	}
	in = mp_input_open (input, &error);
	if (in == NULL)
		return mp_cli_fail (g_steal_pointer (&error));
	results = mp_dkim_verify_message (in, table, &error);
	if (results == NULL)
		return mp_cli_fail (g_steal_pointer (&error));
	for (guint i = 0; i < results->len; i++) {
		MpDkimResult *r = results->pdata[i];
		const char *word = r->status == MP_DKIM_PASS ? "pass" :
				   r->status == MP_DKIM_FAIL ? "fail" :
							       "temperror";

		g_string_append_printf (report, "%s d=%s s=%s a=%s", word,
					r->domain ? r->domain : "?",
					r->selector ? r->selector : "?",
					r->algorithm ? r->algorithm : "?");
		if (r->reason)
			g_string_append_printf (report, ": %s", r->reason);
		g_string_append_c (report, '\n');
		failed |= r->status == MP_DKIM_FAIL;
		temp |= r->status == MP_DKIM_TEMPFAIL;
		if (opt_verbose && r->reason)
			g_printerr ("%s: signature %u: %s\n", g_get_prgname (),
				    i + 1, r->reason);
	}
	if (results->len == 0)
		g_string_append (report, "none: no DKIM-Signature\n");
	if (!mp_output_write (out, report->str, report->len, &error) ||
	    !mp_output_close (out, &error))
		return mp_cli_fail (g_steal_pointer (&error));
	if (failed || results->len == 0)
		return 1;
	if (temp) {
		g_set_error (&error, MP_ERROR, MP_ERROR_TEMPFAIL,
			     "a key could not be fetched now: try again later");
		return mp_cli_fail (g_steal_pointer (&error));
	}
	return 0;
}

int
main (int argc, char **argv)
{
	static MpCliCommon common; /* static: its strings stay reachable */
	g_autoptr (GError) error = NULL;
	g_autoptr (MpDkimSigner) signer = NULL;
	g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (
		(GDestroyNotify) mp_dkim_key_free);
	g_autoptr (MpInput) in = NULL;
	g_autoptr (MpOutput) out = NULL;
	g_autofree char *added = NULL;
	const char *input = NULL;

	mp_cli_init ("mime-dkim");
	if (!mp_cli_parse_operands (
		    entries, "[FILE]",
		    "Add DKIM signatures (RFC 6376, RFC 8463) to the "
		    "message in FILE or on stdin,\nprint the DNS "
		    "record of a key, or verify a message's "
		    "signatures.",
		    FALSE, 1, &common, &argc, &argv, &error))
		return mp_cli_fail (g_steal_pointer (&error));
	if (argc == 2)
		input = argv[1];
	if (!check_options (input, &error))
		return mp_cli_fail (g_steal_pointer (&error));

	out = mp_output_open (common.output, FALSE, &error);
	if (out == NULL)
		return mp_cli_fail (g_steal_pointer (&error));
	if (opt_verify)
		return verify (input, out);

	signer = mp_dkim_signer_new (opt_domain, &error);
	if (signer == NULL ||
	    (opt_canon &&
	     !mp_dkim_signer_set_canon (signer, opt_canon, &error)) ||
	    (opt_headers &&
	     !mp_dkim_signer_set_headers (signer, opt_headers, &error)))
		return mp_cli_fail (g_steal_pointer (&error));
	for (guint i = 0; opt_keys[i]; i++) {
		MpDkimKey *key = mp_dkim_key_load (opt_keys[i], &error);

		if (key == NULL)
			return mp_cli_fail (g_steal_pointer (&error));
		g_ptr_array_add (keys, key);
		if (!mp_dkim_signer_add_key (signer, opt_selectors[i], key,
					     &error))
			return mp_cli_fail (g_steal_pointer (&error));
	}

	if (opt_print_dns) {
		g_autoptr (GString) s = g_string_new (NULL);

		for (guint i = 0; i < keys->len; i++) {
			g_autofree char *rec = mp_dkim_key_dns_record (
				keys->pdata[i], opt_selectors[i], opt_domain,
				&error);

			if (rec == NULL)
				return mp_cli_fail (g_steal_pointer (&error));
			g_string_append_printf (s, "%s\n", rec);
		}
		if (!mp_output_write (out, s->str, s->len, &error) ||
		    !mp_output_close (out, &error))
			return mp_cli_fail (g_steal_pointer (&error));
		return 0;
	}

	in = mp_input_open (input, &error);
	if (in == NULL ||
	    !mp_dkim_sign_message (signer, in, out, &added, &error) ||
	    !mp_output_close (out, &error))
		return mp_cli_fail (g_steal_pointer (&error));
	if (opt_verbose) {
		for (guint i = 0; i < keys->len; i++)
			g_printerr ("%s: signed d=%s s=%s a=%s\n",
				    g_get_prgname (), opt_domain,
				    opt_selectors[i],
				    mp_dkim_algorithm_name (
					    mp_dkim_key_get_algorithm (
						    keys->pdata[i])));
		if (*added)
			g_printerr ("%s: added %s\n", g_get_prgname (), added);
	}
	return 0;
}
