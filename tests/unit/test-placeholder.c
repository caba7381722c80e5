/* mp-placeholder: finding {{name}} and letting it stand in header fields. */
#include "mp-error.h"
#include "mp-placeholder.h"

#include <gmime/gmime.h>
#include <string.h>

static void
test_scan (void)
{
	GError *error = NULL;
	g_autoptr (GArray) a =
		mp_placeholder_scan ("Hi {{ name }}, {{{html}}}!", "t", &error);
	MpPlaceholder *p;

	g_assert_no_error (error);
	g_assert_cmpuint (a->len, ==, 2);
	p = &g_array_index (a, MpPlaceholder, 0);
	g_assert_cmpstr (p->name, ==, "name");
	g_assert_false (p->raw);
	g_assert_cmpuint (p->start, ==, 3);
	g_assert_cmpuint (p->end, ==, 13);
	p = &g_array_index (a, MpPlaceholder, 1);
	g_assert_cmpstr (p->name, ==, "html");
	g_assert_true (p->raw);
}

static void
test_scan_refuses_unclosed_and_empty (void)
{
	static const char *const bad[] = { "a {{b", "{{}}", "{{ }}",
					   "{{a{b}}" };
	GError *error = NULL;

	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_assert_null (mp_placeholder_scan (bad[i], "Subject", &error));
		g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
		g_assert_nonnull (strstr (error->message, "Subject"));
		g_clear_error (&error);
	}
}

static void
test_format_header (void)
{
	static const struct {
		const char *name, *value, *out;
	} cases[] = {
		{ "To", "{{name}} <{{email}}>", "To: {{name}} <{{email}}>\n" },
		{ "To", "{{email}}", "To: {{email}}\n" },
		{ "To", "{{user}}@example.org", "To: {{user}}@example.org\n" },
		{ "Cc", "Ann <ann@example.org>, {{email}}",
		  "Cc: Ann <ann@example.org>, {{email}}\n" },
		{ "Subject", "Invoice {{n}} für {{name}}",
		  "Subject: Invoice {{n}} =?UTF-8?Q?f=C3=BCr?= {{name}}\n" },
		{ "Subject", "no placeholder", "Subject: no placeholder\n" },
	};
	GError *error = NULL;

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree char *f = mp_placeholder_format_header (
			cases[i].name, cases[i].value, &error);

		g_assert_no_error (error);
		g_assert_cmpstr (f, ==, cases[i].out);
	}
	/* what is not a placeholder is still checked */
	g_assert_null (mp_placeholder_format_header (
		"To", "{{name}} <not an address>", &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_clear_error (&error);
	g_assert_null (mp_placeholder_format_header ("Subject", "a\r\nBcc: x",
						     &error));
	g_assert_nonnull (error);
	g_clear_error (&error);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_mime_init ();
	g_test_add_func ("/placeholder/scan", test_scan);
	g_test_add_func ("/placeholder/scan_refuses_unclosed_and_empty",
			 test_scan_refuses_unclosed_and_empty);
	g_test_add_func ("/placeholder/format_header", test_format_header);
	return g_test_run ();
}
