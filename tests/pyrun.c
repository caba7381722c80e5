/* pyrun: `pyrun SCRIPT ARGS...` (or -c CODE ARGS..., or - ARGS... for a
 * script on stdin) does what `/usr/bin/python3` with the same arguments
 * does, in a fork of the test script's Python server (tests/pyserve.py,
 * socket in $MP_PYSERVE) where the interpreter and its modules are
 * already loaded.
 *
 * The request carries this process's standard streams (SCM_RIGHTS), its
 * working directory, umask, arguments and environment; the answer is
 * "exit N" (this process then exits N) or "fallback" (this process runs
 * /usr/bin/python3 itself, as it does when $MP_PYSERVE is unset or the
 * server cannot be reached). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#define PYTHON "/usr/bin/python3"

extern char **environ;

struct buf {
	char *data;
	size_t len, cap;
};

static void
put (struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->data = realloc (b->data, b->cap);
		if (b->data == NULL) {
			perror ("pyrun");
			exit (70);
		}
	}
	memcpy (b->data + b->len, s, n);
	b->len += n;
	b->data[b->len++] = '\0';
}

static void
put_str (struct buf *b, const char *s)
{
	put (b, s, strlen (s));
}

static int
direct (char **argv)
{
	argv[0] = (char *) PYTHON;
	execv (PYTHON, argv);
	fprintf (stderr, "pyrun: %s: %s\n", PYTHON, strerror (errno));
	return 127;
}

/* The whole request in one message, the three descriptors attached. */
static int
send_request (int sock, int argc, char **argv)
{
	struct buf b = { 0 };
	char num[32], cwd[4096];
	mode_t mask = umask (0);
	int fds[3] = { 0, 1, 2 };
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE (sizeof fds)];
	} ctl;
	struct msghdr msg = { 0 };
	struct iovec iov[2];
	struct cmsghdr *c;
	unsigned int size;
	size_t off;
	ssize_t n;

	umask (mask);
	if (getcwd (cwd, sizeof cwd) == NULL)
		return -1;
	put_str (&b, cwd);
	snprintf (num, sizeof num, "%u", (unsigned int) mask);
	put_str (&b, num);
	snprintf (num, sizeof num, "%d", argc - 1);
	put_str (&b, num);
	for (int i = 1; i < argc; i++)
		put_str (&b, argv[i]);
	for (char **e = environ; *e != NULL; e++)
		put_str (&b, *e);
	size = (unsigned int) b.len;

	iov[0].iov_base = &size;
	iov[0].iov_len = sizeof size;
	iov[1].iov_base = b.data;
	iov[1].iov_len = b.len;
	memset (&ctl, 0, sizeof ctl);
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	msg.msg_control = ctl.space;
	msg.msg_controllen = sizeof ctl.space;
	c = CMSG_FIRSTHDR (&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN (sizeof fds);
	memcpy (CMSG_DATA (c), fds, sizeof fds);
	n = sendmsg (sock, &msg, MSG_NOSIGNAL);
	if (n < 0)
		return -1;
	/* the rest, if the socket took only part of it */
	off = (size_t) n;
	while (off < sizeof size + b.len) {
		size_t at = off - sizeof size;
		n = send (sock, b.data + at, b.len - at, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t) n;
	}
	free (b.data);
	return 0;
}

int
main (int argc, char **argv)
{
	const char *path = getenv ("MP_PYSERVE");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char reply[64];
	size_t got = 0;
	int sock, rc;

	if (argc < 2 || path == NULL || *path == '\0' ||
	    strlen (path) >= sizeof addr.sun_path)
		return direct (argv);
	strcpy (addr.sun_path, path);
	sock = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 ||
	    connect (sock, (struct sockaddr *) &addr, sizeof addr) < 0)
		return direct (argv);
	/* a closed standard stream cannot be passed: python3 itself then */
	if (send_request (sock, argc, argv) < 0)
		return direct (argv);
	while (got < sizeof reply - 1) {
		ssize_t n = read (sock, reply + got, sizeof reply - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t) n;
		if (memchr (reply, '\n', got) != NULL)
			break;
	}
	reply[got] = '\0';
	if (strcmp (reply, "fallback\n") == 0) {
		close (sock);
		return direct (argv);
	}
	if (sscanf (reply, "exit %d\n", &rc) == 1)
		return rc;
	fprintf (stderr, "pyrun: no answer from the Python server %s\n", path);
	return 70;
}
