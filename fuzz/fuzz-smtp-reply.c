/* libFuzzer harness: the SMTP reply parser, through the whole client.
 * The input is everything a server says, from the greeting on; a thread
 * plays the server on a loopback socket (it sends the input, then closes
 * its side and reads whatever the client sends), and mp-smtp connects and
 * sends one message over plaintext SMTP.  Whatever the replies (split,
 * multi-line, endless, garbage, NUL, over-long), the client must end with
 * success or an MP_ERROR of a server-failure class whose message is one
 * line, and every transcript line must be one line too. */
#include "mp-envelope.h"
#include "mp-error.h"
#include "mp-smtp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static int listen_fd = -1;
static guint16 port;
/* one server thread for the whole run (a thread per input made
 * LeakSanitizer see its teardown as a leak): scripts go in, "done" out */
static GAsyncQueue *scripts, *done;

typedef struct {
	const guint8 *data;
	gsize size;
} Script;

static void
serve_one (Script *s)
{
	struct pollfd pfd = { listen_fd, POLLIN, 0 };
	char buf[4096];
	gsize off = 0;
	int fd;

	/* a client that never connects is a bug: crash, do not hang */
	if (poll (&pfd, 1, 20000) != 1)
		abort ();
	fd = accept (listen_fd, NULL, NULL);
	if (fd < 0)
		abort ();
	while (off < s->size) {
		ssize_t n =
			send (fd, s->data + off, s->size - off, MSG_NOSIGNAL);

		if (n <= 0)
			break; /* the client gave up: fine */
		off += (gsize) n;
	}
	shutdown (fd, SHUT_WR);
	while (read (fd, buf, sizeof buf) > 0)
		;
	close (fd);
}

static gpointer
server (gpointer unused)
{
	for (;;) {
		Script *s = g_async_queue_pop (scripts);

		serve_one (s);
		g_async_queue_push (done, s);
	}
	return NULL;
}

/* Transcript lines are single lines; a server line comes raw (smtp-send
 * -v masks its control bytes before printing, tests/smtp/hostile.t), but
 * never with a line feed in it. */
static void
check_line (MpSmtpLineKind kind, const char *line, gpointer user_data)
{
	if (strchr (line, '\n') ||
	    (kind != MP_SMTP_LINE_SERVER && strchr (line, '\r')))
		abort ();
}

static void
init (void)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof sa;

	signal (SIGPIPE, SIG_IGN);
	g_mime_init ();
	listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
	if (listen_fd < 0 ||
	    bind (listen_fd, (struct sockaddr *) &sa, sizeof sa) < 0 ||
	    listen (listen_fd, 8) < 0 ||
	    getsockname (listen_fd, (struct sockaddr *) &sa, &len) < 0)
		abort ();
	port = ntohs (sa.sin_port);
	scripts = g_async_queue_new ();
	done = g_async_queue_new ();
	g_thread_unref (g_thread_new ("server", server, NULL));
}

static MpEnvelope *
envelope (void)
{
	static const char msg[] = "From: a@example.org\nTo: b@example.org\n"
				  "Subject: fuzz\n\nbody\n.\nend\n";
	const char *rcpts[] = { "b@example.org", "c@example.org", NULL };
	int fd = memfd_create ("message", MFD_CLOEXEC);
	g_autofree char *path = NULL;
	g_autoptr (MpInput) in = NULL;
	MpEnvelope *env;

	if (fd < 0 || write (fd, msg, sizeof msg - 1) != sizeof msg - 1)
		abort ();
	path = g_strdup_printf ("/proc/self/fd/%d", fd);
	in = mp_input_open (path, NULL);
	close (fd);
	env = in ? mp_envelope_new (in, "a@example.org", rcpts, FALSE, NULL) :
		   NULL;
	if (env == NULL)
		abort ();
	return env;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
	MpSmtpConfig cfg = { 0 };
	Script script = { data, size };
	g_autoptr (MpSmtp) smtp = NULL;
	g_autoptr (MpEnvelope) env = NULL;
	g_autoptr (GError) error = NULL;

	if (listen_fd < 0)
		init ();
	cfg.host = "127.0.0.1";
	cfg.port = port;
	cfg.tls = MP_SMTP_TLS_OFF;
	cfg.helo = "fuzz.example";
	cfg.timeout = 5; /* the server always closes: never reached */
	cfg.transcript = check_line;

	env = envelope ();
	g_async_queue_push (scripts, &script);
	smtp = mp_smtp_new (&cfg);
	if (mp_smtp_connect (smtp, &error))
		mp_smtp_send (smtp, env, NULL, FALSE, &error);
	mp_smtp_quit (smtp);
	g_clear_pointer (&smtp, mp_smtp_free);
	if (g_async_queue_pop (done) != &script)
		abort ();

	if (error) {
		if (error->domain != MP_ERROR ||
		    strpbrk (error->message, "\r\n"))
			abort ();
		switch (error->code) {
		case MP_ERROR_TEMPFAIL:
		case MP_ERROR_PROTOCOL:
		case MP_ERROR_UNAVAILABLE:
		case MP_ERROR_NO_USER:
		case MP_ERROR_DATA:
		case MP_ERROR_NO_PERM:
			break;
		default:
			fprintf (stderr, "unexpected error class %d: %s\n",
				 error->code, error->message);
			abort ();
		}
	}
	return 0;
}
