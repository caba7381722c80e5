/* mp-address: RFC 5322 3.4 addresses, their one home.  Lists we write
 * are parsed and validated (every mailbox kept or the list refused, IDN
 * domains as A-labels, nesting bounded before parsing); lists as they
 * arrive are read leniently, as Python's email reads them, for display
 * and for their addr-specs. */
#pragma once

#include "mp-autoptr.h"

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

/* Parses @value (a value of header @name, already checked with
 * mp_field_check_value()) into a validated list whose mailbox addresses
 * have ASCII (A-label) domains: read them with mp_address_mailbox_addr(),
 * as GMime's get_addr() gives its decoded (UTF-8) domain and
 * get_idn_addr() its own re-encoding, which loses what it could not
 * decode.  Every mailbox written is in the list, or the list is refused:
 * groups may not nest, comments not deeper than MP_ADDRESS_MAX_NESTING,
 * and ';' outside a group is refused with a hint to separate addresses
 * with commas.  Errors: MP_ERROR_DATA naming @name and the address at
 * fault. */
InternetAddressList *mp_address_parse_list (const char *name, const char *value,
					    GError **error);

/* The number of mailboxes of @list, group members included. */
guint mp_address_count_mailboxes (InternetAddressList *list);

/* The addr-spec of a mailbox of a list from mp_address_parse_list(), as
 * checked there (A-label domain).  Borrowed. */
const char *mp_address_mailbox_addr (InternetAddressMailbox *mailbox);

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
