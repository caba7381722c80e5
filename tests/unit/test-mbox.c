/* mp-mbox and mp-merge's mboxrd writer: what mime-merge writes,
 * smtp-send --mbox reads back byte for byte. */
#include "mp-error.h"
#include "mp-mbox.h"
#include "mp-merge.h"

#include <string.h>
#include <unistd.h>

/* The messages of @stream, read through a pipe-like temporary file. */
static GPtrArray *
read_all (const char *stream, gsize len, GError **error)
{
	GPtrArray *out = g_ptr_array_new_with_free_func (
		(GDestroyNotify) g_byte_array_unref);
	char path[] = "/tmp/mp-test-mbox.XXXXXX";
	int fd = g_mkstemp (path);
	g_autoptr (MpMboxReader) r = NULL;

	g_assert_cmpint (fd, >=, 0);
	unlink (path);
	g_assert_cmpint (write (fd, stream, len), ==, (gssize) len);
	lseek (fd, 0, SEEK_SET);
	r = mp_mbox_reader_new (fd, "test");
	for (;;) {
		MpInput *in = NULL;
		GBytes *b;

		if (!mp_mbox_reader_next (r, &in, error)) {
			g_ptr_array_unref (out);
			close (fd);
			return NULL;
		}
		if (in == NULL)
			break;
		b = mp_input_read_all (in, error);
		g_assert_nonnull (b);
		g_ptr_array_add (out, g_bytes_unref_to_array (b));
		mp_input_free (in);
	}
	close (fd);
	return out;
}

static void
assert_round_trip (const char *const *msgs, guint n)
{
	g_autoptr (GByteArray) stream = g_byte_array_new ();
	g_autoptr (GPtrArray) back = NULL;
	GError *error = NULL;

	for (guint i = 0; i < n; i++) {
		g_autoptr (GByteArray) m = g_byte_array_new ();

		g_byte_array_append (m, (const guint8 *) msgs[i],
				     (guint) strlen (msgs[i]));
		mp_merge_append_mboxrd (stream, m);
	}
	back = read_all ((const char *) stream->data, stream->len, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (back->len, ==, n);
	for (guint i = 0; i < n; i++) {
		GByteArray *b = back->pdata[i];

		g_assert_cmpmem (b->data, b->len, msgs[i], strlen (msgs[i]));
	}
}

static void
test_mboxrd_round_trip (void)
{
	static const char *const msgs[] = {
		"Subject: a\n\nFrom the start\n>From quoted\n>>From twice\n",
		"Subject: b\n\n\n\nblank lines kept\n\n",
		"Subject: c\n\nFrom\nFromage\n From indented\n",
		"Subject: d\r\n\r\nCRLF kept\r\n",
	};

	assert_round_trip (msgs, G_N_ELEMENTS (msgs));
}

static void
test_message_without_final_newline (void)
{
	static const char *const msgs[] = { "Subject: a\n\nno end" };
	g_autoptr (GByteArray) stream = g_byte_array_new ();
	g_autoptr (GByteArray) m = g_byte_array_new ();
	g_autoptr (GPtrArray) back = NULL;

	g_byte_array_append (m, (const guint8 *) msgs[0], strlen (msgs[0]));
	mp_merge_append_mboxrd (stream, m);
	back = read_all ((const char *) stream->data, stream->len, NULL);
	g_assert_cmpuint (back->len, ==, 1);
	/* the writer ends the message's last line; that is all it adds */
	g_assert_cmpmem (((GByteArray *) back->pdata[0])->data,
			 ((GByteArray *) back->pdata[0])->len,
			 "Subject: a\n\nno end\n", 19);
}

/* lines longer than the reader's buffer, and a From-like line that
 * straddles it, come back whole */
static void
test_lines_across_buffers (void)
{
	GString *big = g_string_new ("Subject: big\n\n");
	const char *msgs[2];

	for (int i = 0; i < 3000; i++)
		g_string_append (big,
				 "0123456789abcdef0123456789abcdef0123456789"
				 "abcdef0123456789abcdef0123456789ab\n");
	g_string_append (big, "From inside\n");
	for (int i = 0; i < 600000; i++)
		g_string_append_c (big, 'x');
	g_string_append (big, "\n>>>From deep\n");
	msgs[0] = big->str;
	msgs[1] = "Subject: small\n\nbye\n";
	assert_round_trip (msgs, 2);
	g_string_free (big, TRUE);
}

static void
test_not_an_mbox (void)
{
	GError *error = NULL;
	GPtrArray *back = read_all ("Subject: x\n\nhi\n", 15, &error);

	g_assert_null (back);
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_assert_nonnull (strstr (error->message, "test: not an mbox"));
	g_error_free (error);
}

static void
test_empty_stream_has_no_message (void)
{
	GError *error = NULL;
	g_autoptr (GPtrArray) back = read_all ("", 0, &error);

	g_assert_no_error (error);
	g_assert_cmpuint (back->len, ==, 0);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_mime_init ();
	g_test_add_func ("/mbox/mboxrd_round_trip", test_mboxrd_round_trip);
	g_test_add_func ("/mbox/message_without_final_newline",
			 test_message_without_final_newline);
	g_test_add_func ("/mbox/lines_across_buffers",
			 test_lines_across_buffers);
	g_test_add_func ("/mbox/not_an_mbox", test_not_an_mbox);
	g_test_add_func ("/mbox/empty_stream_has_no_message",
			 test_empty_stream_has_no_message);
	return g_test_run ();
}
