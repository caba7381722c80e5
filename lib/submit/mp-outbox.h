/* mp-outbox: a maildir (tmp/, new/, cur/) holding messages smtp-send could
 * not send yet, so that none is lost.
 *
 * Each file is the message as it was to be sent, preceded by a block of
 * lines that records its envelope, so that one rename commits both:
 *
 *   X-Mimepipe-Envelope: 1
 *   X-Mimepipe-Account: work             (when an account was used)
 *   X-Mimepipe-Server: smtp.example.org:587  (where it was to go)
 *   X-Mimepipe-Tls: starttls             (starttls, implicit or off)
 *   X-Mimepipe-User: ann                 (the login, when there was one)
 *   X-Mimepipe-From: <ann@example.org>   (<> for the null sender)
 *   X-Mimepipe-To: <bob@example.com>     (one line per recipient)
 *   X-Mimepipe-Notify: SUCCESS,FAILURE   (DSN, when asked)
 *   X-Mimepipe-Ret: HDRS
 *   X-Mimepipe-Envid: ...
 *   X-Mimepipe-Partial: yes              (--allow-partial)
 *   X-Mimepipe-End: 1
 *
 * The block is always first and ends at the first "X-Mimepipe-End:" line,
 * so a message that itself carries such fields cannot forge an envelope;
 * the block's lines end in LF, the message's bytes follow unchanged.  A
 * mail reader pointed at the maildir shows the block as header fields.
 *
 * Storing writes tmp/NAME (mode 0600), fsyncs it, renames it to new/NAME
 * and fsyncs new/, so a stored message survives a crash.  Names are
 * maildir's "SECONDS.MUSECONDSPPIDQCOUNT.HOST"; messages are listed oldest
 * first (by those times; a file named otherwise by its modification time),
 * from new/ and cur/ (where a mail reader may have moved them).  A flush
 * takes an exclusive flock(2) on DIR/mimepipe.lock for its whole run, so
 * two flushes never send the same message; storing needs no lock.  A
 * message that met a permanent failure while being flushed is moved to
 * DIR/failed/, outside the queue.
 *
 * Nothing in the outbox is trusted that smtp-send did not write: the
 * directory and its tmp/, new/ and cur/ must belong to the user and be
 * private (no group or other permission bits, as ssh wants of ~/.ssh),
 * and each message is opened with O_NOFOLLOW and O_NONBLOCK and must be a
 * regular file owned by the user: a symbolic link, a FIFO or a file
 * planted by someone else is never sent with the user's credentials. */
#pragma once

#include "mp-autoptr.h"

G_BEGIN_DECLS

/* The envelope stored with a message. */
typedef struct {
	char *account;         /* account name, or NULL */
	char *server;          /* "HOST:PORT" ("[V6]:PORT"), or NULL */
	char *tls;             /* "starttls", "implicit", "off", or NULL */
	char *user;            /* the login, or NULL */
	char *sender;          /* "" for the null reverse-path */
	GPtrArray *recipients; /* char *, at least one */
	char *notify;          /* DSN NOTIFY, or NULL */
	char *ret;             /* DSN RET, or NULL */
	char *envid;           /* DSN ENVID, or NULL */
	gboolean allow_partial;
} MpOutboxEnvelope;

/* A new, empty envelope (recipients an empty array). */
MpOutboxEnvelope *mp_outbox_envelope_new (void);
void mp_outbox_envelope_free (MpOutboxEnvelope *env);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpOutboxEnvelope, mp_outbox_envelope_free)

typedef struct _MpOutbox MpOutbox;

/* Opens the outbox at @dir, creating it and its tmp/, new/ and cur/
 * (mode 0700) when missing.
 * Errors: MP_ERROR_CANT_CREATE naming the directory that cannot be made
 * or is not a directory; MP_ERROR_CONFIG naming one that belongs to
 * another user or that group or others may use (mode not 0700).  Free with mp_outbox_free() (which releases the
 * lock). */
MpOutbox *mp_outbox_open (const char *dir, GError **error);

void mp_outbox_free (MpOutbox *outbox);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpOutbox, mp_outbox_free)

/* The directory. */
const char *mp_outbox_get_dir (MpOutbox *outbox);

/* Takes the outbox's exclusive lock, waiting for another holder when
 * @wait, else failing at once.  Held until mp_outbox_free().
 * Errors: MP_ERROR_TEMPFAIL when !@wait and another process holds it;
 * MP_ERROR_CANT_CREATE when the lock file cannot be opened. */
gboolean mp_outbox_lock (MpOutbox *outbox, gboolean wait, GError **error);

/* Stores the bytes of @data (from its current position to its end) with
 * @env, durably (see above).  Returns the stored file's path, newly
 * allocated.
 * Errors: MP_ERROR_USAGE for an envelope value holding CR, LF or NUL, or
 * no recipient; MP_ERROR_CANT_CREATE or MP_ERROR_IO naming the file when
 * writing, syncing or renaming fails (nothing is left in new/ then). */
char *mp_outbox_store (MpOutbox *outbox, const MpOutboxEnvelope *env,
		       GMimeStream *data, GError **error);

/* The stored messages, oldest first: names relative to the outbox
 * ("new/NAME", "cur/NAME:2,S"), in a newly allocated array of char *.
 * Errors: MP_ERROR_IO when a directory cannot be read. */
GPtrArray *mp_outbox_list (MpOutbox *outbox, GError **error);

/* Opens the stored message @name: returns a descriptor (the caller closes
 * it) positioned at the first byte of the message after the envelope
 * block, and the envelope in *@env.
 * Errors: MP_ERROR_NO_INPUT when it cannot be opened (another flush sent
 * it), MP_ERROR_DATA naming the file when it is not a regular file owned
 * by the user (a symbolic link, a FIFO, another user's file) or its
 * envelope block is malformed. */
int mp_outbox_open_message (MpOutbox *outbox, const char *name,
			    MpOutboxEnvelope **env, GError **error);

/* Removes the stored message @name (after the server accepted it) and
 * fsyncs its directory.  Errors: MP_ERROR_IO naming the file. */
gboolean mp_outbox_remove (MpOutbox *outbox, const char *name, GError **error);

/* Moves the stored message @name out of the queue, into DIR/failed/ (made
 * when missing), after a permanent failure: it is kept for its owner to
 * read, and no later flush sends it.  Returns the new path, newly
 * allocated.  Errors: MP_ERROR_IO naming the file. */
char *mp_outbox_set_aside (MpOutbox *outbox, const char *name, GError **error);

G_END_DECLS
