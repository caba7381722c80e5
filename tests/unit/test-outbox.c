/* mp-outbox: messages stored durably with their envelope, read back byte
 * for byte, listed oldest first, removed, and locked against a second
 * flush. */
#include "mp-cli.h"
#include "mp-error.h"
#include "mp-outbox.h"
#include "unit-tree.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static char *tmpdir;

/* A fresh outbox in a directory that does not exist yet. */
static MpOutbox *
new_outbox (const char *name)
{
	g_autofree char *dir = g_build_filename (tmpdir, name, "outbox", NULL);
	g_autoptr (GError) error = NULL;
	MpOutbox *outbox;

	remove_tree (dir);
	outbox = mp_outbox_open (dir, &error);
	g_assert_no_error (error);
	return outbox;
}

static MpOutboxEnvelope *
envelope (const char *sender, const char *rcpt1, const char *rcpt2)
{
	MpOutboxEnvelope *env = mp_outbox_envelope_new ();

	env->sender = g_strdup (sender);
	g_ptr_array_add (env->recipients, g_strdup (rcpt1));
	if (rcpt2 != NULL)
		g_ptr_array_add (env->recipients, g_strdup (rcpt2));
	return env;
}

static char *
store (MpOutbox *outbox, const MpOutboxEnvelope *env, const char *data,
       gsize len)
{
	g_autoptr (GMimeStream) s =
		g_mime_stream_mem_new_with_buffer (data, len);
	g_autoptr (GError) error = NULL;
	char *path = mp_outbox_store (outbox, env, s, &error);

	g_assert_no_error (error);
	g_assert_nonnull (path);
	return path;
}

static guint
count_files (MpOutbox *outbox, const char *sub)
{
	g_autofree char *path =
		g_build_filename (mp_outbox_get_dir (outbox), sub, NULL);
	GDir *dir = g_dir_open (path, 0, NULL);
	guint n = 0;

	g_assert_nonnull (dir);
	while (g_dir_read_name (dir) != NULL)
		n++;
	g_dir_close (dir);
	return n;
}

/* Reads the message part of stored @name back. */
static GBytes *
read_back (MpOutbox *outbox, const char *name, MpOutboxEnvelope **env)
{
	g_autoptr (GError) error = NULL;
	GByteArray *bytes = g_byte_array_new ();
	int fd = mp_outbox_open_message (outbox, name, env, &error);
	char buf[4096];
	ssize_t n;

	g_assert_no_error (error);
	g_assert_cmpint (fd, >=, 0);
	while ((n = read (fd, buf, sizeof buf)) > 0)
		g_byte_array_append (bytes, (guint8 *) buf, (guint) n);
	g_assert_cmpint (n, ==, 0);
	close (fd);
	return g_byte_array_free_to_bytes (bytes);
}

/* The message's own fields that look like the envelope block's, CRLF line
 * ends, 8-bit bytes, no final newline: all come back unchanged, and only
 * the stored envelope counts. */
static const char tricky[] = "X-Mimepipe-To: <evil@attacker.example>\r\n"
			     "X-Mimepipe-End: 1\r\n"
			     "From: Ann <ann@example.org>\r\n"
			     "Subject: caf\xc3\xa9\r\n"
			     "\r\n"
			     "X-Mimepipe-End: 1\n"
			     ".\r\n"
			     "no final newline";

static void
test_store_and_read_back (void)
{
	g_autoptr (MpOutbox) outbox = new_outbox ("store");
	g_autoptr (MpOutboxEnvelope) env = envelope (
		"ann@example.org", "bob@example.com", "carl@example.net");
	g_autoptr (MpOutboxEnvelope) back = NULL;
	g_autofree char *path = NULL;
	g_autoptr (GPtrArray) list = NULL;
	g_autoptr (GBytes) data = NULL;
	g_autoptr (GError) error = NULL;
	struct stat st;

	env->account = g_strdup ("work mail");
	env->notify = g_strdup ("SUCCESS,FAILURE");
	env->ret = g_strdup ("HDRS");
	env->envid = g_strdup ("id+2B1");
	env->allow_partial = TRUE;
	path = store (outbox, env, tricky, sizeof tricky - 1);

	/* in new/, private, nothing left in tmp/ */
	g_assert_nonnull (strstr (path, "/new/"));
	g_assert_cmpint (g_stat (path, &st), ==, 0);
	g_assert_cmpint (st.st_mode & 0777, ==, 0600);
	g_assert_cmpuint (count_files (outbox, "tmp"), ==, 0);
	g_assert_cmpuint (count_files (outbox, "new"), ==, 1);

	list = mp_outbox_list (outbox, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (list->len, ==, 1);
	g_assert_true (g_str_has_suffix (path, g_ptr_array_index (list, 0)));
	data = read_back (outbox, g_ptr_array_index (list, 0), &back);
	g_assert_cmpmem (g_bytes_get_data (data, NULL), g_bytes_get_size (data),
			 tricky, sizeof tricky - 1);
	g_assert_cmpstr (back->account, ==, "work mail");
	g_assert_cmpstr (back->sender, ==, "ann@example.org");
	g_assert_cmpuint (back->recipients->len, ==, 2);
	g_assert_cmpstr (g_ptr_array_index (back->recipients, 0), ==,
			 "bob@example.com");
	g_assert_cmpstr (g_ptr_array_index (back->recipients, 1), ==,
			 "carl@example.net");
	g_assert_cmpstr (back->notify, ==, "SUCCESS,FAILURE");
	g_assert_cmpstr (back->ret, ==, "HDRS");
	g_assert_cmpstr (back->envid, ==, "id+2B1");
	g_assert_true (back->allow_partial);
}

/* the block a mail reader shows is the documented one */
static void
test_block_format (void)
{
	g_autoptr (MpOutbox) outbox = new_outbox ("format");
	g_autoptr (MpOutboxEnvelope) env =
		envelope ("", "bob@example.com", NULL);
	g_autofree char *path = store (outbox, env, "Subject: x\n\nbody\n", 17);
	g_autofree char *text = NULL;
	g_autoptr (MpOutboxEnvelope) back = NULL;
	g_autoptr (GBytes) data = NULL;
	g_autoptr (GPtrArray) list = NULL;

	g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
	g_assert_cmpstr (text, ==,
			 "X-Mimepipe-Envelope: 1\n"
			 "X-Mimepipe-From: <>\n"
			 "X-Mimepipe-To: <bob@example.com>\n"
			 "X-Mimepipe-End: 1\n"
			 "Subject: x\n\nbody\n");
	list = mp_outbox_list (outbox, NULL);
	data = read_back (outbox, g_ptr_array_index (list, 0), &back);
	/* the null reverse-path survives */
	g_assert_cmpstr (back->sender, ==, "");
	g_assert_null (back->account);
	g_assert_false (back->allow_partial);
}

/* every field, in the order written: where it was to go before the
 * addresses, the DSN values after them; each read back into its own
 * member */
static void
test_block_every_field (void)
{
	g_autoptr (MpOutbox) outbox = new_outbox ("every");
	g_autoptr (MpOutboxEnvelope) env = envelope (
		"ann@example.org", "bob@example.com", "carl@example.net");
	g_autofree char *path = NULL;
	g_autofree char *text = NULL;
	g_autoptr (MpOutboxEnvelope) back = NULL;
	g_autoptr (GBytes) data = NULL;
	g_autoptr (GPtrArray) list = NULL;

	env->account = g_strdup ("work");
	env->server = g_strdup ("[::1]:587");
	env->tls = g_strdup ("starttls");
	env->user = g_strdup ("ann");
	env->notify = g_strdup ("NEVER");
	env->ret = g_strdup ("FULL");
	env->envid = g_strdup ("e1");
	env->allow_partial = TRUE;
	path = store (outbox, env, "Subject: x\n\nbody\n", 17);
	g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
	g_assert_cmpstr (text, ==,
			 "X-Mimepipe-Envelope: 1\n"
			 "X-Mimepipe-Account: work\n"
			 "X-Mimepipe-Server: [::1]:587\n"
			 "X-Mimepipe-Tls: starttls\n"
			 "X-Mimepipe-User: ann\n"
			 "X-Mimepipe-From: <ann@example.org>\n"
			 "X-Mimepipe-To: <bob@example.com>\n"
			 "X-Mimepipe-To: <carl@example.net>\n"
			 "X-Mimepipe-Notify: NEVER\n"
			 "X-Mimepipe-Ret: FULL\n"
			 "X-Mimepipe-Envid: e1\n"
			 "X-Mimepipe-Partial: yes\n"
			 "X-Mimepipe-End: 1\n"
			 "Subject: x\n\nbody\n");
	list = mp_outbox_list (outbox, NULL);
	data = read_back (outbox, g_ptr_array_index (list, 0), &back);
	g_assert_cmpstr (back->account, ==, "work");
	g_assert_cmpstr (back->server, ==, "[::1]:587");
	g_assert_cmpstr (back->tls, ==, "starttls");
	g_assert_cmpstr (back->user, ==, "ann");
	g_assert_cmpstr (back->notify, ==, "NEVER");
	g_assert_cmpstr (back->ret, ==, "FULL");
	g_assert_cmpstr (back->envid, ==, "e1");
	g_assert_true (back->allow_partial);
}

static void
test_list_oldest_first_and_remove (void)
{
	g_autoptr (MpOutbox) outbox = new_outbox ("order");
	g_autoptr (GPtrArray) stored = g_ptr_array_new_with_free_func (g_free);
	g_autoptr (GPtrArray) list = NULL;
	g_autoptr (GError) error = NULL;
	g_autofree char *foreign = NULL;
	struct timeval old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

	for (guint i = 0; i < 12; i++) {
		g_autoptr (MpOutboxEnvelope) env =
			envelope ("a@x.example", "b@x.example", NULL);
		g_autofree char *msg = g_strdup_printf ("Subject: %u\n\n", i);

		g_ptr_array_add (stored,
				 store (outbox, env, msg, strlen (msg)));
	}
	/* a message a mail reader moved to cur/, stored long ago under a
	 * name not of ours: first, by its modification time */
	foreign = g_build_filename (mp_outbox_get_dir (outbox), "cur",
				    "old-one:2,S", NULL);
	g_assert_true (g_file_set_contents (
		foreign,
		"X-Mimepipe-Envelope: 1\nX-Mimepipe-From: <a@x.example>\n"
		"X-Mimepipe-To: <b@x.example>\nX-Mimepipe-End: 1\n\nold\n",
		-1, NULL));
	g_assert_cmpint (utimes (foreign, old), ==, 0);

	list = mp_outbox_list (outbox, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (list->len, ==, 13);
	g_assert_cmpuint (count_files (outbox, "new"), ==, 12);
	g_assert_cmpstr (g_ptr_array_index (list, 0), ==, "cur/old-one:2,S");
	for (guint i = 0; i < 12; i++)
		g_assert_true (
			g_str_has_suffix (g_ptr_array_index (stored, i),
					  g_ptr_array_index (list, i + 1)));

	/* a message set aside leaves the queue but stays on disk */
	{
		g_autofree char *aside = mp_outbox_set_aside (
			outbox, g_ptr_array_index (list, 12), &error);
		g_autoptr (GPtrArray) after = NULL;

		g_assert_no_error (error);
		g_assert_nonnull (strstr (aside, "/failed/"));
		g_assert_true (g_file_test (aside, G_FILE_TEST_IS_REGULAR));
		after = mp_outbox_list (outbox, &error);
		g_assert_cmpuint (after->len, ==, 12);
		g_ptr_array_remove_index (list, 12);
	}
	/* removal, one at a time, oldest first */
	for (guint i = 0; i < list->len; i++) {
		g_assert_true (mp_outbox_remove (
			outbox, g_ptr_array_index (list, i), &error));
		g_assert_no_error (error);
	}
	g_clear_pointer (&list, g_ptr_array_unref);
	list = mp_outbox_list (outbox, &error);
	g_assert_cmpuint (list->len, ==, 0);
	/* removing twice is an error, not a silent success */
	g_assert_false (mp_outbox_remove (outbox, "cur/old-one:2,S", &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_IO);
}

static void
test_lock_is_exclusive (void)
{
	g_autoptr (MpOutbox) first = new_outbox ("lock");
	g_autoptr (MpOutbox) second =
		mp_outbox_open (mp_outbox_get_dir (first), NULL);
	g_autoptr (GError) error = NULL;

	g_assert_true (mp_outbox_lock (first, FALSE, &error));
	g_assert_no_error (error);
	/* taking it twice in one holder is fine */
	g_assert_true (mp_outbox_lock (first, FALSE, &error));
	g_assert_false (mp_outbox_lock (second, FALSE, &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_TEMPFAIL);
	g_assert_cmpint (mp_cli_exit_code (error), ==, 75);
	g_clear_error (&error);
	/* freeing the holder releases it */
	g_clear_pointer (&first, mp_outbox_free);
	g_assert_true (mp_outbox_lock (second, FALSE, &error));
	g_assert_no_error (error);
}

/* Another process holds the lock: a waiting locker gets it only after
 * that process let go (no sleeps: the holder waits on a pipe). */
static void
test_lock_waits_for_other_process (void)
{
	g_autoptr (MpOutbox) outbox = new_outbox ("lockwait");
	g_autoptr (GError) error = NULL;
	int go[2], ready[2];
	pid_t pid;
	char c;
	int status;

	g_assert_cmpint (pipe (go), ==, 0);
	g_assert_cmpint (pipe (ready), ==, 0);
	pid = fork ();
	g_assert_cmpint (pid, >=, 0);
	if (pid == 0) {
		MpOutbox *child =
			mp_outbox_open (mp_outbox_get_dir (outbox), NULL);

		if (child == NULL || !mp_outbox_lock (child, TRUE, NULL))
			_exit (1);
		if (write (ready[1], "r", 1) != 1 || read (go[0], &c, 1) != 1)
			_exit (1);
		/* leave a mark the parent must see once it has the lock */
		{
			g_autofree char *mark = g_build_filename (
				mp_outbox_get_dir (child), "mark", NULL);

			if (!g_file_set_contents (mark, "x", 1, NULL))
				_exit (1);
		}
		_exit (0);
	}
	g_assert_cmpint (read (ready[0], &c, 1), ==, 1);
	g_assert_false (mp_outbox_lock (outbox, FALSE, &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_TEMPFAIL);
	g_clear_error (&error);
	g_assert_cmpint (write (go[1], "g", 1), ==, 1);
	g_assert_true (mp_outbox_lock (outbox, TRUE, &error));
	g_assert_no_error (error);
	{
		g_autofree char *mark = g_build_filename (
			mp_outbox_get_dir (outbox), "mark", NULL);

		g_assert_true (g_file_test (mark, G_FILE_TEST_EXISTS));
	}
	g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
	g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
	close (go[0]);
	close (go[1]);
	close (ready[0]);
	close (ready[1]);
}

static const struct {
	const char *sender;
	const char *rcpt;
} bad_envelopes[] = {
	{ "ann@example.org\r\nRCPT TO:<x@y>", "bob@example.com" },
	{ "ann@example.org", "bob@example.com\nX-Mimepipe-To: <e@x>" },
	{ "ann@example.org", "" },
	{ "ann\x7f@example.org", "bob@example.com" },
};

static void
test_bad_envelope_not_stored (void)
{
	g_autoptr (MpOutbox) outbox = new_outbox ("bad");

	for (guint i = 0; i < G_N_ELEMENTS (bad_envelopes); i++) {
		g_autoptr (MpOutboxEnvelope) env = envelope (
			bad_envelopes[i].sender, bad_envelopes[i].rcpt, NULL);
		g_autoptr (GMimeStream) s =
			g_mime_stream_mem_new_with_buffer ("x\n", 2);
		g_autoptr (GError) error = NULL;

		g_assert_null (mp_outbox_store (outbox, env, s, &error));
		g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
	}
	{
		g_autoptr (MpOutboxEnvelope) env = mp_outbox_envelope_new ();
		g_autoptr (GMimeStream) s =
			g_mime_stream_mem_new_with_buffer ("x\n", 2);
		g_autoptr (GError) error = NULL;

		env->sender = g_strdup ("a@x.example");
		g_assert_null (mp_outbox_store (outbox, env, s, &error));
		g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
	}
	g_assert_cmpuint (count_files (outbox, "new"), ==, 0);
	g_assert_cmpuint (count_files (outbox, "tmp"), ==, 0);
}

static const struct {
	const char *name;
	const char *text;
} foreign_files[] = {
	{ "plain-message", "From: a@x.example\n\nhello\n" },
	{ "no-end", "X-Mimepipe-Envelope: 1\nX-Mimepipe-From: <a@x>\n"
		    "X-Mimepipe-To: <b@x>\n\nbody\n" },
	{ "no-recipient", "X-Mimepipe-Envelope: 1\nX-Mimepipe-From: <a@x>\n"
			  "X-Mimepipe-End: 1\n\nbody\n" },
	{ "no-sender", "X-Mimepipe-Envelope: 1\nX-Mimepipe-To: <b@x>\n"
		       "X-Mimepipe-End: 1\n\nbody\n" },
	{ "unknown-field", "X-Mimepipe-Envelope: 1\nX-Mimepipe-From: <a@x>\n"
			   "X-Mimepipe-To: <b@x>\nX-Mimepipe-Queue: 3\n"
			   "X-Mimepipe-End: 1\n\nbody\n" },
	{ "future-version", "X-Mimepipe-Envelope: 2\nX-Mimepipe-From: <a@x>\n"
			    "X-Mimepipe-To: <b@x>\nX-Mimepipe-End: 1\n\nb\n" },
	{ "unbracketed", "X-Mimepipe-Envelope: 1\nX-Mimepipe-From: a@x\n"
			 "X-Mimepipe-To: <b@x>\nX-Mimepipe-End: 1\n\nb\n" },
	{ "empty", "" },
};

static void
test_foreign_files_refused (void)
{
	g_autoptr (MpOutbox) outbox = new_outbox ("foreign");

	for (guint i = 0; i < G_N_ELEMENTS (foreign_files); i++) {
		g_autofree char *rel =
			g_build_filename ("new", foreign_files[i].name, NULL);
		g_autofree char *path = g_build_filename (
			mp_outbox_get_dir (outbox), rel, NULL);
		g_autoptr (GError) error = NULL;
		MpOutboxEnvelope *env = NULL;

		g_assert_true (g_file_set_contents (path, foreign_files[i].text,
						    -1, NULL));
		g_assert_cmpint (
			mp_outbox_open_message (outbox, rel, &env, &error), ==,
			-1);
		g_assert_null (env);
		g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
		g_assert_true (g_str_has_prefix (error->message, path));
	}
}

static void
test_names_outside_refused (void)
{
	g_autoptr (MpOutbox) outbox = new_outbox ("names");
	const char *const names[] = { "../x", "new/../../x", "tmp/x",
				      "new/", "/etc/passwd", "new/.hidden" };

	for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
		g_autoptr (GError) error = NULL;
		MpOutboxEnvelope *env = NULL;

		g_assert_cmpint (
			mp_outbox_open_message (outbox, names[i], &env, &error),
			==, -1);
		g_assert_nonnull (error);
		g_clear_error (&error);
		g_assert_false (mp_outbox_remove (outbox, names[i], &error));
		g_assert_nonnull (error);
	}
}

static void
test_outbox_on_a_file_refused (void)
{
	g_autofree char *file = g_build_filename (tmpdir, "a-file", NULL);
	g_autofree char *below = g_build_filename (file, "outbox", NULL);
	g_autoptr (GError) error = NULL;

	g_assert_true (g_file_set_contents (file, "x", 1, NULL));
	g_assert_null (mp_outbox_open (file, &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_CANT_CREATE);
	g_assert_true (g_str_has_prefix (error->message, file));
	g_clear_error (&error);
	g_assert_null (mp_outbox_open (below, &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_CANT_CREATE);
}

/* a large message goes through the stream in pieces, byte-exact */
static void
test_large_message_exact (void)
{
	g_autoptr (MpOutbox) outbox = new_outbox ("large");
	g_autoptr (MpOutboxEnvelope) env =
		envelope ("a@x.example", "b@x.example", NULL);
	gsize len = 3 * 65536 + 123;
	g_autofree char *msg = g_malloc (len);
	g_autofree char *path = NULL;
	g_autoptr (GPtrArray) list = NULL;
	g_autoptr (GBytes) back = NULL;
	g_autoptr (MpOutboxEnvelope) benv = NULL;

	for (gsize i = 0; i < len; i++)
		msg[i] = (char) (i * 7 + i / 13);
	path = store (outbox, env, msg, len);
	list = mp_outbox_list (outbox, NULL);
	back = read_back (outbox, g_ptr_array_index (list, 0), &benv);
	g_assert_cmpmem (g_bytes_get_data (back, NULL), g_bytes_get_size (back),
			 msg, len);
}

/* what opening a stored message refuses before its envelope is read: a
 * name that is not there, a symbolic link, a directory, a NUL byte in the
 * envelope block (steps of mp_outbox_open_message no test reached) */
static void
test_open_message_refusals (void)
{
	g_autoptr (MpOutbox) outbox = new_outbox ("open-refusals");
	const char *dir = mp_outbox_get_dir (outbox);
	g_autofree char *gone =
		g_build_filename (dir, "new/1.M1P1Q1.gone", NULL);
	g_autofree char *link =
		g_build_filename (dir, "new/2.M1P1Q1.link", NULL);
	g_autofree char *sub = g_build_filename (dir, "new/3.M1P1Q1.dir", NULL);
	g_autofree char *nul = g_build_filename (dir, "new/4.M1P1Q1.nul", NULL);
	const char with_nul[] = "X-Mimepipe-Envelope: 1\nX-Mimepipe-From: "
				"<a\0@x>\nX-Mimepipe-To: <b@x>\n"
				"X-Mimepipe-End: 1\n\nbody\n";
	const struct {
		const char *name, *path;
		int code;
		const char *says;
	} cases[] = {
		{ "new/1.M1P1Q1.gone", gone, MP_ERROR_NO_INPUT,
		  g_strerror (ENOENT) },
		{ "new/2.M1P1Q1.link", link, MP_ERROR_DATA,
		  ": a symbolic link, not a message stored by smtp-send: not "
		  "sent" },
		{ "new/3.M1P1Q1.dir", sub, MP_ERROR_DATA,
		  ": not a regular file, not a message stored by smtp-send" },
		{ "new/4.M1P1Q1.nul", nul, MP_ERROR_DATA,
		  ": not a message stored by smtp-send (its envelope block is "
		  "missing or malformed)" },
	};

	g_assert_cmpint (symlink ("/dev/null", link), ==, 0);
	g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);
	g_assert_true (
		g_file_set_contents (nul, with_nul, sizeof with_nul - 1, NULL));
	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (GError) error = NULL;
		MpOutboxEnvelope *env = NULL;

		g_assert_cmpint (mp_outbox_open_message (outbox, cases[i].name,
							 &env, &error),
				 ==, -1);
		g_assert_null (env);
		g_assert_error (error, MP_ERROR, cases[i].code);
		g_assert_true (
			g_str_has_prefix (error->message, cases[i].path));
		g_assert_nonnull (strstr (error->message, cases[i].says));
	}
}

int
main (int argc, char **argv)
{
	int rc;

	g_test_init (&argc, &argv, NULL);
	g_mime_init ();
	tmpdir = g_dir_make_tmp ("test-outbox-XXXXXX", NULL);
	g_assert_nonnull (tmpdir);
	g_test_add_func ("/outbox/store_and_read_back",
			 test_store_and_read_back);
	g_test_add_func ("/outbox/block_format", test_block_format);
	g_test_add_func ("/outbox/block_every_field_in_order",
			 test_block_every_field);
	g_test_add_func ("/outbox/list_oldest_first_and_remove",
			 test_list_oldest_first_and_remove);
	g_test_add_func ("/outbox/lock_is_exclusive", test_lock_is_exclusive);
	g_test_add_func ("/outbox/lock_waits_for_other_process",
			 test_lock_waits_for_other_process);
	g_test_add_func ("/outbox/bad_envelope_not_stored",
			 test_bad_envelope_not_stored);
	g_test_add_func ("/outbox/foreign_files_refused",
			 test_foreign_files_refused);
	g_test_add_func ("/outbox/names_outside_refused",
			 test_names_outside_refused);
	g_test_add_func ("/outbox/outbox_on_a_file_refused",
			 test_outbox_on_a_file_refused);
	g_test_add_func ("/outbox/open_message_refusals",
			 test_open_message_refusals);
	g_test_add_func ("/outbox/large_message_exact",
			 test_large_message_exact);
	rc = g_test_run ();
	remove_tree (tmpdir);
	g_free (tmpdir);
	return rc;
}
