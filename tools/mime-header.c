/* mime-header: read and edit the header of a message without touching
 * anything else (DESIGN 5). */
#include "mp-cli.h"
#include "mp-address.h"
#include "mp-crypto.h"
#include "mp-dkim.h"
#include "mp-error.h"
#include "mp-field.h"
#include "mp-headers.h"
#include "mp-io.h"

#include <string.h>
#include <unistd.h>

typedef enum {
	OP_ADD,
	OP_SET,
	OP_DELETE,
	OP_GET,
	OP_ADDRESSES,
	OP_LIST
} OpKind;

typedef struct {
	OpKind kind;
	char *name;
	char *value;
} Op;

/* GOption callbacks get no user data for the main group: the operations
 * are collected here, in the order given. */
static GArray *ops;
static gboolean raw;

static void
op_clear (gpointer p)
{
	Op *op = p;

	g_free (op->name);
	g_free (op->value);
}

static gboolean
collect (const char *option, const char *arg, gpointer data, GError **error)
{
	Op op = { 0, NULL, NULL };

	if (strcmp (option, "--add") == 0)
		op.kind = OP_ADD;
	else if (strcmp (option, "--set") == 0)
		op.kind = OP_SET;
	else if (strcmp (option, "--delete") == 0 || strcmp (option, "-d") == 0)
		op.kind = OP_DELETE;
	else if (strcmp (option, "--get") == 0 || strcmp (option, "-g") == 0)
		op.kind = OP_GET;
	else if (strcmp (option, "--addresses") == 0)
		op.kind = OP_ADDRESSES;
	else
		op.kind = OP_LIST;

	if (op.kind == OP_ADD || op.kind == OP_SET) {
		/* checked and encoded before any input is read */
		g_autofree char *field = NULL;

		if (!mp_field_split (arg, &op.name, &op.value, error))
			return FALSE;
		field = mp_field_format (op.name, op.value, error);
		if (field == NULL) {
			op_clear (&op);
			return FALSE;
		}
	} else if (op.kind != OP_LIST) {
		g_autofree char *name = g_strstrip (g_strdup (arg));

		if (!mp_field_check_name (name, error))
			return FALSE;
		op.name = g_steal_pointer (&name);
	}
	g_array_append_val (ops, op);
	return TRUE;
}

static const GOptionEntry entries[] = {
	{ "add", 0, 0, G_OPTION_ARG_CALLBACK, collect,
	  "Add the field at the end of the header", "'NAME: VALUE'" },
	{ "set", 0, 0, G_OPTION_ARG_CALLBACK, collect,
	  "Replace every NAME field by this one (added when absent)",
	  "'NAME: VALUE'" },
	{ "delete", 'd', 0, G_OPTION_ARG_CALLBACK, collect,
	  "Delete every NAME field", "NAME" },
	{ "get", 'g', 0, G_OPTION_ARG_CALLBACK, collect,
	  "Print each NAME field's value, decoded (exit 1 when absent)",
	  "NAME" },
	{ "raw", 'r', 0, G_OPTION_ARG_NONE, &raw,
	  "With --get or --list: print values undecoded", NULL },
	{ "addresses", 0, 0, G_OPTION_ARG_CALLBACK, collect,
	  "Print each address in the NAME fields, one per line (exit 1 when "
	  "absent)",
	  "NAME" },
	{ "list", 'l', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, collect,
	  "Print every field, decoded", NULL },
	{ NULL }
};

static void
print_line (GString *s, const char *line)
{
	g_string_append (s, line);
	g_string_append_c (s, '\n');
}

/* Runs a query; returns FALSE when what it asks for is absent. */
static gboolean
query (MpHeaders *h, const Op *op, GString *s)
{
	guint i, n = mp_headers_get_n_entries (h);
	gboolean found = FALSE;

	for (i = 0; i < n; i++) {
		const char *name = mp_headers_get_name (h, i);
		g_autofree char *value = NULL;

		if (name == NULL)
			continue;
		if (op->kind != OP_LIST && g_ascii_strcasecmp (name, op->name))
			continue;
		found = TRUE;
		if (op->kind == OP_ADDRESSES) {
			g_autoptr (GPtrArray) specs =
				g_ptr_array_new_with_free_func (g_free);
			g_autofree char *rv = mp_headers_get_raw_value (h, i);
			guint j;

			mp_address_parse_specs (rv, specs);
			for (j = 0; j < specs->len; j++)
				print_line (s, specs->pdata[j]);
			continue;
		}
		value = raw ? mp_headers_get_raw_value (h, i) :
			      mp_headers_get_value (h, i);
		if (op->kind == OP_LIST) {
			g_string_append (s, name);
			g_string_append (s, ": ");
		}
		print_line (s, value);
	}
	return found || op->kind == OP_LIST;
}

int
main (int argc, char **argv)
{
	static MpCliCommon common; /* static: its strings stay reachable */
	g_autoptr (GError) error = NULL;
	g_autoptr (MpHeaders) h = NULL;
	g_autoptr (MpOutput) out = NULL;
	g_autoptr (GString) printed = g_string_new (NULL);
	g_autofree char *output_path = NULL;
	gboolean queries = FALSE, all_found = TRUE, originator_edited = FALSE;
	guint i;

	mp_cli_init ("mime-header");
	ops = g_array_new (FALSE, TRUE, sizeof (Op));
	g_array_set_clear_func (ops, op_clear);
	if (!mp_cli_parse_operands (
		    entries, NULL,
		    "Read and edit the header of the message on "
		    "stdin.\nOperations apply in the order given; "
		    "queries print instead of the message.",
		    FALSE, 0, &common, &argc, &argv, &error))
		return mp_cli_fail (g_steal_pointer (&error));
	output_path = common.output;
	for (i = 0; i < ops->len; i++)
		if (g_array_index (ops, Op, i).kind >= OP_GET)
			queries = TRUE;
	if (ops->len == 0 || (raw && !queries)) {
		g_set_error (&error, MP_ERROR, MP_ERROR_USAGE,
			     ops->len == 0 ? "nothing to do: give --add, "
					     "--set, --delete, --get, "
					     "--addresses or --list" :
					     "--raw needs --get or --list");
		return mp_cli_fail (g_steal_pointer (&error));
	}

	out = mp_output_open (output_path, FALSE, &error);
	if (out == NULL)
		return mp_cli_fail (g_steal_pointer (&error));
	h = mp_headers_read_fd (STDIN_FILENO, "stdin", &error);
	if (h == NULL)
		return mp_cli_fail (g_steal_pointer (&error));
	/* a Content-Type edit would break a signature or expose what was
	 * encrypted (issue 17) */
	for (i = 0; i < ops->len; i++) {
		const Op *op = &g_array_index (ops, Op, i);
		MpCryptoKind kind = mp_crypto_kind_of_headers (h);

		if (op->kind < OP_GET &&
		    g_ascii_strcasecmp (op->name, "Content-Type") == 0 &&
		    kind != MP_CRYPTO_PLAIN) {
			mp_crypto_refuse (kind, "a Content-Type edit", &error);
			return mp_cli_fail (g_steal_pointer (&error));
		}
	}

	for (i = 0; i < ops->len; i++) {
		const Op *op = &g_array_index (ops, Op, i);
		gboolean ok = TRUE;

		/* RFC 6376 5.4: a field named in h= edited, added or removed */
		if (op->kind < OP_GET && mp_dkim_headers_signed (h, op->name))
			g_printerr (
				"%s: warning: %s is signed by DKIM: editing "
				"it breaks the signature\n",
				g_get_prgname (), op->name);
		switch (op->kind) {
		case OP_ADD:
			ok = mp_headers_add (h, op->name, op->value, &error);
			break;
		case OP_SET:
			ok = mp_headers_set (h, op->name, op->value, &error);
			break;
		case OP_DELETE:
			mp_headers_delete (h, op->name);
			break;
		default:
			if (!query (h, op, printed))
				all_found = FALSE;
			break;
		}
		if (!ok)
			return mp_cli_fail (g_steal_pointer (&error));
		if (op->kind <= OP_DELETE &&
		    (g_ascii_strcasecmp (op->name, "From") == 0 ||
		     g_ascii_strcasecmp (op->name, "Sender") == 0))
			originator_edited = TRUE;
	}
	/* what was edited must follow RFC 5322 3.6.2 once all is done */
	if (originator_edited && !mp_headers_check_originator (h, &error))
		return mp_cli_fail (g_steal_pointer (&error));

	if (queries) {
		if (!mp_headers_drain (h, &error) ||
		    !mp_output_write (out, printed->str, printed->len, &error))
			return mp_cli_fail (g_steal_pointer (&error));
	} else if (!mp_headers_write_message (h, out, &error)) {
		return mp_cli_fail (g_steal_pointer (&error));
	}
	if (!mp_output_close (out, &error))
		return mp_cli_fail (g_steal_pointer (&error));
	g_array_unref (ops);
	return all_found ? 0 : 1;
}
