/* mp-sendlog: the log of a batch (smtp-send --log, --resume): one JSON
 * object per line and per message, appended as soon as the message's
 * final reply is in, so a batch stopped at any point can go on without
 * sending anything twice.
 *
 *   {"time":"2026-12-03T05:50:00Z","message_id":"<id@example.org>",
 *    "sha256":"...","recipients":["bob@example.com"],
 *    "status":"accepted","reply":"250 2.0.0 Ok: queued as 4F1",
 *    "queue_id":"4F1"}
 *
 * status is "accepted" (every recipient, or those allowed), "refused"
 * (permanently) or "deferred" (temporarily, or no final reply). */
#pragma once

#include "mp-autoptr.h"

G_BEGIN_DECLS

typedef struct _MpSendLog MpSendLog;

typedef struct {
	const char *message_id; /* with <>, or NULL */
	const char *sha256;     /* of the message's bytes, hex */
	const char *const *recipients;
	const char *status; /* "accepted", "refused", "deferred" */
	const char *reply;  /* the server's final reply, one line */
} MpSendLogEntry;

/* Opens @path for appending (created 0600).  With @resume the log is read
 * first: what it shows as accepted is skipped by mp_send_log_is_done().
 * Errors: MP_ERROR_CANT_CREATE naming @path; MP_ERROR_DATA naming the
 * line of a log that is not one this command wrote; MP_ERROR_UNAVAILABLE
 * when json-glib, loaded now (not linked), cannot be. */
MpSendLog *mp_send_log_open (const char *path, gboolean resume, GError **error);
void mp_send_log_free (MpSendLog *log);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpSendLog, mp_send_log_free)

/* TRUE when the log read by --resume shows the message accepted: by its
 * Message-ID when it has one, else by the hash of its bytes. */
gboolean mp_send_log_is_done (MpSendLog *log, const char *message_id,
			      const char *sha256);

/* The number of messages the resumed log shows as accepted. */
guint mp_send_log_get_done_count (MpSendLog *log);

/* Appends one line (one write(2), so lines never interleave).
 * Errors: MP_ERROR_IO naming the log. */
gboolean mp_send_log_append (MpSendLog *log, const MpSendLogEntry *e,
			     GError **error);

/* Flushes the log to disk (fsync).  Errors: MP_ERROR_IO. */
gboolean mp_send_log_sync (MpSendLog *log, GError **error);

G_END_DECLS
