/* mp-address: the addr-spec check, mailbox counts; mp-rfc2047's safe
 * strings; mp-charset's printable ASCII. */
#include "mp-address.h"

#include <string.h>
#include "mp-charset.h"
#include "mp-error.h"
#include "mp-field.h"
#include "mp-rfc2047.h"

typedef struct {
	const char *in;
	const char *out; /* NULL: refused */
} SpecCase;

static const SpecCase spec_cases[] = {
	{ "ann@example.org", "ann@example.org" },
	{ "a.b+c@example.org", "a.b+c@example.org" },
	{ "\"a b\"@example.org", "\"a b\"@example.org" },
	{ "ann@b\303\274cher.example", "ann@xn--bcher-kva.example" },
	{ "ann@XN--BCHER-KVA.example", "ann@xn--bcher-kva.example" },
	{ "ann@[192.0.2.1]", "ann@[192.0.2.1]" },
	{ "ann@exa_mple.org", "ann@exa_mple.org" }, /* a header allows '_' */
	{ "ann", NULL },
	{ "@example.org", NULL },
	{ "ann@", NULL },
	{ "a..b@example.org", NULL },
	{ ".ann@example.org", NULL },
	{ "j\303\266rg@example.org", NULL }, /* RFC 6532 not supported */
	{ "ann@-example.org", NULL },
	{ "ann@xn--zz.example", NULL }, /* an A-label that does not decode */
	{ "ann@[192.0.2.1", NULL },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "@example.org",
	  NULL }, /* 65 octets before @ */
};

static void
test_check_spec (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (spec_cases); i++) {
		const SpecCase *c = &spec_cases[i];
		g_autoptr (GError) error = NULL;
		g_autofree char *out =
			mp_address_check_spec ("To", c->in, &error);

		g_test_message ("case %u: %s", i, c->in);
		g_assert_cmpstr (out, ==, c->out);
		if (c->out == NULL) {
			g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
			g_assert_true (
				g_str_has_prefix (error->message, "To: "));
		}
	}
}

static void
test_count_mailboxes (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GPtrArray) l = mp_address_read_list (
		"To",
		"a@example.org, team: b@example.org, c@example.org;, d@example.org",
		&error);

	g_assert_no_error (error);
	g_assert_cmpint (l->len, ==, 3);
	g_assert_cmpuint (mp_address_list_count (l), ==, 4);
}

/* the parser alone does not check the value: mp_field_parse_addresses()
 * does, before it */
static void
test_field_checks_value_first (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GPtrArray) l = mp_field_parse_addresses (
		"To", "a@example.org\r\nBcc: x@example.org", &error);

	g_assert_null (l);
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
}

static void
test_atext (void)
{
	const char *yes = "azAZ09!#$%&'*+-/=?^_`{|}~";
	const char *no = " \"(),.:;<>@[\\]\x7f\x80";

	for (const char *p = yes; *p; p++)
		g_assert_true (mp_address_is_atext ((guchar) *p));
	for (const char *p = no; *p; p++)
		g_assert_false (mp_address_is_atext ((guchar) *p));
	g_assert_false (mp_address_is_atext ('\0'));
}

static void
test_printable_ascii (void)
{
	g_assert_true (mp_charset_is_printable_ascii (""));
	g_assert_true (mp_charset_is_printable_ascii (" ~abc"));
	g_assert_false (mp_charset_is_printable_ascii ("a\tb"));
	g_assert_false (mp_charset_is_printable_ascii ("a\x7f"));
	g_assert_false (mp_charset_is_printable_ascii ("caf\303\251"));
}

static void
test_make_safe (void)
{
	static const char in[] = "a\r\nb\0c\033[31md\t\320\265\xff";
	GString *s = g_string_new (NULL);
	g_autofree char *out = NULL;

	g_string_append_len (s, in, sizeof in - 1);
	out = mp_rfc2047_make_safe (s);
	/* CR LF blanks, NUL and ESC U+FFFD, TAB kept, invalid UTF-8 U+FFFD */
	g_assert_cmpstr (out, ==,
			 "a  b\357\277\275c\357\277\275[31md\t\320\265"
			 "\357\277\275");
}

/* display names as GMime gave them: the phrase from its first word to
 * its last, quotes and escapes out, encoded words decoded, blanks
 * trimmed; for a bare addr-spec the comment after it */
static void
test_read_list_names (void)
{
	static const struct {
		const char *in, *name, *spec;
	} cases[] = {
		{ "Bob  Smith <bob@example.com>", "Bob  Smith",
		  "bob@example.com" },
		{ "\"Smith, J.\" <j@example.com>", "Smith, J.",
		  "j@example.com" },
		{ "\"Bob\" Smith <b@example.com>", "Bob Smith",
		  "b@example.com" },
		{ "Bob (the man) Smith <b@example.com>", "Bob (the man) Smith",
		  "b@example.com" },
		{ "Bob (the man) <b@example.com>", "Bob", "b@example.com" },
		{ "k@example.com (Kay Kay)", "Kay Kay", "k@example.com" },
		{ "(c) k@example.com", "", "k@example.com" },
		{ "<bare@example.com>", "", "bare@example.com" },
		{ "\"  spaced  \" <s@example.com>", "spaced", "s@example.com" },
		{ "\"a\\\"b\" <q@example.com>", "a\"b", "q@example.com" },
		{ "=?utf-8?q?J=C3=B6rg?= <j@example.com>", "Jörg",
		  "j@example.com" },
		{ "=?iso-8859-1?q?J=F6rg?= Two <j@example.com>", "Jörg Two",
		  "j@example.com" },
		{ "=?utf-8?b?5a2j?= =?utf-8?b?5bqm?= <c@example.com>", "季度",
		  "c@example.com" },
		{ "Dave <dave@XN--BCHER-KVA.EXAMPLE>", "Dave",
		  "dave@xn--bcher-kva.example" },
		{ "Zoë <zoe@bücher.example>", "Zoë",
		  "zoe@xn--bcher-kva.example" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (GPtrArray) l =
			mp_address_read_list ("To", cases[i].in, &error);
		const MpAddress *a;

		g_test_message ("%s", cases[i].in);
		g_assert_no_error (error);
		g_assert_cmpuint (l->len, ==, 1);
		a = l->pdata[0];
		g_assert_null (a->members);
		g_assert_cmpstr (a->name, ==, cases[i].name);
		g_assert_cmpstr (a->spec, ==, cases[i].spec);
	}
}

/* an unquoted comma in a display name: refused as a whole, as GMime's
 * reading made it; a word without a domain alone: named */
static void
test_read_list_unquoted_comma (void)
{
	g_autoptr (GError) e1 = NULL;
	g_autoptr (GError) e2 = NULL;
	g_autoptr (GPtrArray) l1 =
		mp_address_read_list ("To", "Doe, John <j@example.com>", &e1);
	g_autoptr (GPtrArray) l2 =
		mp_address_read_list ("To", "a@example.com, Doe", &e2);

	g_assert_null (l1);
	g_assert_error (e1, MP_ERROR, MP_ERROR_DATA);
	g_assert_nonnull (
		strstr (e1->message, "cannot parse the address list"));
	g_assert_null (l2);
	g_assert_error (e2, MP_ERROR, MP_ERROR_DATA);
	g_assert_nonnull (strstr (e2->message, "\"Doe\": not an address"));
}

/* the domain of a Message-ID: the addr-spec's, when it is ASCII and not
 * a literal; else the caller's fallback */
static void
test_msgid_domain (void)
{
	static const struct {
		const char *spec, *want;
	} cases[] = {
		{ "ann@example.org", "example.org" },
		{ "\"a@b\"@xn--bcher-kva.example", "xn--bcher-kva.example" },
		{ "ann@b\xc3\xbc"
		  "cher.example",
		  "fallback" },
		{ "ann@[192.0.2.1]", "fallback" },
		{ "ann@", "fallback" },
		{ "ann", "fallback" },
		{ NULL, "fallback" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree char *d =
			mp_address_msgid_domain (cases[i].spec, "fallback");

		g_assert_cmpstr (d, ==, cases[i].want);
	}
	g_assert_null (mp_address_msgid_domain ("ann@[::1]", NULL));
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_mime_init ();
	g_test_add_func ("/address/check_spec", test_check_spec);
	g_test_add_func ("/address/count_mailboxes_in_groups",
			 test_count_mailboxes);
	g_test_add_func ("/address/field_checks_value_before_parsing",
			 test_field_checks_value_first);
	g_test_add_func ("/address/atext", test_atext);
	g_test_add_func ("/address/read_list_names", test_read_list_names);
	g_test_add_func ("/address/read_list_unquoted_comma",
			 test_read_list_unquoted_comma);
	g_test_add_func ("/charset/printable_ascii", test_printable_ascii);
	g_test_add_func ("/rfc2047/make_safe", test_make_safe);
	g_test_add_func ("/address/msgid_domain", test_msgid_domain);
	return g_test_run ();
}
