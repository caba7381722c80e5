/* mp-text: a text part written directly, without GMime (mime-compose,
 * issue 21): one pass validates and measures the text, a second writes it
 * transfer-encoded, byte for byte as mp-part's GMime text parts
 * (mp_part_new_text_from_stream(), mp_part_write()) write it. */
#pragma once

#include "mp-io.h"

G_BEGIN_DECLS

/* A text part read from the bytes [@start, @end) of an input (offsets of
 * its MpInputWindow), written as mp_part_new_text_from_stream() and
 * mp_part_write() write it, byte for byte, without GMime. */
typedef struct _MpText MpText;

/* Scans the text once as mp_part_new_text_from_stream() does: valid
 * UTF-8 when @iconv_charset is NULL, else valid in it; the transfer
 * encoding chosen by mp_part_best_encoding().  The part is labelled
 * charset=@label (NULL: utf-8).  @in is borrowed and must outlive the
 * part.  Errors: as mp_part_new_text_from_stream(). */
MpText *mp_text_new (const char *subtype, MpInput *in, gint64 start, gint64 end,
		     const char *iconv_charset, const char *label,
		     gboolean allow_8bit, const char *what, GError **error);

/* Adds "; @name=@value" (a token) to its Content-Type. */
void mp_text_add_param (MpText *t, const char *name, const char *value);

/* Writes the part (header fields, blank line, encoded content) to @out.
 * Errors: MP_ERROR_IO. */
gboolean mp_text_write (MpText *t, MpWriter *out, GError **error);

void mp_text_free (MpText *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpText, mp_text_free)

G_END_DECLS
