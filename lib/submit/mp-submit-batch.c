/* mp-submit-batch: batches, message files or an mbox stream, one code
 * path: read, paced, logged, sent by one or more workers with the end of
 * data of one message behind the commands of the next (RFC 2920); and the
 * lines that report a result or a batch. */
#include "mp-submit-private.h"
#include "mp-error.h"
#include "mp-headers.h"
#include "mp-mbox.h"
#include "mp-rate.h"
#include "mp-sendlog.h"

#include <poll.h>
#include <sys/stat.h>
#include <string.h>

/* ---- batches: files or an mbox stream, one code path ------------------ */

struct _MpSubmitSource {
	char **files; /* or NULL: an mbox */
	guint n;
	guint next;
	MpMboxReader *mbox;
	int fd;
	char *name;
	gboolean is_pipe; /* reading may wait for the writer */
};

MpSubmitSource *
mp_submit_source_new_files (char **files, guint n)
{
	MpSubmitSource *src = g_new0 (MpSubmitSource, 1);

	src->files = files;
	src->n = n;
	src->fd = -1;
	return src;
}

MpSubmitSource *
mp_submit_source_new_mbox (int fd, const char *name)
{
	MpSubmitSource *src = g_new0 (MpSubmitSource, 1);
	struct stat st;

	src->mbox = mp_mbox_reader_new (fd, name);
	src->fd = fd;
	src->name = g_strdup (name);
	src->is_pipe = fstat (fd, &st) < 0 || !S_ISREG (st.st_mode);
	return src;
}

void
mp_submit_source_free (MpSubmitSource *src)
{
	if (src == NULL)
		return;
	g_clear_pointer (&src->mbox, mp_mbox_reader_free);
	g_free (src->name);
	g_free (src);
}

/* One message of a batch, from the source to its report and log line. */
typedef struct {
	char *name;
	MpInput *in;      /* NULL when it could not be read */
	GError *error;    /* why */
	char *message_id; /* of the input, with <>, or NULL */
	char *sha256;     /* of the input's bytes, when logging */
	MpSubmitResult res;
} Item;

static void
item_free (Item *it)
{
	g_free (it->name);
	g_clear_pointer (&it->in, mp_input_free);
	g_clear_error (&it->error);
	g_free (it->message_id);
	g_free (it->sha256);
	mp_submit_result_clear (&it->res);
	g_free (it);
}

/* The Message-ID field of the message in @stream (from its start), and
 * the SHA-256 of all its bytes when @sha is not NULL. */
static void
digest (GMimeStream *stream, char **message_id, char **sha)
{
	g_autoptr (GChecksum) sum =
		sha ? g_checksum_new (G_CHECKSUM_SHA256) : NULL;
	g_autoptr (MpHeaders) h = mp_headers_new ("message");
	gboolean headers = TRUE;
	char buf[65536];
	gssize n;

	*message_id = NULL;
	g_mime_stream_seek (stream, 0, GMIME_STREAM_SEEK_SET);
	while ((n = mp_io_stream_read (stream, buf, sizeof buf)) > 0) {
		if (sum != NULL)
			g_checksum_update (sum, (const guchar *) buf, n);
		if (headers && (!mp_headers_feed (h, buf, (gsize) n, NULL) ||
				mp_headers_is_complete (h)))
			headers = FALSE;
		if (!headers && sum == NULL)
			break;
	}
	g_mime_stream_seek (stream, 0, GMIME_STREAM_SEEK_SET);
	if (headers)
		mp_headers_finish (h, NULL);
	for (guint i = 0; i < mp_headers_get_n_entries (h); i++) {
		const char *name = mp_headers_get_name (h, i);

		if (name != NULL &&
		    g_ascii_strcasecmp (name, "Message-ID") == 0) {
			g_autofree char *raw = mp_headers_get_raw_value (h, i);
			char *v = g_strstrip (raw);

			if (*v != '\0')
				*message_id = g_strdup (v);
			break;
		}
	}
	if (sha != NULL)
		*sha = g_strdup (g_checksum_get_string (sum));
}

typedef struct {
	const MpSubmitOptions *opts;
	MpAccountConfig *config;
	MpSubmitSource *src;
	const MpSubmitBatchOptions *bo;
	MpRate *rate;   /* --rate, or NULL */
	MpSendLog *log; /* --log, --resume, or NULL */
	GMutex lock;    /* the source, the pace, the counts */
	GMutex report;  /* reports and log lines */
	gboolean ended; /* the source is at its end, or failed */
	guint taken;    /* messages read from the source */
	MpSubmitBatchStats *stats;
} Run;

/* A message whose data went out and whose end-of-data reply is still to
 * come (RFC 2920: it is read after the next message's commands went). */
typedef struct {
	Item *item;
	MpEnvelope *env;
	const MpAccount *a;
	Conn *c;
	GPtrArray *rs; /* the replies to its recipients */
} InFlight;

/* The message is done: its report, its log line, its count. */
static void
batch_done (Run *r, Item *it, MpEnvelope *env)
{
	MpSubmitResult *res = &it->res;
	const MpSubmitBatchOptions *bo = r->bo;

	g_mutex_lock (&r->report);
	if (bo->report != NULL)
		bo->report (it->name, res, bo->report_data);
	if (r->log != NULL && it->in != NULL) {
		g_autofree char *sent_id = NULL;
		g_autoptr (GPtrArray) rcpts = g_ptr_array_new ();
		GError *error = NULL;
		MpSendLogEntry e = { 0 };

		/* the Message-ID submission added, when the message had none */
		if (it->message_id == NULL && env != NULL)
			digest (env->data, &sent_id, NULL);
		for (guint i = 0; env != NULL && i < env->recipients->len; i++)
			g_ptr_array_add (
				rcpts, g_ptr_array_index (env->recipients, i));
		g_ptr_array_add (rcpts, NULL);
		e.message_id = it->message_id ? it->message_id : sent_id;
		e.sha256 = it->sha256;
		e.recipients = (const char *const *) rcpts->pdata;
		e.status = res->error == NULL                  ? "accepted" :
			   mp_submit_is_temporary (res->error) ? "deferred" :
								 "refused";
		e.reply = res->reply ? res->reply :
			  res->error ? res->error->message :
				       NULL;
		if (!mp_send_log_append (r->log, &e, &error)) {
			g_mutex_lock (&r->lock);
			r->ended = TRUE;
			if (r->stats->error == NULL)
				r->stats->error = error;
			else
				g_error_free (error);
			g_mutex_unlock (&r->lock);
		}
	}
	g_mutex_unlock (&r->report);
	g_mutex_lock (&r->lock);
	if (res->error == NULL)
		r->stats->sent++;
	else
		r->stats->failed++;
	mp_submit_keep_worse (&r->stats->worst, g_steal_pointer (&res->error));
	g_mutex_unlock (&r->lock);
	item_free (it);
}

/* Reads the outcome of the message in flight, if any; reports it. */
static void
land (MpSubmit *s, const Job *job, Run *r, InFlight *f)
{
	GError *error = NULL;
	gboolean ok;

	if (f->env == NULL)
		return;
	ok = mp_smtp_finish (f->c->smtp, &error);
	f->item->res.reply = g_strdup (mp_smtp_get_final_reply (f->c->smtp));
	mp_submit_end (s, f->a, job, f->env, f->rs, ok, error, &f->item->res);
	batch_done (r, f->item, f->env);
	f->item = NULL;
	g_clear_pointer (&f->env, mp_envelope_free);
	g_clear_pointer (&f->rs, g_ptr_array_unref);
	f->c = NULL;
}

/* Sends @it as mp_submit_message() does, its commands behind the end of
 * data of the message in flight when both go over the same connection;
 * that message's outcome is reported first.  When the end of this one's
 * reply is deferred, it becomes the one in flight. */
static void
batch_send (MpSubmit *s, const Job *job, Run *r, Item *it, InFlight *f)
{
	MpSubmitResult *res = &it->res;
	MpEnvelope *env = NULL;
	const MpAccount *a = NULL;
	GError *error = NULL;
	gboolean deferred = FALSE;
	gboolean retried = FALSE;
	gboolean ok = FALSE;
	Conn *c;

	c = mp_submit_start (s, it->in, job, res, &env, &a);
	if (c != f->c)
		land (s, job, r, f);
	while (c != NULL) {
		ok = mp_smtp_send_pipelined (c->smtp, env, job->dsn,
					     job->allow_partial, &deferred,
					     &error);
		if (!deferred)
			res->reply =
				g_strdup (mp_smtp_get_final_reply (c->smtp));
		/* the message before: its reply came first */
		land (s, job, r, f);
		if (ok || !mp_smtp_lost (c->smtp) || retried)
			break;
		/* the message before ended the session before this one was
		 * taken: as if it had been sent after that, on a new
		 * connection */
		g_clear_error (&error);
		g_clear_pointer (&res->reply, g_free);
		retried = TRUE;
		c = mp_submit_get_conn (s, a, job, &error);
		if (c == NULL) {
			mp_submit_fail (res, error);
			if (mp_submit_is_temporary (res->error) &&
			    job->may_store)
				mp_submit_store (s, a, job, env, res);
		}
	}
	if (c != NULL)
		c->messages++;
	if (c != NULL && ok && deferred) {
		f->item = it;
		f->env = env;
		f->a = a;
		f->c = c;
		f->rs = g_ptr_array_ref (mp_smtp_get_recipients (c->smtp));
	} else {
		if (c != NULL)
			mp_submit_end (s, a, job, env,
				       mp_smtp_get_recipients (c->smtp), ok,
				       error, res);
		batch_done (r, it, env);
		if (env != NULL)
			mp_envelope_free (env);
	}
	/* --reconnect-after: a new session after N messages */
	if (c != NULL && r->bo->reconnect_after > 0 &&
	    c->messages >= (guint) r->bo->reconnect_after) {
		land (s, job, r, f);
		mp_smtp_quit (c->smtp);
		c->messages = 0;
	}
}

/* TRUE when reading the next message may wait (a pipe with nothing to
 * read yet) or the pace says to wait: the end of data in flight must
 * not wait in our buffer meanwhile. */
static gboolean
would_wait (Run *r)
{
	MpSubmitSource *src = r->src;
	struct pollfd pfd = { src->fd, POLLIN, 0 };

	if (r->rate != NULL && r->rate->next > g_get_monotonic_time ())
		return TRUE;
	if (src->files != NULL)
		return src->next < src->n &&
		       !g_file_test (src->files[src->next],
				     G_FILE_TEST_IS_REGULAR);
	return src->is_pipe && poll (&pfd, 1, 0) == 0;
}

/* The next message of the source (with r->lock held), or NULL at its
 * end or when it failed (r->stats->error). */
static Item *
source_next (Run *r)
{
	MpSubmitSource *src = r->src;
	Item *it;
	GError *error = NULL;
	MpInput *in = NULL;

	if (src->files != NULL) {
		if (src->next >= src->n)
			return NULL;
		it = g_new0 (Item, 1);
		it->name = g_strdup (src->files[src->next++]);
		it->in = mp_input_open (it->name, &it->error);
		return it;
	}
	if (!mp_mbox_reader_next (src->mbox, &in, &error)) {
		r->stats->error = error;
		return NULL;
	}
	if (in == NULL) {
		if (mp_mbox_reader_get_count (src->mbox) == 0)
			g_set_error (&r->stats->error, MP_ERROR, MP_ERROR_DATA,
				     "%s: empty: no message to send",
				     src->name);
		return NULL;
	}
	it = g_new0 (Item, 1);
	it->name = g_strdup_printf ("%s: message %u", src->name,
				    mp_mbox_reader_get_count (src->mbox));
	it->in = in;
	return it;
}

/* The next message to send, or NULL: the source's end, a failure, or a
 * stop.  Messages the resumed log shows accepted are skipped here. */
static Item *
take (MpSubmit *s, const Job *job, Run *r, InFlight *f)
{
	const MpSubmitBatchOptions *bo = r->bo;
	Item *it = NULL;

	/* another worker reads: what is in flight goes meanwhile */
	if (!g_mutex_trylock (&r->lock)) {
		land (s, job, r, f);
		g_mutex_lock (&r->lock);
	}
	for (;;) {
		if (r->ended)
			break;
		if (bo->stop != NULL && *bo->stop) {
			r->stats->stopped = TRUE;
			break;
		}
		if (f->env != NULL && would_wait (r)) {
			g_mutex_unlock (&r->lock);
			land (s, job, r, f);
			g_mutex_lock (&r->lock);
			continue;
		}
		it = source_next (r);
		if (it == NULL) {
			r->ended = TRUE;
			break;
		}
		r->taken++;
		if (it->in != NULL && r->log != NULL) {
			digest (mp_input_get_stream (it->in), &it->message_id,
				&it->sha256);
			if (mp_send_log_is_done (r->log, it->message_id,
						 it->sha256)) {
				r->stats->skipped++;
				g_clear_pointer (&it, item_free);
				continue;
			}
		}
		if (it->in != NULL && r->rate != NULL &&
		    !mp_rate_wait (r->rate, bo->stop)) {
			/* stopped while waiting: this one is not sent */
			g_clear_pointer (&it, item_free);
			r->stats->stopped = TRUE;
			break;
		}
		break;
	}
	g_mutex_unlock (&r->lock);
	return it;
}

static gpointer
run_worker (gpointer data)
{
	Run *r = data;
	g_autoptr (MpSubmit) submit = mp_submit_new (r->opts, r->config);
	InFlight f = { 0 };
	Job job;
	Item *it;

	mp_submit_job_from_options (r->opts, &job);
	while ((it = take (submit, &job, r, &f)) != NULL) {
		if (it->in != NULL) {
			batch_send (submit, &job, r, it, &f);
			continue;
		}
		land (submit, &job, r, &f);
		it->res.error = g_steal_pointer (&it->error);
		batch_done (r, it, NULL);
	}
	land (submit, &job, r, &f);
	return NULL;
}

void
mp_submit_run (const MpSubmitOptions *opts, MpAccountConfig *config,
	       MpSubmitSource *src, MpSubmitBatchStats *stats)
{
	const MpSubmitBatchOptions *bo = &opts->batch;
	const char *log_path = bo->resume ? bo->resume : bo->log;
	g_autoptr (MpSendLog) log = NULL;
	MpRate rate = { 0 };
	Run r = { 0 };
	guint jobs = (guint) MAX (bo->jobs, 1);
	GThread **threads;

	memset (stats, 0, sizeof *stats);
	if (log_path != NULL)
		log = mp_send_log_open (log_path, bo->resume != NULL,
					&stats->error);
	if (stats->error == NULL && bo->rate != NULL)
		mp_rate_parse (bo->rate, &rate, &stats->error);
	if (stats->error != NULL) {
		mp_submit_keep_worse (&stats->worst,
				      g_error_copy (stats->error));
		return;
	}
	r.opts = opts;
	r.config = config;
	r.src = src;
	r.bo = bo;
	r.rate = bo->rate ? &rate : NULL;
	r.log = log;
	r.stats = stats;
	g_mutex_init (&r.lock);
	g_mutex_init (&r.report);
	if (src->files != NULL)
		jobs = CLAMP (jobs, 1, MAX (src->n, 1));
	threads = g_new0 (GThread *, jobs);
	for (guint j = 1; j < jobs; j++)
		threads[j] = g_thread_new ("smtp-send", run_worker, &r);
	run_worker (&r);
	for (guint j = 1; j < jobs; j++)
		g_thread_join (threads[j]);
	g_free (threads);
	g_mutex_clear (&r.lock);
	g_mutex_clear (&r.report);
	if (stats->error != NULL)
		mp_submit_keep_worse (&stats->worst,
				      g_error_copy (stats->error));
	if (stats->stopped)
		mp_submit_keep_worse (&stats->worst,
				      g_error_new (MP_ERROR, MP_ERROR_TEMPFAIL,
						   "stopped by a signal"));
	if (log != NULL && !mp_send_log_sync (log, &stats->sync_error))
		mp_submit_keep_worse (&stats->worst,
				      g_error_copy (stats->sync_error));
}

/* @error without a leading "@name: ", which reading the file put there */
static const char *
without_name (const char *error, const char *name)
{
	gsize n = strlen (name);

	if (strncmp (error, name, n) == 0 && strncmp (error + n, ": ", 2) == 0)
		return error + n + 2;
	return error;
}

char **
mp_submit_result_lines (const char *name, const MpSubmitResult *res,
			gboolean batch)
{
	GPtrArray *lines = g_ptr_array_new ();
	const char *prefix = batch ? name : "";
	const char *sep = batch ? ": " : "";
	const char *why = res->error ? res->error->message : NULL;

	for (guint i = 0; res->replies != NULL && i < res->replies->len; i++)
		g_ptr_array_add (lines,
				 g_strdup_printf ("%s%s%s", prefix, sep,
						  (char *) g_ptr_array_index (
							  res->replies, i)));
	if (why == NULL && batch)
		g_ptr_array_add (
			lines,
			g_strdup_printf ("%s: sent to %u recipient%s", name,
					 res->recipients,
					 res->recipients == 1 ? "" : "s"));
	else if (why != NULL && res->set_aside != NULL)
		g_ptr_array_add (
			lines, g_strdup_printf ("%s: %s; set aside in %s", name,
						without_name (why, name),
						res->set_aside));
	else if (why != NULL)
		g_ptr_array_add (
			lines, g_strdup_printf (
				       "%s%s%s", prefix, sep,
				       batch ? without_name (why, name) : why));
	g_ptr_array_add (lines, NULL);
	return (char **) g_ptr_array_free (lines, FALSE);
}

char **
mp_submit_batch_lines (const MpSubmitOptions *opts,
		       const MpSubmitBatchStats *stats)
{
	const char *log_path =
		opts->batch.resume ? opts->batch.resume : opts->batch.log;
	GPtrArray *lines = g_ptr_array_new ();

	if (stats->skipped > 0)
		g_ptr_array_add (
			lines, g_strdup_printf ("%u message%s already "
						"accepted in %s: not sent "
						"again",
						stats->skipped,
						stats->skipped == 1 ? "" : "s",
						log_path));
	if (stats->stopped && log_path != NULL)
		g_ptr_array_add (
			lines,
			g_strdup_printf ("stopped by a signal: %u sent, "
					 "%u not accepted, the rest "
					 "not sent; smtp-send "
					 "--resume %s continues",
					 stats->sent, stats->failed, log_path));
	else if (stats->stopped)
		g_ptr_array_add (
			lines, g_strdup_printf ("stopped by a signal: %u sent, "
						"%u not accepted, the rest "
						"not sent (without --log "
						"nothing says which: use "
						"--log FILE next time)",
						stats->sent, stats->failed));
	g_ptr_array_add (lines, NULL);
	return (char **) g_ptr_array_free (lines, FALSE);
}
