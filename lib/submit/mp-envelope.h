/* mp-envelope: what smtp-send submits: the SMTP envelope (sender and
 * recipients, from the command line or the message's headers, each value
 * checked) and the message data with Bcc removed. */
#pragma once

#include "mp-error.h"
#include "mp-io.h"

G_BEGIN_DECLS


/* A message ready to submit. */
typedef struct {
	char *sender;          /* checked; "" for the null reverse-path */
	GPtrArray *recipients; /* char *, checked, without duplicates */
	gboolean smtputf8;     /* an address or a header field is UTF-8 */
	gboolean eight_bit;    /* the data holds bytes >= 0x80 */
	gboolean bcc_removed;  /* a Bcc field was dropped from the data */
	guint64 size;          /* octets of the DATA as sent (CRLF, dot
				  stuffing, final "." CRLF) */
	GMimeStream *data;     /* the message as read, Bcc removed, with
				  the fields mp_envelope_add_field() added */
	/* what submission looks at (RFC 6409 8) */
	gboolean has_date; /* a Date field */
	gint64 date;       /* its time (Unix seconds); 0: unreadable */
	gboolean has_message_id;
	gboolean dkim_signed; /* a DKIM-Signature field */
	GPtrArray *from;      /* char *: the From field's addresses */
	gboolean crlf;        /* the header block's lines end in CRLF */
	/* Content-Transfer-Encoding: binary (RFC 3030) */
	char *binary_part; /* the first such part ("part 2 (x.bin)"), or
			      NULL; when set the message needs BINARYMIME */
	GArray *binary;    /* guint64 pairs: [start, end) of binary content,
			      as offsets in the body */
	guint64 bdat_size; /* octets sent with BDAT: CRLF outside binary
			      content, no stuffing, no "." line */
	guint64 head_len;  /* bytes of @data before the body */
} MpEnvelope;

/* Builds the envelope of the message read from @in: the sender is @from,
 * else the Sender header, else the first From address; the recipients are
 * @recipients (NULL or empty: To, Cc and Bcc of the message, plus the
 * recipients when @add_header_recipients).  Bcc and Resent-Bcc fields are
 * removed from the data.
 * Errors: MP_ERROR_DATA for empty input, a multipart missing its closing
 * delimiter, a NUL byte or a bad header address; MP_ERROR_USAGE for a bad
 * @from or recipient, or when there is no sender or no recipient;
 * MP_ERROR_IO on a read error.  Free with mp_envelope_free(). */
MpEnvelope *mp_envelope_new (MpInput *in, const char *from,
			     const char *const *recipients,
			     gboolean add_header_recipients, GError **error);

/* Like mp_envelope_new(), and a recipient that is a bare local name
 * ("root", "ann": no '@', what cron gives a local sendmail), from the
 * arguments or the headers, is sent to @local_to instead (NULL: such a
 * name is refused as mp_envelope_new() does). */
MpEnvelope *mp_envelope_new_full (MpInput *in, const char *from,
				  const char *const *recipients,
				  gboolean add_header_recipients,
				  const char *local_to, GError **error);

/* Like mp_envelope_new_full(), for @msg: @in parsed once by
 * mp_input_parse_message() (smtp-send chooses the account by its From,
 * then builds the envelope from the same parse). */
MpEnvelope *mp_envelope_new_parsed (MpInput *in, GMimeMessage *msg,
				    const char *from,
				    const char *const *recipients,
				    gboolean add_header_recipients,
				    const char *local_to, GError **error);

/* The first mailbox address of @msg's From field, inside a group too, or
 * NULL (borrowed from @msg): the one rule for "the first From", by which
 * an account is chosen and, without Sender, the envelope sender. */
const char *mp_envelope_header_from (GMimeMessage *msg);

void mp_envelope_free (MpEnvelope *env);

/* Adds the header field "@name: @value" (ASCII, no line break) at the top
 * of the message data, in the message's line endings, and counts it in
 * env->size.  For what submission adds (Date, Message-ID; a signature):
 * everything added goes through here, before mp_envelope_write_data(). */
void mp_envelope_add_field (MpEnvelope *env, const char *name,
			    const char *value);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpEnvelope, mp_envelope_free)

/* Writes the DATA bytes of @env (canonical CRLF, dot-stuffed, ending in
 * CRLF "." CRLF) by calling @write with chunks of at most 64 KiB.
 * Errors: MP_ERROR_IO reading the message, or what @write sets. */
gboolean mp_envelope_write_data (MpEnvelope *env, MpWriteFunc write,
				 gpointer user_data, GError **error);

/* Writes the BDAT bytes of @env (RFC 3030): the binary content as it is,
 * everything else with canonical CRLF, no dot stuffing, no end marker;
 * env->bdat_size octets in all.  Errors: as mp_envelope_write_data(). */
gboolean mp_envelope_write_bdat (MpEnvelope *env, MpWriteFunc write,
				 gpointer user_data, GError **error);

G_END_DECLS
