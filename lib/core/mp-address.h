/* mp-address: RFC 5322 3.4 addresses, their one home.  Lists we write
 * are parsed and validated (every mailbox kept or the list refused, IDN
 * domains as A-labels, nesting bounded before parsing); lists as they
 * arrive are read leniently, as Python's email reads them, for display
 * and for their addr-specs. */
#pragma once

#include "mp-autoptr.h"
#include "mp-error.h"

G_BEGIN_DECLS

/* Comments nested deeper than this in an address list are refused before
 * any parsing (a parser that recurses must not meet 50,000 of them). */
#define MP_ADDRESS_MAX_NESTING 16

/* TRUE when @c is an atext character (RFC 5322 3.2.3). */
gboolean mp_address_is_atext (guchar c);

/* Checks the addr-spec @addr of a header field @header (a dot-atom or
 * quoted ASCII local part of at most 64 octets, a host name or a domain
 * literal; IDN domains turned into A-labels, which must decode and
 * encode back).  Returns it with an A-label domain, newly allocated.
 * Errors: MP_ERROR_DATA naming @header and @addr. */
char *mp_address_check_spec (const char *header, const char *addr,
			     GError **error);

/* Checks one envelope address (RFC 5321 4.1.2: MAIL FROM, RCPT TO) and
 * returns it as it goes on the wire (newly allocated, in *@out): no CR,
 * LF, NUL or other control character, no leading '-', no space, '<' or
 * '>', a local part and a domain (RFC 5321 4.5.3.1 lengths), an IDN
 * domain turned into its A-label form.  An empty @value (the null
 * reverse-path "<>") is accepted when @allow_empty.  *@needs_utf8 (may
 * be NULL) is set when the local part is non-ASCII, which needs
 * SMTPUTF8.  @what names the value in messages ("--from", "recipient",
 * "From header").  Unlike mp_address_check_spec() it takes a UTF-8
 * local part and refuses '_' in a domain.
 * Errors: @code (MP_ERROR_USAGE for the command line, MP_ERROR_DATA for
 * headers) naming @what and the value. */
gboolean mp_address_check_envelope (const char *what, const char *value,
				    gboolean allow_empty, MpErrorCode code,
				    char **out, gboolean *needs_utf8,
				    GError **error);

/* Decodes an address list (a raw header value) for display, as Python's
 * email (policy=default) renders it: comments and extra blanks dropped,
 * display names decoded (mp_rfc2047_decode_text()) and quoted when they
 * hold specials, "Name <addr>" or a bare addr, "Group: a, b;".  Newly
 * allocated; "" when the value holds no address.  @len -1:
 * NUL-terminated. */
char *mp_address_decode_list (const char *raw, gssize len);

/* Appends every addr-spec (local@domain) in the address list @raw (a raw
 * header value: groups, comments, quoted and encoded display names are
 * understood) to @out (strings newly allocated, e.g. a GPtrArray with
 * g_free as free function).  Returns the number appended. */
guint mp_address_parse_specs (const char *raw, GPtrArray *out);

G_END_DECLS

/* ---- lists we write, read without GMime -------------------------------- */

/* One address of a list read by mp_address_read_list(): a mailbox
 * (@spec set) or a group (@members set). */
typedef struct _MpAddress MpAddress;
struct _MpAddress {
	char *name;         /* display name, decoded; "" when none */
	char *spec;         /* addr-spec as mp_address_check_spec() returns */
	GPtrArray *members; /* of MpAddress, for a group; else NULL */
};

/* Parses @value (a value of header @name, already checked with
 * mp_field_check_value()) into a validated array of MpAddress (free with
 * g_ptr_array_unref()) whose addr-specs have ASCII (A-label) domains.
 * Every mailbox written is in the list, or the list is refused: groups
 * may not nest, comments not deeper than MP_ADDRESS_MAX_NESTING, and ';'
 * outside a group is refused with a hint to separate addresses with
 * commas.
 * Display names are those GMime gives: the phrase as written from its
 * first word to its last, quotes and escapes removed, encoded words
 * decoded, blanks trimmed; for a bare addr-spec the comment after it
 * (the same bytes as before, when GMime parsed these lists).
 * Errors: MP_ERROR_DATA naming @name and the address at fault. */
GPtrArray *mp_address_read_list (const char *name, const char *value,
				 GError **error);

/* The number of mailboxes of @list (from mp_address_read_list()), group
 * members included. */
guint mp_address_list_count (GPtrArray *list);

/* The right side of a Message-ID made from the addr-spec @spec (RFC 5322
 * 3.6.4: id-right, commonly the sender's domain): its domain when it has
 * one that is ASCII (an IDN as A-labels) and not a domain literal, else
 * a copy of @fallback (NULL when it is).  @spec may be NULL.  Newly
 * allocated. */
char *mp_address_msgid_domain (const char *spec, const char *fallback);
