/* mp-field: one header field as we write it, as RFC 5322/2047 want it:
 * names and values checked (no injection), non-ASCII text in encoded
 * words (UTF-8, only where needed, folded at 78), address lists
 * (mp-address) with display names encoded, message ids, dates.  The
 * header block of an existing message is mp-headers'. */
#pragma once

#include "mp-address.h"
#include "mp-autoptr.h"

G_BEGIN_DECLS

#define MP_FIELD_FOLD_WIDTH 78

/* Checks a field name: one or more printable US-ASCII characters except
 * the colon (RFC 5322 2.2).  Errors: MP_ERROR_USAGE naming it. */
gboolean mp_field_check_name (const char *name, GError **error);

/* Checks a value given on the command line for header @name: no CR, LF or
 * NUL (header injection), no other control character but TAB, valid
 * UTF-8.  @len is the value's length (-1: NUL-terminated).
 * Errors: MP_ERROR_DATA naming the header. */
gboolean mp_field_check_value (const char *name, const char *value, gssize len,
			       GError **error);

/* Splits "Name: value" into a checked name and a trimmed, checked value
 * (both newly allocated).  Errors: MP_ERROR_USAGE when there is no colon
 * or the name is invalid, MP_ERROR_DATA for a bad value. */
gboolean mp_field_split (const char *field, char **name, char **value,
			 GError **error);

/* TRUE when @name is an address header (From, To, Cc, Bcc, Reply-To,
 * Sender and their Resent- forms). */
gboolean mp_field_is_address (const char *name);

/* TRUE when a message may hold at most one @name field: RFC 5322 3.6
 * (Date, From, Sender, Reply-To, To, Cc, Bcc, Message-ID, In-Reply-To,
 * References, Subject) and the MIME fields (MIME-Version, Content-*). */
gboolean mp_field_is_single (const char *name);

/* Formats "Name: value\n" for an unstructured header: words that need it
 * (non-ASCII, control characters, text that looks like an encoded word)
 * become RFC 2047 encoded words in UTF-8, at most 75 characters each; the
 * line is folded at 78.  @value must be checked UTF-8.  Newly allocated. */
char *mp_field_format_text (const char *name, const char *value);

/* Parses and validates one or more address lists (each may hold several
 * comma-separated addresses, groups, quoted or non-ASCII display names)
 * and formats them as one "Name: ...\n" field: display names encoded,
 * addresses untouched but for IDN domains turned into A-labels.
 * @n_mailboxes (may be NULL) receives the number of mailboxes.
 * Errors: MP_ERROR_DATA naming the header and the address at fault. */
char *mp_field_format_addresses (const char *name, const char *const *values,
				 guint *n_mailboxes, GError **error);

/* The same field from @n lists already read by mp_field_parse_addresses()
 * (a caller that keeps them reads each value once).  Newly allocated. */
char *mp_field_format_address_lists (const char *name, GPtrArray *const *lists,
				     guint n, guint *n_mailboxes);

/* Checks @value as mp_field_check_value() does, then parses it with
 * mp_address_read_list() (an array of MpAddress).
 * Errors: as mp_field_format_addresses(). */
GPtrArray *mp_field_parse_addresses (const char *name, const char *value,
				     GError **error);

/* Formats a header of message identifiers (Message-ID, In-Reply-To,
 * References): each "<id>" (angle brackets added when missing), checked to
 * be id-left@id-right without spaces.  Errors: MP_ERROR_DATA. */
char *mp_field_format_msgids (const char *name, const char *const *values,
			      GError **error);

/* Reads a date given by a user: RFC 5322 (as GMime reads it), ISO 8601,
 * or "@SECONDS" since the epoch; without an offset, and for @SECONDS, in
 * local time as TZ says.  Newly allocated; NULL when it is not a date. */
GDateTime *mp_field_parse_date (const char *value);

/* Formats any header from a checked UTF-8 value, choosing the rule by its
 * name: addresses, message identifiers, dates (Date, Resent-Date: read as
 * GMime reads them, written as RFC 5322 3.3 wants), or unstructured text.
 * Errors: as the functions above. */
char *mp_field_format (const char *name, const char *value, GError **error);

/* Encodes @phrase (a display name) for use in an address: atoms as they
 * are, a quoted string when specials need it, encoded words when it holds
 * non-ASCII.  Unfolded; newly allocated. */
char *mp_field_encode_phrase (const char *phrase);

G_END_DECLS
