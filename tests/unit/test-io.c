/* mp-io: inputs from files and pipes, bounded spooling, atomic output. */
#include "mp-cli.h"
#include "mp-error.h"
#include "mp-io.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Feeds @data through a pipe from a child process and opens the read end
 * as an input, as a shell pipeline would. */
static MpInput *
input_from_pipe (const char *data, gsize len, GError **error)
{
	int fds[2];
	pid_t pid;
	MpInput *in;

	g_assert_cmpint (pipe (fds), ==, 0);
	pid = fork ();
	g_assert_cmpint (pid, >=, 0);
	if (pid == 0) {
		close (fds[0]);
		while (len > 0) {
			ssize_t n = write (fds[1], data, len);
			if (n <= 0)
				_exit (1);
			data += n;
			len -= (gsize) n;
		}
		_exit (0);
	}
	close (fds[1]);
	in = mp_input_open_fd (fds[0], "pipe", error);
	close (fds[0]);
	waitpid (pid, NULL, 0);
	return in;
}

static void
check_pipe_size (gsize size)
{
	g_autofree char *data = g_malloc (size);
	g_autoptr (GError) error = NULL;
	g_autoptr (MpInput) in = NULL;
	g_autoptr (GBytes) back = NULL;

	for (gsize i = 0; i < size; i++)
		data[i] = (char) ('a' + i % 26);
	in = input_from_pipe (data, size, &error);
	g_assert_no_error (error);
	g_assert_cmpint (mp_input_get_size (in), ==, (gint64) size);
	/* small inputs stay in memory, large ones go to a spool file */
	g_assert_true ((mp_input_get_bytes (in) != NULL) ==
		       (size < MP_INPUT_MEMORY_LIMIT));
	back = mp_input_read_all (in, &error);
	g_assert_no_error (error);
	g_assert_cmpmem (g_bytes_get_data (back, NULL), g_bytes_get_size (back),
			 data, size);
}

static void
test_pipe_sizes (void)
{
	const gsize sizes[] = { 0,
				1,
				4096,
				MP_INPUT_MEMORY_LIMIT,
				MP_INPUT_MEMORY_LIMIT + 1,
				3 * MP_INPUT_MEMORY_LIMIT + 17 };

	for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
		check_pipe_size (sizes[i]);
}

static void
test_missing_file_is_no_input (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (MpInput) in = mp_input_open ("/nonexistent/x.txt", &error);

	g_assert_null (in);
	g_assert_error (error, MP_ERROR, MP_ERROR_NO_INPUT);
	g_assert_cmpint (mp_cli_exit_code (error), ==, 66);
	g_assert_true (
		g_str_has_prefix (error->message, "/nonexistent/x.txt: "));
	g_clear_error (&error);
	in = mp_input_open ("/", &error);
	g_assert_error (error, MP_ERROR, MP_ERROR_NO_INPUT);
}

static void
test_empty_and_truncated_messages_refused (void)
{
	const char *truncated = "From: a@b.c\nMIME-Version: 1.0\n"
				"Content-Type: multipart/mixed; boundary=xx\n\n"
				"--xx\nContent-Type: text/plain\n\nhello\n";
	const char *whole = "From: a@b.c\nMIME-Version: 1.0\n"
			    "Content-Type: multipart/mixed; boundary=xx\n\n"
			    "--xx\nContent-Type: text/plain\n\nhello\n--xx--\n";
	g_autoptr (GError) error = NULL;
	g_autoptr (MpInput) empty = input_from_pipe ("", 0, &error);
	g_autoptr (MpInput) cut =
		input_from_pipe (truncated, strlen (truncated), &error);
	g_autoptr (MpInput) ok =
		input_from_pipe (whole, strlen (whole), &error);
	g_autoptr (GMimeMessage) m = NULL;

	g_assert_null (mp_input_parse_message (empty, NULL, &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_clear_error (&error);
	g_assert_null (mp_input_parse_message (cut, NULL, &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_assert_nonnull (strstr (error->message, "closing delimiter"));
	g_clear_error (&error);
	m = mp_input_parse_message (ok, NULL, &error);
	g_assert_no_error (error);
	g_assert_true (GMIME_IS_MULTIPART (g_mime_message_get_mime_part (m)));
}

static void
test_header_only_message_accepted (void)
{
	/* GMime calls this truncated too; it is a whole message */
	const char *cases[] = { "Subject: x", "Subject: x\n",
				"Subject: x\n\n" };

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (MpInput) in =
			input_from_pipe (cases[i], strlen (cases[i]), &error);
		g_autoptr (GMimeMessage) m =
			mp_input_parse_message (in, NULL, &error);

		g_assert_no_error (error);
		g_assert_nonnull (m);
	}
}

static void
test_output_file_is_atomic (void)
{
	g_autofree char *dir = g_dir_make_tmp ("mp-io-XXXXXX", NULL);
	g_autofree char *path = g_build_filename (dir, "out.eml", NULL);
	g_autoptr (GError) error = NULL;
	g_autofree char *got = NULL;
	MpOutput *out;
	GDir *d;

	/* an output abandoned before close leaves nothing behind */
	out = mp_output_open (path, FALSE, &error);
	g_assert_no_error (error);
	g_assert_true (mp_output_write (out, "half", 4, &error));
	mp_output_free (out);
	g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
	d = g_dir_open (dir, 0, NULL);
	g_assert_null (g_dir_read_name (d));
	g_dir_close (d);

	out = mp_output_open (path, TRUE, &error);
	g_assert_true (mp_output_write (out, "a\nb\n", 4, &error));
	g_assert_true (mp_output_close (out, &error));
	mp_output_free (out);
	g_assert_true (g_file_get_contents (path, &got, NULL, NULL));
	g_assert_cmpstr (got, ==, "a\r\nb\r\n");
	unlink (path);
	rmdir (dir);
}

/* Replacing an existing file keeps its mode, as "> FILE" would: a private
 * draft (0600) must not become readable by others. */
static void
test_output_file_keeps_mode (void)
{
	g_autofree char *dir = g_dir_make_tmp ("mp-io-XXXXXX", NULL);
	g_autofree char *path = g_build_filename (dir, "draft.eml", NULL);
	g_autoptr (GError) error = NULL;
	struct stat st;
	MpOutput *out;

	g_assert_true (g_file_set_contents (path, "old\n", -1, NULL));
	g_assert_cmpint (chmod (path, 0600), ==, 0);
	out = mp_output_open (path, FALSE, &error);
	g_assert_no_error (error);
	g_assert_true (mp_output_write (out, "new\n", 4, &error));
	g_assert_true (mp_output_close (out, &error));
	mp_output_free (out);
	g_assert_cmpint (stat (path, &st), ==, 0);
	g_assert_cmpint (st.st_mode & 07777, ==, 0600);
	unlink (path);
	rmdir (dir);
}

/* -o FILE naming a FIFO or a device (/dev/stdout, /dev/full) writes to it:
 * renaming a temporary file over it would replace the node itself (as
 * root, /dev/full became a regular file). */
static void
test_output_to_a_fifo_writes_through (void)
{
	g_autofree char *dir = g_dir_make_tmp ("mp-io-XXXXXX", NULL);
	g_autofree char *path = g_build_filename (dir, "fifo", NULL);
	g_autoptr (GError) error = NULL;
	struct stat st;
	char buf[16] = "";
	MpOutput *out;
	int rd;

	g_assert_cmpint (mkfifo (path, 0600), ==, 0);
	/* a reader that never blocks the open, nor the test when it fails */
	rd = open (path, O_RDONLY | O_NONBLOCK);
	g_assert_cmpint (rd, >=, 0);
	out = mp_output_open (path, FALSE, &error);
	g_assert_no_error (error);
	g_assert_true (mp_output_write (out, "msg\n", 4, &error));
	g_assert_true (mp_output_close (out, &error));
	g_assert_no_error (error);
	mp_output_free (out);
	g_assert_cmpint (stat (path, &st), ==, 0);
	g_assert_true (S_ISFIFO (st.st_mode));
	g_assert_cmpint (read (rd, buf, sizeof buf - 1), ==, 4);
	g_assert_cmpstr (buf, ==, "msg\n");
	close (rd);
	unlink (path);
	rmdir (dir);
}

static void
test_full_disk_is_reported (void)
{
	g_autoptr (GError) error = NULL;
	int saved = dup (STDOUT_FILENO);
	int full = open ("/dev/full", O_WRONLY);
	MpOutput *out;
	gboolean ok;

	if (full < 0) {
		g_test_skip ("no /dev/full");
		return;
	}
	dup2 (full, STDOUT_FILENO);
	out = mp_output_open (NULL, FALSE, &error);
	ok = mp_output_write (out, "x", 1, &error) &&
	     mp_output_close (out, &error);
	mp_output_free (out);
	dup2 (saved, STDOUT_FILENO);
	close (saved);
	close (full);
	g_assert_false (ok);
	g_assert_error (error, MP_ERROR, MP_ERROR_IO);
	g_assert_cmpint (mp_cli_exit_code (error), ==, 74);
	g_assert_nonnull (strstr (error->message, "stdout"));
}

/* Every way of reading an input through a window gives its bytes: held
 * in memory (a small pipe), mapped (a spool file), read (a file read in
 * place); at any position, across the edges of windows, as a stream, a
 * substream and a kernel copy. */
static void
check_window (MpInput *in, const char *data, gsize size)
{
	g_autofree char *buf = g_malloc (size + 1);
	g_autofree char *dir = g_dir_make_tmp ("test-io-XXXXXX", NULL);
	g_autofree char *path = g_build_filename (dir, "copy", NULL);
	g_autoptr (GMimeStream) sub = NULL;
	g_autoptr (MpOutput) out = NULL;
	g_autoptr (GError) error = NULL;
	g_autofree char *copy = NULL;
	GMimeStream *s = mp_input_get_window_stream (in);
	gint64 base = s->bound_start;
	MpInputWindow w;
	gsize got = 0, avail, len;
	const gsize at[] = { 0,
			     1,
			     MP_INPUT_WINDOW - 4097,
			     MP_INPUT_WINDOW - 1,
			     MP_INPUT_WINDOW,
			     2 * MP_INPUT_WINDOW + 5,
			     size - 1,
			     1 };
	guint i;

	mp_input_window_init (&w, in);
	for (i = 0; i < G_N_ELEMENTS (at); i++) {
		const char *p;

		if (at[i] >= size)
			continue;
		p = mp_input_window_at (&w, base + (gint64) at[i], 4096, &avail,
					&error);
		g_assert_no_error (error);
		g_assert_nonnull (p);
		g_assert_cmpuint (avail, >=, MIN (4096, size - at[i]));
		g_assert_cmpuint (avail, <=, size - at[i]);
		g_assert_cmpmem (p, avail, data + at[i], avail);
	}
	g_assert_null (
		mp_input_window_at (&w, base + (gint64) size, 1, &avail, NULL));
	mp_input_window_clear (&w);

	/* in odd pieces, as GMime's parser reads */
	while (got < size) {
		gssize n = g_mime_stream_read (s, buf + got, 4093);

		g_assert_cmpint (n, >, 0);
		got += (gsize) n;
	}
	g_assert_cmpint (g_mime_stream_read (s, buf, 1), ==, 0);
	g_assert_true (g_mime_stream_eos (s));
	g_assert_cmpmem (buf, got, data, size);
	g_assert_cmpint (
		g_mime_stream_seek (s, base + 7, GMIME_STREAM_SEEK_SET), ==,
		base + 7);
	g_assert_cmpint (g_mime_stream_read (s, buf, 3), ==, MIN (3, size - 7));
	g_assert_cmpmem (buf, MIN (3, size - 7), data + 7, MIN (3, size - 7));
	len = size / 2;
	sub = g_mime_stream_substream (s, base + 1, base + 1 + (gint64) len);
	g_assert_cmpint (g_mime_stream_length (sub), ==, (gint64) len);
	for (got = 0; got < len;) {
		gssize n = g_mime_stream_read (sub, buf + got, len - got);

		g_assert_cmpint (n, >, 0);
		got += (gsize) n;
	}
	g_assert_cmpmem (buf, len, data + 1, len);

	out = mp_output_open (path, FALSE, &error);
	g_assert_no_error (error);
	g_assert_true (mp_output_copy_stream (out, s, base + 1,
					      base + (gint64) size, &error));
	g_assert_true (mp_output_close (out, &error));
	g_assert_no_error (error);
	g_assert_true (g_file_get_contents (path, &copy, &len, NULL));
	g_assert_cmpmem (copy, len, data + 1, size - 1);
	unlink (path);
	rmdir (dir);
}

static void
test_window_reads_every_byte (void)
{
	const gsize sizes[] = { 100, 3 * MP_INPUT_WINDOW + 123 };
	guint i;

	for (i = 0; i < G_N_ELEMENTS (sizes); i++) {
		gsize size = sizes[i];
		g_autofree char *data = g_malloc (size);
		g_autofree char *dir = g_dir_make_tmp ("test-io-XXXXXX", NULL);
		g_autofree char *path = g_build_filename (dir, "in", NULL);
		g_autoptr (GError) error = NULL;
		g_autoptr (MpInput) piped = NULL;
		g_autoptr (MpInput) file = NULL;
		int fd;

		for (gsize j = 0; j < size; j++)
			data[j] = (char) (j * 7 % 251);
		piped = input_from_pipe (data, size, &error);
		g_assert_no_error (error);
		check_window (piped, data, size);

		/* a file read in place from where its descriptor stands */
		g_assert_true (
			g_file_set_contents (path, data, (gssize) size, NULL));
		fd = open (path, O_RDONLY);
		g_assert_cmpint (fd, >=, 0);
		g_assert_cmpint (lseek (fd, 3, SEEK_SET), ==, 3);
		file = mp_input_open_fd (fd, "file", &error);
		g_assert_no_error (error);
		check_window (file, data + 3, size - 3);
		g_clear_pointer (&file, mp_input_free);
		close (fd);
		unlink (path);
		rmdir (dir);
	}
}

/* mp_io_read(): what read(2) gives, 0 at the end, -1 with errno set. */
static void
test_read_counts_and_ends (void)
{
	int fds[2];
	char buf[8];

	g_assert_cmpint (pipe (fds), ==, 0);
	g_assert_cmpint (write (fds[1], "abc", 3), ==, 3);
	close (fds[1]);
	g_assert_cmpint (mp_io_read (fds[0], buf, sizeof buf), ==, 3);
	g_assert_cmpmem (buf, 3, "abc", 3);
	g_assert_cmpint (mp_io_read (fds[0], buf, sizeof buf), ==, 0);
	close (fds[0]);
	errno = 0;
	g_assert_cmpint (mp_io_read (-1, buf, sizeof buf), ==, -1);
	g_assert_cmpint (errno, ==, EBADF);
}

/* MpWriter: LF as CRLF (an LF after a CR, also across writes, left
 * alone), an input copied from an offset, the file renamed into place */
static void
test_writer_crlf_and_copy (void)
{
	g_autofree char *dir = g_dir_make_tmp ("mp-io-XXXXXX", NULL);
	g_autofree char *path = g_build_filename (dir, "out", NULL);
	g_autofree char *in_path = g_build_filename (dir, "in", NULL);
	g_autoptr (GError) error = NULL;
	g_autofree char *got = NULL;
	MpWriter *w;
	MpInput *in;

	g_assert_true (
		g_file_set_contents (in_path, "0123a\nb\r\nc", -1, NULL));
	in = mp_input_open_plain (in_path, &error);
	g_assert_no_error (error);
	w = mp_writer_open (path, TRUE, &error);
	g_assert_no_error (error);
	g_assert_true (mp_writer_write (w, "x\ny\r", 4, &error));
	g_assert_true (mp_writer_write (w, "\nz\n", 3, &error));
	g_assert_true (mp_writer_copy_input (
		w, in, mp_input_get_start (in) + 4,
		mp_input_get_start (in) + mp_input_get_size (in), &error));
	g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
	g_assert_true (mp_writer_close (w, &error));
	g_assert_no_error (error);
	mp_writer_free (w);
	mp_input_free_plain (in);
	g_assert_true (g_file_get_contents (path, &got, NULL, NULL));
	g_assert_cmpstr (got, ==, "x\r\ny\r\nz\r\na\r\nb\r\nc");
	unlink (path);
	unlink (in_path);
	rmdir (dir);
}

/* a bounded file stream answers -1 when read at its bound; the one
 * helper answers 0 there, and the bytes before it */
static void
test_stream_read_ends_with_zero (void)
{
	g_autofree char *path = NULL;
	g_autoptr (GError) error = NULL;
	g_autoptr (GMimeStream) fs = NULL;
	g_autoptr (GMimeStream) sub = NULL;
	char buf[16];
	int fd = g_file_open_tmp ("mp-test-XXXXXX", &path, &error);

	g_assert_no_error (error);
	g_assert_cmpint (write (fd, "hello world", 11), ==, 11);
	fs = g_mime_stream_fs_new (fd);
	sub = g_mime_stream_substream (fs, 0, 5);
	g_assert_cmpint (mp_io_stream_read (sub, buf, sizeof buf), ==, 5);
	g_assert_cmpmem (buf, 5, "hello", 5);
	/* what GMime itself answers there */
	g_assert_cmpint (g_mime_stream_read (sub, buf, sizeof buf), ==, -1);
	g_assert_cmpint (mp_io_stream_read (sub, buf, sizeof buf), ==, 0);
	unlink (path);
}

/* all the bytes asked for, or EIO when the file ends first */
static void
test_pread_all_reads_all_or_fails (void)
{
	g_autofree char *path = NULL;
	g_autoptr (GError) error = NULL;
	char buf[16];
	int errsv = 0;
	int fd = g_file_open_tmp ("mp-test-XXXXXX", &path, &error);

	g_assert_no_error (error);
	g_assert_cmpint (write (fd, "hello world", 11), ==, 11);
	g_assert_true (mp_io_pread_all (fd, buf, 5, 6, &errsv));
	g_assert_cmpmem (buf, 5, "world", 5);
	g_assert_false (mp_io_pread_all (fd, buf, 6, 6, &errsv));
	g_assert_cmpint (errsv, ==, EIO);
	g_assert_false (mp_io_pread_all (-1, buf, 1, 0, &errsv));
	g_assert_cmpint (errsv, ==, EBADF);
	close (fd);
	unlink (path);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_mime_init ();
	g_test_add_func ("/io/pipe-sizes", test_pipe_sizes);
	g_test_add_func ("/io/read-counts-and-ends", test_read_counts_and_ends);
	g_test_add_func ("/io/window-reads-every-byte",
			 test_window_reads_every_byte);
	g_test_add_func ("/io/missing-file-is-no-input",
			 test_missing_file_is_no_input);
	g_test_add_func ("/io/empty-and-truncated-messages-refused",
			 test_empty_and_truncated_messages_refused);
	g_test_add_func ("/io/header-only-message-accepted",
			 test_header_only_message_accepted);
	g_test_add_func ("/io/output-file-is-atomic",
			 test_output_file_is_atomic);
	g_test_add_func ("/io/output-file-keeps-mode",
			 test_output_file_keeps_mode);
	g_test_add_func ("/io/output-to-a-fifo-writes-through",
			 test_output_to_a_fifo_writes_through);
	g_test_add_func ("/io/writer-crlf-and-copy", test_writer_crlf_and_copy);
	g_test_add_func ("/io/full-disk-is-reported",
			 test_full_disk_is_reported);
	g_test_add_func ("/io/stream-read-ends-with-zero",
			 test_stream_read_ends_with_zero);
	g_test_add_func ("/io/pread-all-reads-all-or-fails",
			 test_pread_all_reads_all_or_fails);
	return g_test_run ();
}
