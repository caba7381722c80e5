/* mp-mbox: the messages of an mbox stream (RFC 4155), mboxrd quoting
 * undone, one at a time in bounded memory: what `smtp-send --mbox` reads
 * from mime-merge. */
#pragma once

#include "mp-autoptr.h"
#include "mp-io.h"

G_BEGIN_DECLS

typedef struct _MpMboxReader MpMboxReader;

/* A reader of the descriptor @fd (not closed by it); @name is used in
 * error messages ("stdin"). */
MpMboxReader *mp_mbox_reader_new (int fd, const char *name);
void mp_mbox_reader_free (MpMboxReader *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpMboxReader, mp_mbox_reader_free)

/* Reads the next message: its lines after the "From " line up to the
 * next one, one '>' taken from each line matching ^>+From , the blank
 * line that separates messages dropped.  Sets *@msg to the message (a
 * new input, spooled to a file past MP_INPUT_MEMORY_LIMIT), or to NULL at
 * the end of the stream.  Errors: MP_ERROR_DATA when the stream does not
 * start with a "From " line (naming the stream), MP_ERROR_IO. */
gboolean mp_mbox_reader_next (MpMboxReader *r, MpInput **msg, GError **error);

/* The number of messages read so far. */
guint mp_mbox_reader_get_count (MpMboxReader *r);

G_END_DECLS
