/* client.c — jgwctl's side of the control socket: send one request line,
 * copy the answer's data lines out, and report its status line. */
#include "gateway/control/control.h"
#include "filters/base/fdio.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CALL_TIMEOUT_MS 30000
#define ANSWER_MAX ((size_t)4 * 1024 * 1024)

static int connect_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(err, errlen, "cannot reach jgwd at %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Read the whole answer (the server closes after it). */
static char *read_answer(int fd, size_t *len, char *err, size_t errlen)
{
	size_t cap = 4096, used = 0;
	char *buf = malloc(cap);

	while (buf) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int pr = poll(&pfd, 1, CALL_TIMEOUT_MS);

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			snprintf(err, errlen, "no answer from jgwd within %d s", CALL_TIMEOUT_MS / 1000);
			break;
		}
		if (used + 1 >= cap) {
			char *nb = cap >= ANSWER_MAX ? NULL : realloc(buf, cap * 2);

			if (!nb) {
				snprintf(err, errlen, "answer too long");
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + used, cap - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "reading the answer: %s", strerror(errno));
			break;
		}
		if (n == 0) {
			buf[used] = '\0';
			*len = used;
			return buf;
		}
		used += (size_t)n;
	}
	free(buf);
	return NULL;
}

int control_call(const char *path, const char *line, int out_fd, int err_fd,
		 char *err, size_t errlen)
{
	size_t len = 0;
	char *ans, *last;
	int fd = connect_unix(path, err, errlen), rc;

	if (fd < 0)
		return -1;
	if (!fd_write_all(fd, line, strlen(line))) {
		snprintf(err, errlen, "sending the request: %s", strerror(errno));
		close(fd);
		return -1;
	}
	shutdown(fd, SHUT_WR);
	ans = read_answer(fd, &len, err, errlen);
	close(fd);
	if (!ans)
		return -1;
	if (len == 0 || ans[len - 1] != '\n') {
		snprintf(err, errlen, "malformed answer from jgwd (no status line)");
		free(ans);
		return -1;
	}
	ans[len - 1] = '\0';
	last = strrchr(ans, '\n');
	last = last ? last + 1 : ans;
	if (last > ans && !fd_write_all(out_fd, ans, (size_t)(last - ans))) {
		free(ans);
		snprintf(err, errlen, "writing the answer: %s", strerror(errno));
		return -1;
	}
	if (strcmp(last, "ok") == 0) {
		rc = 0;
	} else if (strncmp(last, "error ", 6) == 0) {
		dprintf(err_fd, "jgwctl: %s\n", last + 6);
		rc = 1;
	} else {
		snprintf(err, errlen, "malformed status line from jgwd");
		rc = -1;
	}
	free(ans);
	return rc;
}

