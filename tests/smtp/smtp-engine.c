/* smtp-engine HOST PORT CAFILE FILE...: sends each FILE (envelope from its
 * headers) over one mp-smtp connection, STARTTLS, no AUTH, and prints one
 * line per message: "FILE: ok" or "FILE: exit N: error".  It exercises
 * what smtp-send does not yet: several transactions on one connection,
 * with RSET after a failed one. */
#include "mp-cli.h"
#include "mp-error.h"
#include "mp-smtp.h"

#include <stdio.h>
#include <stdlib.h>

int
main (int argc, char **argv)
{
	MpSmtpConfig cfg = { 0 };
	g_autoptr (MpSmtp) smtp = NULL;
	g_autoptr (GError) error = NULL;

	if (argc < 5) {
		fprintf (stderr,
			 "usage: smtp-engine HOST PORT CAFILE FILE...\n");
		return 64;
	}
	g_mime_init ();
	cfg.host = argv[1];
	cfg.port = (guint16) atoi (argv[2]);
	cfg.tls = MP_SMTP_TLS_STARTTLS;
	cfg.ca_file = argv[3];
	cfg.timeout = 5;
	smtp = mp_smtp_new (&cfg);
	if (!mp_smtp_connect (smtp, &error)) {
		printf ("connect: exit %d: %s\n", mp_cli_exit_code (error),
			error->message);
		return 1;
	}
	for (int i = 4; i < argc; i++) {
		g_autoptr (MpInput) in = mp_input_open (argv[i], &error);
		g_autoptr (MpEnvelope) env = NULL;

		if (in != NULL)
			env = mp_envelope_new (in, NULL, NULL, FALSE, &error);
		if (env != NULL &&
		    mp_smtp_send (smtp, env, NULL, FALSE, &error))
			printf ("%s: ok\n", argv[i]);
		else
			printf ("%s: exit %d: %s\n", argv[i],
				mp_cli_exit_code (error), error->message);
		g_clear_error (&error);
	}
	mp_smtp_quit (smtp);
	return 0;
}
