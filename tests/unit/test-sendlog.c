/* mp-sendlog and mp-rate: a batch that can stop anywhere and go on. */
#include "mp-error.h"
#include "mp-rate.h"
#include "mp-sendlog.h"

#include <string.h>
#include <unistd.h>

static char *
tmp_path (void)
{
	char *dir = g_dir_make_tmp ("mp-sendlog-XXXXXX", NULL);
	char *p = g_build_filename (dir, "log", NULL);

	g_free (dir);
	return p;
}

static void
test_resume_skips_accepted_only (void)
{
	g_autofree char *path = tmp_path ();
	const char *rcpts[] = { "bob@example.com", NULL };
	MpSendLogEntry a = { "<1@x>", "aa", rcpts, "accepted",
			     "250 2.0.0 Ok: queued as 4F1" };
	MpSendLogEntry r = { "<2@x>", "bb", rcpts, "refused", "550 no" };
	MpSendLogEntry d = { "<3@x>", "cc", rcpts, "deferred", "451 later" };
	MpSendLogEntry h = { NULL, "dd", rcpts, "accepted", "250 ok" };
	GError *error = NULL;
	g_autoptr (MpSendLog) log = mp_send_log_open (path, TRUE, &error);
	g_autoptr (MpSendLog) again = NULL;
	g_autofree char *text = NULL;

	g_assert_no_error (error);
	g_assert_true (mp_send_log_append (log, &a, &error));
	g_assert_true (mp_send_log_append (log, &r, &error));
	g_assert_true (mp_send_log_append (log, &d, &error));
	g_assert_true (mp_send_log_append (log, &h, &error));
	g_assert_true (mp_send_log_sync (log, &error));
	g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
	g_assert_nonnull (strstr (text, "\"queue_id\":\"4F1\""));

	again = mp_send_log_open (path, TRUE, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (mp_send_log_get_done_count (again), ==, 2);
	g_assert_true (mp_send_log_is_done (again, "<1@x>", "zz"));
	g_assert_false (mp_send_log_is_done (again, "<2@x>", "bb"));
	g_assert_false (mp_send_log_is_done (again, "<3@x>", "cc"));
	/* without a Message-ID, the hash of the bytes */
	g_assert_true (mp_send_log_is_done (again, NULL, "dd"));
	/* a Message-ID decides: same bytes, another ID is another message */
	g_assert_false (mp_send_log_is_done (again, "<4@x>", "dd"));
}

/* a crash in the middle of a line: that message had no final reply
 * logged and is sent again; a broken line elsewhere is not our log */
static void
test_torn_last_line_is_tolerated (void)
{
	g_autofree char *path = tmp_path ();
	GError *error = NULL;
	g_autoptr (MpSendLog) log = NULL;

	g_assert_true (g_file_set_contents (
		path,
		"{\"message_id\":\"<1@x>\",\"status\":\"accepted\"}\n"
		"{\"message_id\":\"<2@x>\",\"sta",
		-1, NULL));
	log = mp_send_log_open (path, TRUE, &error);
	g_assert_no_error (error);
	g_assert_true (mp_send_log_is_done (log, "<1@x>", NULL));
	g_assert_false (mp_send_log_is_done (log, "<2@x>", NULL));

	g_assert_true (g_file_set_contents (
		path, "garbage\n{\"status\":\"accepted\"}\n", -1, NULL));
	g_assert_null (mp_send_log_open (path, TRUE, &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_assert_nonnull (strstr (error->message, "line 1"));
	g_clear_error (&error);
}

static void
test_rate_parse (void)
{
	static const struct {
		const char *spec;
		gint64 interval;
	} good[] = {
		{ "10/s", 100000 },
		{ "0.5/s", 2000000 },
		{ "30/min", 2000000 },
		{ "3600/h", 1000000 },
	};
	static const char *const bad[] = { "10",  "10/d", "-1/s",  "0/s",
					   "x/s", "/s",   "1e9/s", "10/ s" };
	MpRate r;
	GError *error = NULL;

	for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
		g_assert_true (mp_rate_parse (good[i].spec, &r, &error));
		g_assert_cmpint (r.interval, ==, good[i].interval);
	}
	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_assert_false (mp_rate_parse (bad[i], &r, &error));
		g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
		g_clear_error (&error);
	}
}

static void
test_rate_spaces_messages (void)
{
	MpRate r;
	gint64 t0;
	volatile int stop = 0;

	g_assert_true (mp_rate_parse ("20/s", &r, NULL));
	t0 = g_get_monotonic_time ();
	for (int i = 0; i < 4; i++)
		g_assert_true (mp_rate_wait (&r, &stop));
	/* the first goes at once, each next 50 ms later: at least 150 ms */
	g_assert_cmpint (g_get_monotonic_time () - t0, >=, 150000);
	stop = 1;
	g_assert_false (mp_rate_wait (&r, &stop));
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/sendlog/resume_skips_accepted_only",
			 test_resume_skips_accepted_only);
	g_test_add_func ("/sendlog/torn_last_line_is_tolerated",
			 test_torn_last_line_is_tolerated);
	g_test_add_func ("/rate/parse", test_rate_parse);
	g_test_add_func ("/rate/spaces_messages", test_rate_spaces_messages);
	return g_test_run ();
}
