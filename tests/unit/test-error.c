/* The error table: every class of error and the errors of other domains
 * the library passes on, to the exit code a tool gives them (DESIGN 7,
 * sysexits.h); and the one-line error message. */
#include "mp-cli.h"
#include "mp-error.h"

#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

/* The codes are spelt out as the README and mimepipe(7) list them, not
 * through sysexits.h: a change of number must fail here. */
static void
test_every_class_has_its_code (void)
{
	static const struct {
		MpErrorCode code;
		int exit;
	} cases[] = {
		{ MP_ERROR_USAGE, 64 },       { MP_ERROR_DATA, 65 },
		{ MP_ERROR_NO_INPUT, 66 },    { MP_ERROR_NO_USER, 67 },
		{ MP_ERROR_NO_HOST, 68 },     { MP_ERROR_UNAVAILABLE, 69 },
		{ MP_ERROR_SOFTWARE, 70 },    { MP_ERROR_OS, 71 },
		{ MP_ERROR_CANT_CREATE, 73 }, { MP_ERROR_IO, 74 },
		{ MP_ERROR_TEMPFAIL, 75 },    { MP_ERROR_PROTOCOL, 76 },
		{ MP_ERROR_NO_PERM, 77 },     { MP_ERROR_CONFIG, 78 },
	};

	/* every MpErrorCode is in the table above: they are numbered
	 * from 0 without gaps */
	g_assert_cmpint (G_N_ELEMENTS (cases), ==, MP_ERROR_CONFIG + 1);
	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (GError) e =
			g_error_new (MP_ERROR, cases[i].code, "case %u", i);

		g_assert_cmpint (cases[i].code, ==, i);
		g_assert_cmpint (mp_error_class (e), ==, cases[i].code);
		g_assert_cmpint (mp_cli_exit_code (e), ==, cases[i].exit);
	}
}

static void
test_no_error_is_zero (void)
{
	g_assert_cmpint (mp_cli_exit_code (NULL), ==, 0);
}

static void
test_unknown_code_is_software (void)
{
	g_autoptr (GError) e = g_error_new (MP_ERROR, 999, "unknown");
	g_autoptr (GError) neg = g_error_new (MP_ERROR, -1, "negative");

	g_assert_cmpint (mp_cli_exit_code (e), ==, EX_SOFTWARE);
	g_assert_cmpint (mp_cli_exit_code (neg), ==, EX_SOFTWARE);
}

typedef struct {
	const char *what;
	GQuark (*domain) (void);
	int code;
	MpErrorCode class;
	int exit;
} Foreign;

static GQuark
mp_domain (void)
{
	return MP_ERROR;
}

static GQuark
unknown_domain (void)
{
	return g_quark_from_static_string ("some-other-library");
}

/* What GIO, GLib and the resolver report, as a user of the command must
 * see it: a file that is not there is "no input", a refused connection
 * "try again later", a broken certificate a protocol failure. */
static const Foreign foreign[] = {
	{ "option", g_option_error_quark, G_OPTION_ERROR_BAD_VALUE,
	  MP_ERROR_USAGE, 64 },
	{ "option unknown", g_option_error_quark, G_OPTION_ERROR_UNKNOWN_OPTION,
	  MP_ERROR_USAGE, 64 },
	{ "gio not found", g_io_error_quark, G_IO_ERROR_NOT_FOUND,
	  MP_ERROR_NO_INPUT, 66 },
	{ "gio directory", g_io_error_quark, G_IO_ERROR_IS_DIRECTORY,
	  MP_ERROR_NO_INPUT, 66 },
	{ "gio not regular", g_io_error_quark, G_IO_ERROR_NOT_REGULAR_FILE,
	  MP_ERROR_NO_INPUT, 66 },
	{ "gio permission", g_io_error_quark, G_IO_ERROR_PERMISSION_DENIED,
	  MP_ERROR_NO_INPUT, 66 },
	{ "gio timed out", g_io_error_quark, G_IO_ERROR_TIMED_OUT,
	  MP_ERROR_TEMPFAIL, 75 },
	{ "gio refused", g_io_error_quark, G_IO_ERROR_CONNECTION_REFUSED,
	  MP_ERROR_TEMPFAIL, 75 },
	{ "gio host unreachable", g_io_error_quark, G_IO_ERROR_HOST_UNREACHABLE,
	  MP_ERROR_TEMPFAIL, 75 },
	{ "gio network unreachable", g_io_error_quark,
	  G_IO_ERROR_NETWORK_UNREACHABLE, MP_ERROR_TEMPFAIL, 75 },
	/* G_IO_ERROR_BROKEN_PIPE is the same code */
	{ "gio closed", g_io_error_quark, G_IO_ERROR_CONNECTION_CLOSED,
	  MP_ERROR_TEMPFAIL, 75 },
	{ "gio host not found", g_io_error_quark, G_IO_ERROR_HOST_NOT_FOUND,
	  MP_ERROR_NO_HOST, 68 },
	{ "gio invalid data", g_io_error_quark, G_IO_ERROR_INVALID_DATA,
	  MP_ERROR_DATA, 65 },
	{ "gio partial input", g_io_error_quark, G_IO_ERROR_PARTIAL_INPUT,
	  MP_ERROR_DATA, 65 },
	{ "gio no space", g_io_error_quark, G_IO_ERROR_NO_SPACE, MP_ERROR_IO,
	  74 },
	{ "gio failed", g_io_error_quark, G_IO_ERROR_FAILED, MP_ERROR_IO, 74 },
	{ "resolver temporary", g_resolver_error_quark,
	  G_RESOLVER_ERROR_TEMPORARY_FAILURE, MP_ERROR_TEMPFAIL, 75 },
	{ "resolver not found", g_resolver_error_quark,
	  G_RESOLVER_ERROR_NOT_FOUND, MP_ERROR_NO_HOST, 68 },
	{ "resolver internal", g_resolver_error_quark,
	  G_RESOLVER_ERROR_INTERNAL, MP_ERROR_NO_HOST, 68 },
	{ "tls bad certificate", g_tls_error_quark, G_TLS_ERROR_BAD_CERTIFICATE,
	  MP_ERROR_PROTOCOL, 76 },
	{ "tls handshake", g_tls_error_quark, G_TLS_ERROR_HANDSHAKE,
	  MP_ERROR_PROTOCOL, 76 },
	{ "file noent", g_file_error_quark, G_FILE_ERROR_NOENT,
	  MP_ERROR_NO_INPUT, 66 },
	{ "file acces", g_file_error_quark, G_FILE_ERROR_ACCES,
	  MP_ERROR_NO_INPUT, 66 },
	{ "file isdir", g_file_error_quark, G_FILE_ERROR_ISDIR,
	  MP_ERROR_NO_INPUT, 66 },
	{ "file pipe", g_file_error_quark, G_FILE_ERROR_PIPE, MP_ERROR_IO, 74 },
	{ "file nospc", g_file_error_quark, G_FILE_ERROR_NOSPC, MP_ERROR_IO,
	  74 },
	{ "file io", g_file_error_quark, G_FILE_ERROR_IO, MP_ERROR_IO, 74 },
	{ "convert illegal", g_convert_error_quark,
	  G_CONVERT_ERROR_ILLEGAL_SEQUENCE, MP_ERROR_DATA, 65 },
	{ "convert no conversion", g_convert_error_quark,
	  G_CONVERT_ERROR_NO_CONVERSION, MP_ERROR_DATA, 65 },
	{ "key file parse", g_key_file_error_quark, G_KEY_FILE_ERROR_PARSE,
	  MP_ERROR_CONFIG, 78 },
	{ "key file not found", g_key_file_error_quark,
	  G_KEY_FILE_ERROR_NOT_FOUND, MP_ERROR_CONFIG, 78 },
	{ "another library", unknown_domain, 1, MP_ERROR_SOFTWARE, 70 },
	{ "mp data", mp_domain, MP_ERROR_DATA, MP_ERROR_DATA, 65 },
};

static void
test_foreign_domains (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (foreign); i++) {
		const Foreign *f = &foreign[i];
		g_autoptr (GError) e =
			g_error_new_literal (f->domain (), f->code, f->what);

		g_test_message ("%s", f->what);
		g_assert_cmpint (mp_error_class (e), ==, f->class);
		g_assert_cmpint (mp_cli_exit_code (e), ==, f->exit);
	}
}

/* The library decides by class (lib/submit: a temporary failure is
 * kept in the outbox and is less bad than a permanent one), the tools by
 * exit code: the two agree only while each class has a code of its own,
 * and 75 is MP_ERROR_TEMPFAIL's alone. */
static void
test_one_code_per_class (void)
{
	for (int a = 0; a <= MP_ERROR_CONFIG; a++) {
		g_autoptr (GError) ea = g_error_new (MP_ERROR, a, "%d", a);

		g_assert_cmpint (mp_cli_exit_code (ea) == EX_TEMPFAIL, ==,
				 a == MP_ERROR_TEMPFAIL);
		for (int b = a + 1; b <= MP_ERROR_CONFIG; b++) {
			g_autoptr (GError) eb =
				g_error_new (MP_ERROR, b, "%d", b);

			g_assert_cmpint (mp_cli_exit_code (ea), !=,
					 mp_cli_exit_code (eb));
		}
	}
	/* a foreign error's code is that of its class */
	for (guint i = 0; i < G_N_ELEMENTS (foreign); i++) {
		g_autoptr (GError) e = g_error_new_literal (
			foreign[i].domain (), foreign[i].code, foreign[i].what);
		g_autoptr (GError) c =
			g_error_new_literal (MP_ERROR, mp_error_class (e), "");

		g_assert_cmpint (mp_cli_exit_code (e), ==,
				 mp_cli_exit_code (c));
	}
}

/* mp_cli_fail() on stderr: "prog: message", escaped, one line; nothing
 * for a closed pipe; the code either way. */
static char *
fail_output (GError *error, int *code)
{
	char path[] = "/tmp/test-error-XXXXXX";
	int fd = g_mkstemp (path);
	int saved = dup (STDERR_FILENO);
	char *text = NULL;

	g_assert_cmpint (fd, >=, 0);
	fflush (stderr);
	dup2 (fd, STDERR_FILENO);
	*code = mp_cli_fail (error);
	fflush (stderr);
	dup2 (saved, STDERR_FILENO);
	close (saved);
	close (fd);
	g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
	unlink (path);
	return text;
}

static void
test_fail_line (void)
{
	static const struct {
		GQuark (*domain) (void);
		int code;
		const char *message, *line;
		int exit;
	} cases[] = {
		{ mp_domain, MP_ERROR_NO_INPUT, "a.pdf: No such file",
		  "test-error: a.pdf: No such file\n", 66 },
		{ mp_domain, MP_ERROR_DATA, "To: \"x\ny\": bad\x1b[31m",
		  "test-error: To: \"x\\ny\": bad\\x1b[31m\n", 65 },
		{ g_io_error_quark, G_IO_ERROR_CONNECTION_REFUSED,
		  "host: refused", "test-error: host: refused\n", 75 },
		/* `| head -1`: no message, still 74 */
		{ g_file_error_quark, G_FILE_ERROR_PIPE, "stdout: Broken pipe",
		  "", 74 },
	};

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		int code = -1;
		g_autofree char *out = fail_output (
			g_error_new_literal (cases[i].domain (), cases[i].code,
					     cases[i].message),
			&code);

		g_assert_cmpstr (out, ==, cases[i].line);
		g_assert_cmpint (code, ==, cases[i].exit);
	}
}

/* mp_cli_parse_operands(): up to the limit the operands are left in argv;
 * one more is refused in the one message every command shares, naming
 * the first operand too many; -1 takes any number. */
static void
test_operands_at_most (void)
{
	static const struct {
		const char *args; /* after the program name, '|' between */
		int max;
		const char *message; /* NULL: accepted */
		int left;            /* argc after parsing when accepted */
	} cases[] = {
		{ "", 0, NULL, 1 },
		{ "a.eml", 0,
		  "a.eml: unexpected argument (at most 0 operands, see --help)",
		  0 },
		{ "a.eml", 1, NULL, 2 },
		{ "a.eml|b.eml", 1,
		  "b.eml: unexpected argument (at most 1 operand, see --help)",
		  0 },
		{ "--|-a.eml", 1, NULL, 2 },
		{ "--|a|-b", 1,
		  "-b: unexpected argument (at most 1 operand, see --help)",
		  0 },
		{ "t.eml|d.csv", 2, NULL, 3 },
		{ "t.eml|d.csv|x", 2,
		  "x: unexpected argument (at most 2 operands, see --help)",
		  0 },
		{ "a|b|c|d", -1, NULL, 5 },
	};
	static const GOptionEntry none[] = { { NULL } };

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree char *line =
			*cases[i].args ?
				g_strconcat ("prog|", cases[i].args, NULL) :
				g_strdup ("prog");
		g_auto (GStrv) args = g_strsplit (line, "|", -1);
		/* the strings stay in args: argv is a vector GOption may
		 * reorder */
		char **argv = g_memdup2 (
			args, sizeof (char *) * (g_strv_length (args) + 1));
		int argc = (int) g_strv_length (args);
		MpCliCommon common = { 0 };
		g_autoptr (GError) error = NULL;
		gboolean ok;

		ok = mp_cli_parse_operands (none, "[FILE]", "test", FALSE,
					    cases[i].max, &common, &argc, &argv,
					    &error);
		if (cases[i].message == NULL) {
			g_assert_no_error (error);
			g_assert_true (ok);
			g_assert_cmpint (argc, ==, cases[i].left);
		} else {
			g_assert_false (ok);
			g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
			g_assert_cmpstr (error->message, ==, cases[i].message);
		}
		g_free (argv);
		g_free (common.output);
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_set_prgname ("test-error");
	g_test_add_func ("/error/every-class-has-its-code",
			 test_every_class_has_its_code);
	g_test_add_func ("/error/no-error-is-zero", test_no_error_is_zero);
	g_test_add_func ("/error/unknown-code-is-software",
			 test_unknown_code_is_software);
	g_test_add_func ("/error/foreign-domains", test_foreign_domains);
	g_test_add_func ("/error/one-code-per-class", test_one_code_per_class);
	g_test_add_func ("/error/fail-line", test_fail_line);
	g_test_add_func ("/error/operands-at-most", test_operands_at_most);
	return g_test_run ();
}
