/* SPDX-License-Identifier: Apache-2.0 */
/* The process tests/bench/checkpoint.sh checkpoints:  hog MIB READY CHECK
 * MIB mebibytes of its own memory, every page written with a pattern (no
 * zero page CRIU could skip), then "ready" in the file READY; it waits,
 * and on each SIGUSR1 reads the pattern back and writes "intact" or
 * "corrupt" into the file CHECK (after a restore: the memory came back).
 * Built static on the host and put in the guest's bundle. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t asked;

static void on_usr1(int sig)
{
	(void)sig;
	asked = 1;
}

static int say(const char *path, const char *what)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -1;
	if (write(fd, what, strlen(what)) != (ssize_t)strlen(what)) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int main(int argc, char **argv)
{
	size_t n, i;
	unsigned char *p;
	int bad, fd;

	if (argc != 4)
		return 2;
	n = strtoul(argv[1], NULL, 10) << 20;
	p = malloc(n);
	if (!p)
		return 1;
	/* Its stdio: the container's own /dev/null rather than what the
	 * runtime's caller passed, so that neither runtime has a descriptor
	 * from outside the container to carry through the checkpoint. */
	fd = open("/dev/null", O_RDWR);
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		return 1;
	if (fd > 2)
		close(fd);
	signal(SIGUSR1, on_usr1);
	/* A byte every 64 of them, the page's number: each page differs. */
	for (i = 0; i < n; i += 64)
		p[i] = (unsigned char)(i >> 12);
	if (say(argv[2], "ready\n") < 0)
		return 1;
	for (;;) {
		pause();
		if (!asked)
			continue;
		asked = 0;
		bad = 0;
		for (i = 0; i < n && !bad; i += 64)
			bad = p[i] != (unsigned char)(i >> 12);
		if (say(argv[3], bad ? "corrupt\n" : "intact\n") < 0)
			return 1;
	}
}
