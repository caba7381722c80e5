/* mp-smtp: the checks that run before anything connects. */
#include "mp-error.h"
#include "mp-smtp-private.h"
#include "mp-smtp.h"

#include <string.h>

typedef struct {
	const char *spec;
	MpSmtpTls tls_in;
	gboolean ok;
	const char *host;
	guint16 port;
	MpSmtpTls tls;
} ServerCase;

static const ServerCase server_cases[] = {
	{ "mail.example.org", MP_SMTP_TLS_DEFAULT, TRUE, "mail.example.org",
	  587, MP_SMTP_TLS_STARTTLS },
	{ "mail.example.org:465", MP_SMTP_TLS_DEFAULT, TRUE, "mail.example.org",
	  465, MP_SMTP_TLS_IMPLICIT },
	{ "smtps://mail.example.org", MP_SMTP_TLS_DEFAULT, TRUE,
	  "mail.example.org", 465, MP_SMTP_TLS_IMPLICIT },
	{ "smtps://mail.example.org:2465", MP_SMTP_TLS_DEFAULT, TRUE,
	  "mail.example.org", 2465, MP_SMTP_TLS_IMPLICIT },
	{ "smtp://mail.example.org:25", MP_SMTP_TLS_DEFAULT, TRUE,
	  "mail.example.org", 25, MP_SMTP_TLS_STARTTLS },
	{ "SMTP://mail.example.org/", MP_SMTP_TLS_DEFAULT, TRUE,
	  "mail.example.org", 587, MP_SMTP_TLS_STARTTLS },
	{ "[::1]:2525", MP_SMTP_TLS_DEFAULT, TRUE, "::1", 2525,
	  MP_SMTP_TLS_STARTTLS },
	{ "127.0.0.1:465", MP_SMTP_TLS_STARTTLS, TRUE, "127.0.0.1", 465,
	  MP_SMTP_TLS_STARTTLS },
	{ "localhost", MP_SMTP_TLS_OFF, TRUE, "localhost", 587,
	  MP_SMTP_TLS_OFF },
	{ "localhost", MP_SMTP_TLS_IMPLICIT, TRUE, "localhost", 465,
	  MP_SMTP_TLS_IMPLICIT },
	{ "smtps://localhost", MP_SMTP_TLS_STARTTLS, FALSE },
	{ "smtps://localhost", MP_SMTP_TLS_OFF, FALSE },
	{ "http://localhost", MP_SMTP_TLS_DEFAULT, FALSE },
	{ "localhost:0", MP_SMTP_TLS_DEFAULT, FALSE },
	{ "localhost:65536", MP_SMTP_TLS_DEFAULT, FALSE },
	{ "localhost:25x", MP_SMTP_TLS_DEFAULT, FALSE },
	{ "localhost:", MP_SMTP_TLS_DEFAULT, FALSE },
	{ "", MP_SMTP_TLS_DEFAULT, FALSE },
	{ "smtp://", MP_SMTP_TLS_DEFAULT, FALSE },
	{ "[::1", MP_SMTP_TLS_DEFAULT, FALSE },
	{ "mail example.org", MP_SMTP_TLS_DEFAULT, FALSE },
	{ "mail.example.org\r\nQUIT", MP_SMTP_TLS_DEFAULT, FALSE },
	{ "user@mail.example.org", MP_SMTP_TLS_DEFAULT, FALSE },
	{ "mail.example.org/path", MP_SMTP_TLS_DEFAULT, FALSE },
};

static void
test_userinfo_refused_unrepeated (void)
{
	g_autofree char *host = NULL;
	g_autoptr (GError) error = NULL;
	guint16 port = 0;
	MpSmtpTls tls = MP_SMTP_TLS_DEFAULT;

	g_assert_false (mp_smtp_parse_server (
		"smtp://ann:s3cret@mail.example:587", MP_SMTP_TLS_DEFAULT,
		&host, &port, &tls, &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
	g_assert_null (strstr (error->message, "s3cret"));
	g_assert_null (host);
}

/* *host is an output: a failure leaves it NULL and frees nothing of the
 * caller's (under ASan a g_free of the string below would be caught) */
static void
test_parse_server_host_is_output (void)
{
	static char mine[] = "not allocated";
	char *host = mine;
	g_autoptr (GError) error = NULL;
	guint16 port = 0;
	MpSmtpTls tls = MP_SMTP_TLS_DEFAULT;

	g_assert_false (mp_smtp_parse_server ("[::1", MP_SMTP_TLS_DEFAULT,
					      &host, &port, &tls, &error));
	g_assert_null (host);
	g_assert_cmpstr (mine, ==, "not allocated");
}

static void
test_parse_server (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (server_cases); i++) {
		const ServerCase *c = &server_cases[i];
		g_autofree char *host = NULL;
		g_autoptr (GError) error = NULL;
		guint16 port = 0;
		MpSmtpTls tls = MP_SMTP_TLS_DEFAULT;
		gboolean ok = mp_smtp_parse_server (c->spec, c->tls_in, &host,
						    &port, &tls, &error);

		g_test_message ("server %s", c->spec);
		g_assert_cmpint (ok, ==, c->ok);
		if (ok) {
			g_assert_cmpstr (host, ==, c->host);
			g_assert_cmpuint (port, ==, c->port);
			g_assert_cmpint (tls, ==, c->tls);
		} else {
			g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
			g_assert_null (host);
		}
	}
}

typedef struct {
	MpSmtpDsn dsn;
	gboolean ok;
} DsnCase;

static const DsnCase dsn_cases[] = {
	{ { "NEVER", NULL, NULL }, TRUE },
	{ { "success,failure,delay", "hdrs", "id-1" }, TRUE },
	{ { NULL, "FULL", NULL }, TRUE },
	{ { "never,success", NULL, NULL }, FALSE },
	{ { "sometimes", NULL, NULL }, FALSE },
	{ { "", NULL, NULL }, FALSE },
	{ { "SUCCESS\r\nRSET", NULL, NULL }, FALSE },
	{ { NULL, "ALL", NULL }, FALSE },
	{ { NULL, NULL, "a\r\nRSET" }, FALSE },
	{ { NULL, NULL, "caf\303\251" }, FALSE },
	{ { NULL, NULL, "" }, FALSE },
};

static void
test_check_dsn (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (dsn_cases); i++) {
		g_autoptr (GError) error = NULL;

		g_test_message ("dsn case %u", i);
		g_assert_cmpint (mp_smtp_check_dsn (&dsn_cases[i].dsn, &error),
				 ==, dsn_cases[i].ok);
		if (!dsn_cases[i].ok)
			g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
	}
}

static void
test_check_config (void)
{
	static const char *good_pin[] = {
		"sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", NULL
	};
	static const char *short_pin[] = { "47DEQpj8HBSa", NULL };
	static const char *hex_pin[] = {
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		NULL
	};
	const struct {
		MpSmtpConfig cfg;
		gboolean ok;
	} cases[] = {
		{ { .tls_min = "1.3",
		    .auth = "plain",
		    .pins = good_pin,
		    .user = "ann@example.org",
		    .helo = "client.example" },
		  TRUE },
		{ { .helo = "[192.0.2.1]" }, TRUE },
		{ { .tls_min = "1.1" }, FALSE },
		{ { .auth = "CRAM-MD5" }, FALSE },
		{ { .auth = "GSSAPI" }, FALSE },
		{ { .pins = short_pin }, FALSE },
		{ { .pins = hex_pin }, FALSE },
		{ { .user = "ann\001" }, FALSE },
		{ { .user = "ann\r\nQUIT" }, FALSE },
		{ { .helo = "x\r\nMAIL FROM:<a@b>" }, FALSE },
		{ { .helo = "my host" }, FALSE },
	};

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (GError) error = NULL;

		g_test_message ("config case %u", i);
		g_assert_cmpint (mp_smtp_check_config (&cases[i].cfg, &error),
				 ==, cases[i].ok);
		if (!cases[i].ok)
			g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
	}
}

/* A command sent with a redacted transcript (AUTH's credentials) does not
 * stay in the command buffer once sent; other commands are not wiped. */
static void
test_credentials_wiped_once_sent (void)
{
	MpSmtpConfig cfg = { 0 };
	MpSmtp *smtp = mp_smtp_new (&cfg);
	g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
	g_autoptr (GError) error = NULL;
	const char *line = "AUTH PLAIN AGFubgBodW50ZXIy";
	gsize n = strlen (line) + 2;
	guint8 *kept;

	smtp->out = out;
	mp_smtp_queue (smtp, line, "AUTH PLAIN [redacted]");
	kept = smtp->wbuf->data;
	g_assert_true (mp_smtp_flush (smtp, &error));
	g_assert_no_error (error);
	/* sent whole, then zeros where it was */
	g_assert_cmpmem (
		g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (out)),
		n, "AUTH PLAIN AGFubgBodW50ZXIy\r\n", n);
	g_assert_true (kept == smtp->wbuf->data);
	for (gsize i = 0; i < n; i++)
		g_assert_cmpint (kept[i], ==, 0);

	mp_smtp_queue (smtp, "NOOP", NULL);
	g_assert_true (mp_smtp_flush (smtp, &error));
	g_assert_cmpmem (kept, 4, "NOOP", 4);
	smtp->out = NULL;
	mp_smtp_free (smtp);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/smtp/server_url_parsed_and_tls_chosen",
			 test_parse_server);
	g_test_add_func ("/smtp/userinfo_refused_unrepeated",
			 test_userinfo_refused_unrepeated);
	g_test_add_func ("/smtp/dsn_values_checked", test_check_dsn);
	g_test_add_func ("/smtp/config_values_checked", test_check_config);
	g_test_add_func ("/smtp/parse_server_host_is_output",
			 test_parse_server_host_is_output);
	g_test_add_func ("/smtp/credentials_wiped_once_sent",
			 test_credentials_wiped_once_sent);
	return g_test_run ();
}
