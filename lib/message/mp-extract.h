/* mp-extract: choosing parts of a message (mp-show) and writing their
 * decoded bytes into a folder under safe names that never overwrite, each
 * file written whole or not at all, or one part to an output. */
#pragma once

#include "mp-show.h"

G_BEGIN_DECLS

/* The longest file name written, in bytes (before a "-N" suffix), well
 * under NAME_MAX (255) on every file system. */
#define MP_EXTRACT_NAME_MAX 200

typedef struct {
	char **parts;         /* IMAP section numbers, or NULL */
	char **filenames;     /* globs on the decoded file name, or NULL */
	char **types;         /* globs on the content type, or NULL */
	gboolean attachments; /* only attachments */
	gboolean force;       /* replace existing files */
} MpExtractRequest;

/* One file written (or that would be). */
typedef struct {
	char *section;
	char *name; /* the name in the folder, or the -o path */
	gint64 size;
} MpExtracted;

void mp_extracted_free (MpExtracted *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpExtracted, mp_extracted_free)

/* The parts of @show that @req chooses, in document order (borrowed
 * MpShowPart *).  Each kind of criterion narrows the choice (a part must
 * match one --part, one --filename and one --type when given, and be an
 * attachment with --attachments); with none, every leaf and uuencoded
 * block is chosen.  Multipart containers are never chosen; an embedded
 * message only when named by --part or matched by --type.  A part cut
 * short by the end of a truncated message is left out.  The array is
 * empty when nothing matches.  Errors: MP_ERROR_USAGE when a --part names
 * a multipart; MP_ERROR_DATA when it names a part cut short, or when the
 * only parts chosen are; *@missing (when not NULL) receives the first --part that
 * names no part (newly allocated), and the array is then NULL. */
GPtrArray *mp_extract_select (MpShow *show, const MpExtractRequest *req,
			      char **missing, GError **error);

/* A file name safe to create in a folder, from @name (UTF-8, as the
 * message gives it): only what follows its last '/' or '\\', control
 * characters replaced by '_', no leading dot, '-' or blank, no trailing
 * dot or blank, a reserved name (".", "..", and CON, PRN, AUX, NUL,
 * COM1-9, LPT1-9 with any extension) prefixed with '_', at most
 * MP_EXTRACT_NAME_MAX bytes (cut at a character boundary, the extension
 * kept), other UTF-8 kept.  Newly allocated; NULL when nothing usable is
 * left. */
char *mp_extract_safe_name (const char *name);

/* The name @part is written under: its safe file name, else
 * "part-SECTION.EXT" with an extension for its type.  Newly allocated. */
char *mp_extract_part_name (MpShowPart *part);

/* "report.pdf", 2 -> "report-2.pdf"; "archive" -> "archive-2"; a name
 * that would grow past MP_EXTRACT_NAME_MAX bytes loses the end of its
 * stem (at a character boundary) instead.  Newly allocated. */
char *mp_extract_numbered_name (const char *name, guint n);

/* Writes the decoded content of each of @parts into the folder @dir
 * (NULL: the current one).  Every part is first written to an unnamed
 * temporary file in @dir; only when all are complete are they given
 * their names (link(2), which never replaces a file: an existing name
 * gets "-1", "-2"... before its extension; with @req->force, rename(2)
 * replaces it), so a failure leaves nothing behind.  Names hold no '/',
 * so nothing is written outside @dir.  With @dry_run nothing is written
 * and the names are those that would be used.  Returns the files
 * (MpExtracted *, newly allocated array).
 * Errors: MP_ERROR_CANT_CREATE naming the folder or the file,
 * MP_ERROR_IO on a read or write error. */
GPtrArray *mp_extract_to_dir (GPtrArray *parts, const char *dir,
			      const MpExtractRequest *req, gboolean dry_run,
			      GError **error);

/* Writes the decoded content of @part to @out.
 * Errors: as mp_show_decode(), MP_ERROR_IO on a write error. */
gboolean mp_extract_to_output (MpShowPart *part, MpOutput *out, GError **error);

G_END_DECLS
