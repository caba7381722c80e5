/* mime-attach: add attachments to the message on stdin (DESIGN 5).
 *
 * Per-file options (--type, --name, --description, --inline, --fd) apply
 * to the FILE (or --message FILE) that follows them. */
#include "mp-cli.h"
#include "mp-crypto.h"
#include "mp-error.h"
#include "mp-io.h"
#include "mp-part.h"
#include "mp-tree.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	char *path; /* NULL: the descriptor fd */
	int fd;
	gboolean message;
	char *type, *name, *description;
	gboolean inline_disposition;
} Item;

static GPtrArray *items;
static Item pending = { NULL, -1 };
static gboolean pending_set;
static char *seed;

static void
item_free (Item *it)
{
	g_free (it->path);
	g_free (it->type);
	g_free (it->name);
	g_free (it->description);
	g_free (it);
}

static gboolean
take_file (const char *path, gboolean message, GError **error)
{
	Item *it = g_new0 (Item, 1);

	*it = pending;
	it->message = message;
	if (strcmp (path, "-") == 0) {
		if (pending.fd < 0 || pending.name == NULL) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "-: data from a descriptor needs --fd N "
				     "and --name NAME before it");
			item_free (it);
			return FALSE;
		}
	} else {
		if (pending.fd >= 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "%s: --fd is only for a FILE of -", path);
			item_free (it);
			return FALSE;
		}
		it->path = g_strdup (path);
	}
	g_ptr_array_add (items, it);
	memset (&pending, 0, sizeof pending);
	pending.fd = -1;
	pending_set = FALSE;
	return TRUE;
}

/* GOption names the option as it was typed, "-m" or "--message": both
 * are read as the long form */
static const GOptionEntry *option_entries;

static gboolean
on_option (const char *name, const char *value, gpointer data, GError **error)
{
	g_autofree char *long_form = NULL;

	for (const GOptionEntry *e = option_entries;
	     name[1] != '-' && e->long_name != NULL; e++)
		if (e->short_name == name[1])
			name = long_form =
				g_strconcat ("--", e->long_name, NULL);
	if (strcmp (name, "--message") == 0)
		return take_file (value, TRUE, error);
	pending_set = TRUE;
	if (strcmp (name, "--type") == 0) {
		g_free (pending.type);
		pending.type = g_strdup (value);
	} else if (strcmp (name, "--name") == 0) {
		g_free (pending.name);
		pending.name = g_strdup (value);
	} else if (strcmp (name, "--description") == 0) {
		g_free (pending.description);
		pending.description = g_strdup (value);
	} else if (strcmp (name, "--inline") == 0) {
		pending.inline_disposition = TRUE;
	} else if (strcmp (name, "--fd") == 0) {
		char *end;
		long fd = strtol (value, &end, 10);

		if (*value == '\0' || *end != '\0' || fd < 0 || fd > 65535) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "--fd %s: not a descriptor number", value);
			return FALSE;
		}
		if (fd <= 1) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "--fd %ld: that is the message's %s; give "
				     "the data on another descriptor (3<FILE)",
				     fd, fd == 0 ? "input" : "output");
			return FALSE;
		}
		pending.fd = (int) fd;
	}
	return TRUE;
}

static gboolean
on_file (const char *name, const char *value, gpointer data, GError **error)
{
	return take_file (value, FALSE, error);
}

static gboolean
check_utf8 (const Item *it, GError **error)
{
	const char *what = it->path ? it->path : "-";

	if ((it->name && !g_utf8_validate (it->name, -1, NULL)) ||
	    (it->description && !g_utf8_validate (it->description, -1, NULL))) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "%s: --name and --description must be UTF-8",
			     what);
		return FALSE;
	}
	if ((it->name && strpbrk (it->name, "\r\n")) ||
	    (it->description && strpbrk (it->description, "\r\n"))) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "%s: --name and --description cannot hold a "
			     "line break",
			     what);
		return FALSE;
	}
	return TRUE;
}

static int
run (MpCliCommon *common)
{
	g_autoptr (GPtrArray) leaves = g_ptr_array_new_with_free_func (
		(GDestroyNotify) mp_part_leaf_free);
	g_autoptr (MpInput) in = NULL;
	g_autoptr (MpTree) tree = NULL;
	g_autoptr (MpOutput) out = NULL;
	/* what was changed in a forwarded message, said once all is written */
	g_autoptr (GPtrArray) said = g_ptr_array_new_with_free_func (g_free);
	GError *error = NULL;
	MpCryptoKind kind;
	guint i;

	/* every file is opened and read before any output (DESIGN 2) */
	for (i = 0; i < items->len; i++) {
		Item *it = items->pdata[i];
		MpPartFileOptions opts = { 0 };
		MpInput *file;
		MpLeaf *leaf;
		GPtrArray *notes;
		g_autofree char *fdname = NULL;
		guint j;

		if (!check_utf8 (it, &error))
			return mp_cli_fail (error);
		if (it->path) {
			file = mp_input_open (it->path, &error);
		} else {
			fdname = g_strdup_printf ("fd %d", it->fd);
			file = mp_input_open_fd (it->fd, fdname, &error);
		}
		if (file == NULL)
			return mp_cli_fail (error);
		opts.type = it->type;
		opts.name = it->name;
		opts.description = it->description;
		opts.inline_disposition = it->inline_disposition;
		opts.message = it->message;
		leaf = mp_part_leaf_new_file (file, &opts, &error);
		if (leaf == NULL)
			return mp_cli_fail (error);
		g_ptr_array_add (leaves, leaf);
		notes = mp_part_leaf_get_notes (leaf);
		for (j = 0; j < notes->len; j++)
			g_ptr_array_add (said, g_strdup (notes->pdata[j]));
	}

	in = mp_input_open (NULL, &error);
	if (in == NULL)
		return mp_cli_fail (error);
	/* a file attached to an encrypted message would travel in the
	 * clear; to a signed one it is added outside (issue 17) */
	kind = mp_crypto_kind_of_input (in, &error);
	if (error || (kind == MP_CRYPTO_ENCRYPTED &&
		      !mp_crypto_refuse (kind, "attaching a file", &error)))
		return mp_cli_fail (error);
	tree = mp_tree_new (in, seed, &error);
	if (tree == NULL)
		return mp_cli_fail (error);
	for (i = 0; i < leaves->len; i++)
		mp_tree_add_attachment (tree,
					g_steal_pointer (&leaves->pdata[i]));

	out = mp_output_open (common->output, common->crlf, &error);
	if (out == NULL || !mp_tree_write (tree, out, &error) ||
	    !mp_output_close (out, &error))
		return mp_cli_fail (error);
	for (i = 0; i < said->len; i++)
		g_printerr ("%s: %s\n", g_get_prgname (),
			    (char *) said->pdata[i]);
	if (kind == MP_CRYPTO_SIGNED)
		g_printerr ("%s: warning: the message is signed; the attached "
			    "files are outside the signature\n",
			    g_get_prgname ());
	return 0;
}

int
main (int argc, char **argv)
{
	static MpCliCommon common; /* static: its strings stay reachable */
	GError *error = NULL;
	int rc;
	/* file names, --name and --description as given (file names need
	 * not be UTF-8; check_utf8() says which option is not) */
	const GOptionEntry entries[] = {
		{ "type", 0, 0, G_OPTION_ARG_CALLBACK, (void *) on_option,
		  "Media type of the next FILE (default: detected)", "TYPE" },
		{ "name", 0, G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK,
		  (void *) on_option, "File name shown for the next FILE",
		  "NAME" },
		{ "description", 0, G_OPTION_FLAG_FILENAME,
		  G_OPTION_ARG_CALLBACK, (void *) on_option,
		  "Content-Description of the next FILE", "TEXT" },
		{ "inline", 'i', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK,
		  (void *) on_option, "Show the next FILE inline", NULL },
		{ "fd", 0, 0, G_OPTION_ARG_CALLBACK, (void *) on_option,
		  "The next FILE, given as -, is read from descriptor N", "N" },
		{ "message", 'm', G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK,
		  (void *) on_option,
		  "Forward the message in FILE as message/rfc822", "FILE" },
		{ "seed", 0, 0, G_OPTION_ARG_STRING, &seed,
		  "Make boundaries reproducible from SEED", "SEED" },
		{ G_OPTION_REMAINING, 0, G_OPTION_FLAG_FILENAME,
		  G_OPTION_ARG_CALLBACK, (void *) on_file, NULL, "FILE..." },
		{ NULL }
	};

	mp_cli_init ("mime-attach");
	items = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
	option_entries = entries;
	if (!mp_cli_parse_operands (
		    entries, NULL,
		    "Add files as attachments to the message on stdin.\n"
		    "Per-file options apply to the FILE that follows "
		    "them.",
		    TRUE, -1, &common, &argc, &argv, &error))
		return mp_cli_fail (error);
	if (pending_set)
		error = g_error_new (MP_ERROR, MP_ERROR_USAGE,
				     "per-file options must come before the "
				     "FILE they apply to");
	else if (items->len == 0)
		error = g_error_new (MP_ERROR, MP_ERROR_USAGE,
				     "no FILE to attach (see --help)");
	if (error)
		return mp_cli_fail (error);
	rc = run (&common);
	g_ptr_array_unref (items);
	g_free (pending.type);
	g_free (pending.name);
	g_free (pending.description);
	g_free (seed);
	g_free (common.output);
	return rc;
}
