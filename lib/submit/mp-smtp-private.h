/* mp-smtp-private.h: what the files of the SMTP client share, and no one
 * else: the session, replies, and the functions each concern offers the
 * others.  mp-smtp-reply.c reads replies and writes commands,
 * mp-smtp-tls.c starts TLS and checks certificates and pins, mp-smtp-auth.c
 * runs AUTH, mp-smtp.c connects and ends the session and checks the
 * settings, mp-smtp-send.c runs the mail transaction. */
#pragma once

#include "mp-smtp.h"
#include "mp-error.h"

/* RFC 5321 4.5.3.1.5 says 512 octets per reply line; real servers send
 * longer text, so allow more but never an unbounded line. */
#define MAX_LINE 4096
#define MAX_LINES 200
#define BUFFER_SIZE 16384

typedef struct {
	guint code;
	char enhanced[16]; /* "5.1.1", or "" */
	GPtrArray *lines;  /* char *, the text after the code */
} Reply;

struct _MpSmtp {
	const MpSmtpConfig *cfg;
	GSocketClient *client;
	GSocketConnection *conn;
	GTlsConnection *tls;
	GBufferedInputStream *in;
	GOutputStream *out;
	GByteArray *wbuf;
	gboolean wbuf_secret; /* wbuf holds a credential: wiped once sent */
	GHashTable *caps;     /* upper-case keyword -> parameters */
	gboolean esmtp;
	gboolean usable;    /* connected, no 421, no broken stream */
	gboolean need_rset; /* a transaction was left half-way */
	GTlsCertificateFlags cert_errors;
	gboolean pin_failed;
	gboolean handshake_failed; /* not for the certificate or a pin */
	GPtrArray *results;
	/* RFC 2920 across messages: the end of data of a message goes out
	 * with the next message's commands */
	gboolean pending;    /* an end of data queued or sent, unread */
	gboolean prev_ready; /* the reply to an earlier one, read and kept
				  for mp_smtp_finish() */
	Reply prev_reply;
	GError *prev_error;
	gboolean lost;        /* the last send failed with the previous
				  message's reply */
	char *final_reply;    /* the end-of-data reply of the message last
			      concluded, for mp_smtp_get_final_reply() */
	gint64 deadline;      /* monotonic time by which the reply must be in */
	gint64 auth_deadline; /* ... and the whole AUTH exchange; 0: none */
};

typedef enum {
	STAGE_GREETING,
	STAGE_EHLO,
	STAGE_STARTTLS,
	STAGE_AUTH,
	STAGE_MAIL,
	STAGE_RCPT,
	STAGE_DATA,
	STAGE_END,
} Stage;

/* mp-smtp-reply.c */
void mp_smtp_reply_clear (Reply *r);
/* "550 5.1.1 no such user" from all lines, joined by spaces */
char *mp_smtp_reply_text (const Reply *r);
void mp_smtp_transcript (MpSmtp *smtp, MpSmtpLineKind kind, const char *fmt,
			 ...) G_GNUC_PRINTF (3, 4);
/* printable version of server text: controls become '?' */
char *mp_smtp_sanitize (const char *s, gsize len);
/* sets @error to "HOST: " and the message, and marks the session over */
void mp_smtp_fail (MpSmtp *smtp, GError **error, MpErrorCode code,
		   const char *fmt, ...) G_GNUC_PRINTF (4, 5);
/* wraps a GIO/TLS/resolver error @err (taken) in its MP_ERROR class */
void mp_smtp_net_error (MpSmtp *smtp, GError **error, GError *err,
			const char *what);
guint mp_smtp_timeout (MpSmtp *smtp);
gboolean mp_smtp_read_reply (MpSmtp *smtp, Reply *r, GError **error);
MpErrorCode mp_smtp_reply_class (const Reply *r, Stage stage);
void mp_smtp_reply_error (MpSmtp *smtp, GError **error, const Reply *r,
			  Stage stage, const char *what);
void mp_smtp_queue (MpSmtp *smtp, const char *line, const char *shown);
gboolean mp_smtp_flush (MpSmtp *smtp, GError **error);
gboolean mp_smtp_command (MpSmtp *smtp, const char *line, const char *shown,
			  Reply *r, GError **error);

/* mp-smtp.c */
void mp_smtp_use_stream (MpSmtp *smtp, GIOStream *io);
gboolean mp_smtp_has_cap (MpSmtp *smtp, const char *cap);
/* frees an MpSmtpRecipient: the free function of smtp->results */
void mp_smtp_recipient_free (gpointer p);

/* mp-smtp-send.c */
/* sends the end of data in flight and reads its reply, kept for
 * mp_smtp_finish() */
void mp_smtp_settle (MpSmtp *smtp);

/* mp-smtp-tls.c */
void mp_smtp_tls_hold_backend (void);
gboolean mp_smtp_start_tls (MpSmtp *smtp, GError **error);
gboolean mp_smtp_wait_greeting (MpSmtp *smtp, GError **error);
gboolean mp_smtp_port_greets_in_clear (MpSmtp *smtp);

/* mp-smtp-auth.c */
gboolean mp_smtp_authenticate (MpSmtp *smtp, GError **error);
