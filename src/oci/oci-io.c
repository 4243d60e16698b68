/* SPDX-License-Identifier: Apache-2.0 */
/* ember oci: a terminal to a --console-socket, or relayed in the foreground. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "oci/oci-internal.h"
#include "util/cleanup.h"
#include "util/err.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int oci_console_connect(const char *path, struct ember_error *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_invalid(e, "--console-socket %.80s: path too long for a unix socket", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(e, errno, "--console-socket %s: socket", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int saved = errno;
		close(fd);
		return err_sys(e, saved, "--console-socket %s", path);
	}
	return fd;
}

int oci_console_send(int sock, int master, struct ember_error *e)
{
	char name[32];
	unsigned n = 0;
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;

	/* The receiver may want the name (runc sends the master's). */
	if (ioctl(master, TIOCGPTN, &n) == 0)
		snprintf(name, sizeof(name), "/dev/pts/%u", n);
	else
		snprintf(name, sizeof(name), "/dev/ptmx");
	struct iovec iov = { name, strlen(name) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	memset(u.b, 0, sizeof(u.b));
	struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &master, sizeof(int));
	ssize_t w;
	while ((w = sendmsg(sock, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	int saved = errno;
	close(sock);
	return w < 0 ? err_sys(e, saved, "--console-socket: send the terminal") : 0;
}

/* Copy what is readable from one descriptor to another; 0 at end. */
static int pump(int from, int to)
{
	char buf[4096];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN) ? 1 : 0;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return 0;
		off += w;
	}
	return 1;
}

static void winsize_copy(int pty)
{
	struct winsize ws;
	if (ioctl(0, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(pty, TIOCSWINSZ, &ws);
}

int oci_wait_foreground(int pidfd, int pty_master)
{
	sigset_t set;
	struct termios saved;
	int raw = 0, pty = pty_master, in_open = pty >= 0;

	sigemptyset(&set);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGCHLD && s != SIGKILL && s != SIGSTOP && s != SIGSEGV && s != SIGBUS && s != SIGILL &&
		    s != SIGFPE && s != SIGTTIN && s != SIGTTOU && s != SIGTSTP && s < SIGRTMIN)
			sigaddset(&set, s);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (pty >= 0 && isatty(0) && tcgetattr(0, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(0, TCSANOW, &t) == 0;
		winsize_copy(pty);
	}
	for (;;) {
		struct pollfd p[4] = {
			{ pidfd, POLLIN, 0 }, { sfd, POLLIN, 0 }, { pty, POLLIN, 0 }, { in_open ? 0 : -1, POLLIN, 0 },
		};
		if (poll(p, 4, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGWINCH && pty >= 0)
					winsize_copy(pty);
				else
					(void)syscall(SYS_pidfd_send_signal, pidfd, (int)si.ssi_signo, NULL, 0);
			}
		}
		if (pty >= 0 && (p[2].revents & (POLLIN | POLLHUP)) && !pump(pty, 1))
			pty = -1; /* the terminal closed: the process is ending */
		if (in_open && (p[3].revents & (POLLIN | POLLHUP)) && !pump(0, pty_master))
			in_open = 0;
		if (p[0].revents & POLLIN)
			break;
	}
	/* What the terminal still holds. */
	while (pty >= 0 && pump(pty, 1) > 0) {
		struct pollfd q = { pty, POLLIN, 0 };
		if (poll(&q, 1, 0) <= 0)
			break;
	}
	if (raw)
		(void)tcsetattr(0, TCSANOW, &saved);
	siginfo_t si = { 0 };
	int status = 255;
	if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) == 0)
		status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	close_keep_errno(sfd);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	return status;
}
