/* SPDX-License-Identifier: Apache-2.0 */
/* ember daemon / emberd: start-up, signals, reload, shutdown. */
#include "daemon/daemon.h"

#include <errno.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <stddef.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/check.h"
#include "daemon/containers.h"
#include "daemon/holds.h"
#include "daemon/images.h"
#include "daemon/jobs.h"
#include "daemon/networks.h"
#include "daemon/gc-policy.h"
#include "daemon/preload.h"
#include "daemon/revisions.h"
#include "daemon/tasks.h"
#include "daemon/verify.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/record.h"
#include "util/timestamp.h"
#include "util/version.h"

struct flags {
	const char *config;
	const char *root;
	const char *state;
	const char *address;
	const char *group;
	const char *level;
	const char *log;
	const char *pidfile;
	int notify_fd;
};

static const char usage[] =
	"Usage: ember daemon [OPTIONS]   (also: emberd [OPTIONS])\n"
	"\n"
	"Run the ember daemon in the foreground: it owns the store and serves the\n"
	"API on a unix socket. SIGTERM or SIGINT stop it; SIGHUP reloads the config.\n"
	"\n"
	"Options (they override the config file):\n"
	"  -c, --config FILE     config file (default " CONFIG_DEFAULT_CONFIG ")\n"
	"      --root DIR        persistent store (default " CONFIG_DEFAULT_ROOT ")\n"
	"      --state DIR       runtime state (default " CONFIG_DEFAULT_STATE ")\n"
	"  -a, --address PATH    API socket (default " CONFIG_DEFAULT_ADDRESS ")\n"
	"      --group GROUP     group allowed to use the API (name or number)\n"
	"  -l, --log-level LVL   debug, info, warn or error (default info)\n"
	"      --log TARGET      stderr (timestamped lines) or syslog\n"
	"      --pidfile FILE    write the daemon's PID there once it is ready\n"
	"      --notify-fd FD    write a newline to FD once ready, then close it\n"
	"  -h, --help            this help\n"
	"\n"
	"Readiness: once the socket accepts calls, the daemon writes --pidfile,\n"
	"writes to --notify-fd, and sends READY=1 to $NOTIFY_SOCKET when set.\n";

static int parse_flags(int argc, char **argv, struct flags *f)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, 'R' },
		{ "state", required_argument, NULL, 'S' },
		{ "address", required_argument, NULL, 'a' },
		{ "group", required_argument, NULL, 'G' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "log", required_argument, NULL, 'L' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ "notify-fd", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	char *end;

	memset(f, 0, sizeof(*f));
	f->notify_fd = -1;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":c:a:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': f->config = optarg; break;
		case 'R': f->root = optarg; break;
		case 'S': f->state = optarg; break;
		case 'a': f->address = optarg; break;
		case 'G': f->group = optarg; break;
		case 'l': f->level = optarg; break;
		case 'L': f->log = optarg; break;
		case 'P': f->pidfile = optarg; break;
		case 'N':
			errno = 0;
			f->notify_fd = (int)strtol(optarg, &end, 10);
			if (*end || errno || f->notify_fd < 3) {
				fprintf(stderr, "ember daemon: --notify-fd needs a descriptor number above 2, not \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			fprintf(stderr, "ember daemon: option %s needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "ember daemon: unknown option %s (see ember daemon --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ember daemon: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	return -1;
}

/* The config file, then the flags over it. */
static int load_settings(const struct flags *f, struct daemon_config *cfg, struct ember_error *e)
{
	const char *path = f->config ? f->config : CONFIG_DEFAULT_CONFIG;
	int r = config_load(cfg, path, f->config != NULL, e);

	if (r < 0)
		return r;
	const struct {
		const char *flag, *name;
		char **field;
	} paths[] = {
		{ f->root, "--root", &cfg->root },
		{ f->state, "--state", &cfg->state },
		{ f->address, "--address", &cfg->address },
		{ f->group, "--group", &cfg->group },
	};
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		if (!paths[i].flag)
			continue;
		if (!*paths[i].flag || (paths[i].field != &cfg->group && paths[i].flag[0] != '/')) {
			config_done(cfg);
			return err_set(e, EINVAL, "%s must be an absolute path, not \"%s\"", paths[i].name,
				       paths[i].flag);
		}
		free(*paths[i].field);
		*paths[i].field = strdup(paths[i].flag);
	}
	/* Refuse before creating any directory for it. */
	if (strlen(cfg->address) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		size_t n = strlen(cfg->address);
		config_done(cfg);
		return err_set(e, ENAMETOOLONG, "socket path is %zu bytes, longer than the limit of %zu",
			       n, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	}
	if (f->level && log_level_parse(f->level, &cfg->level) < 0) {
		config_done(cfg);
		return err_set(e, EINVAL, "--log-level: unknown level \"%s\" (debug, info, warn, error)", f->level);
	}
	if (f->log) {
		if (strcmp(f->log, "syslog") && strcmp(f->log, "stderr")) {
			config_done(cfg);
			return err_set(e, EINVAL, "--log must be stderr or syslog, not \"%s\"", f->log);
		}
		cfg->use_syslog = !strcmp(f->log, "syslog");
	}
	if (cfg->group) {
		gid_t gid;
		if (config_group_resolve(cfg->group, &gid, e) < 0) {
			config_done(cfg);
			return -e->code;
		}
	}
	return 0;
}

const char *daemon_namespace(const char *ns)
{
	return ns && *ns ? ns : "default";
}

static void log_warnings(struct daemon *d, const struct daemon_config *cfg)
{
	const char *p = cfg->warnings;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);
		log_warn(&d->log, "%.*s", n, p);
		p += n + (nl ? 1 : 0);
	}
}

static int apply_logging(struct daemon *d, const struct daemon_config *cfg, struct ember_error *e)
{
	d->log.level = cfg->level;
	return log_set_syslog(&d->log, cfg->use_syslog, e);
}

/* Whether the daemon whose pid the lock file holds (text) is gone: no
   such process, or a zombie. */
static int holder_gone(const char *text)
{
	char path[64], st[256];
	char *end;
	long pid = strtol(text, &end, 10);

	if (end == text || pid <= 0)
		return 0;
	if (kill((pid_t)pid, 0) < 0)
		return errno == ESRCH;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, st, sizeof(st) - 1);
	st[n > 0 ? n : 0] = '\0';
	const char *paren = strrchr(st, ')');
	return paren && paren[1] == ' ' && paren[2] == 'Z';
}

/* One daemon per root: the lock is held for the daemon's lifetime. A
   daemon killed (kill -9) while it started tasks leaves children that
   share its lock's open file until they exec or exit, a moment later:
   when the daemon that wrote its pid there is gone, wait for them (up to
   5 s) rather than refuse. */
static int lock_root(struct daemon *d, struct ember_error *e)
{
	d->lock_fd = openat(d->root_fd, "ember.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (d->lock_fd < 0)
		return err_sys(e, errno, "open %s/ember.lock", d->cfg.root);
	for (int tries = 0; flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0; tries++) {
		char buf[32] = "";
		int code = errno;
		if (code != EWOULDBLOCK)
			return err_sys(e, code, "lock %s/ember.lock", d->cfg.root);
		ssize_t n = pread(d->lock_fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (tries < 100 && holder_gone(buf)) {
			(void)usleep(50 * 1000);
			continue;
		}
		return err_set_name(e, EMBER_ERROR_ALREADY_EXISTS, EBUSY,
				    "root %s is in use by another ember daemon (pid %s, lock %s/ember.lock)",
				    d->cfg.root, buf[0] ? buf : "unknown", d->cfg.root);
	}
	char pid[32];
	int len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(d->lock_fd, 0) < 0 || pwrite(d->lock_fd, pid, (size_t)len, 0) != len)
		return err_sys(e, errno, "write %s/ember.lock", d->cfg.root);
	return 0;
}

static void notify_ready(struct daemon *d, const struct flags *f)
{
	if (f->notify_fd >= 0) {
		if (write(f->notify_fd, "\n", 1) < 0)
			log_warn(&d->log, "--notify-fd %d: %s", f->notify_fd, strerror(errno));
		close(f->notify_fd);
	}
	const char *sock = getenv("NOTIFY_SOCKET");
	if (sock && (sock[0] == '/' || sock[0] == '@') && strlen(sock) < sizeof(((struct sockaddr_un *)0)->sun_path)) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sock));
		memcpy(sa.sun_path, sock, strlen(sock));
		if (sa.sun_path[0] == '@')
			sa.sun_path[0] = '\0'; /* abstract socket */
		_cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
			log_warn(&d->log, "NOTIFY_SOCKET %s: %s", sock, strerror(errno));
	}
}

struct reload_ctx {
	struct daemon *d;
	const struct flags *flags;
};

/* SIGHUP: re-read the file. Level, log target and group apply at once;
   paths need a restart, because tasks and clients depend on them. */
static void reload(struct daemon *d, const struct flags *flags)
{
	struct daemon_config cfg;
	struct ember_error e;
	gid_t gid = 0;

	if (load_settings(flags, &cfg, &e) < 0) {
		log_error(&d->log, "reload: %s (keeping the running configuration)", e.message);
		return;
	}
	log_warnings(d, &cfg);
	const struct {
		const char *name, *now, *next;
	} fixed[] = {
		{ "root", d->cfg.root, cfg.root },
		{ "state", d->cfg.state, cfg.state },
		{ "api.address", d->cfg.address, cfg.address },
	};
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		if (strcmp(fixed[i].now, fixed[i].next))
			log_warn(&d->log, "reload: %s changed to %s: takes effect after a restart",
				 fixed[i].name, fixed[i].next);
	if (apply_logging(d, &cfg, &e) < 0)
		log_error(&d->log, "reload: %s", e.message);
	if (cfg.group && config_group_resolve(cfg.group, &gid, &e) < 0)
		log_error(&d->log, "reload: %s", e.message);
	else if (server_set_group(d->server, gid, cfg.group != NULL, &e) < 0)
		log_error(&d->log, "reload: %s", e.message);
	free(d->cfg.group);
	d->cfg.group = cfg.group ? strdup(cfg.group) : NULL;
	d->cfg.level = cfg.level;
	d->cfg.use_syslog = cfg.use_syslog;
	/* Registry settings are read by each pull: they apply at once. */
	free(d->cfg.certs_dir);
	d->cfg.certs_dir = TAKE_PTR(cfg.certs_dir);
	free(d->cfg.docker_config);
	d->cfg.docker_config = TAKE_PTR(cfg.docker_config);
	d->cfg.stall_timeout_s = cfg.stall_timeout_s;
	free(d->cfg.auths);
	d->cfg.auths = TAKE_PTR(cfg.auths);
	/* [gc]: the next pass takes it (a running one has its copy). */
	d->cfg.gc = cfg.gc;
	/* [revisions] keep: the next commit's. */
	d->cfg.revisions_keep = cfg.revisions_keep;
	if (gc_policy_reconfigure(d, &e) < 0)
		log_error(&d->log, "reload: gc policy: %s", e.message);
	config_done(&cfg);
	log_info(&d->log, "configuration reloaded (log level %s)", log_level_name(d->log.level));
}

static void on_signal(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct reload_ctx *rc = userdata;

	(void)s;
	if (si->ssi_signo == SIGHUP) {
		reload(rc->d, rc->flags);
		return;
	}
	log_info(&rc->d->log, "received %s, shutting down", strsignal((int)si->ssi_signo));
	loop_exit(rc->d->loop, 0);
}

static int write_pidfile(const char *path, struct ember_error *e)
{
	char pid[32];
	int len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());

	return fs_write_path(path, pid, (size_t)len, 0644, e) < 0 ? err_wrap(e, "pidfile") : 0;
}

static int daemon_start(struct daemon *d, const struct flags *flags, struct reload_ctx *rc,
			struct ember_error *e)
{
	struct meta_recovery rec;
	sigset_t set;
	gid_t gid = 0;

	if (fs_mkdir_p(d->cfg.root, 0711, e) < 0 || fs_mkdir_p(d->cfg.state, 0711, e) < 0)
		return -e->code;
	d->root_fd = open(d->cfg.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->root_fd < 0)
		return err_sys(e, errno, "open root %s", d->cfg.root);
	if (lock_root(d, e) < 0)
		return -e->code;

	uint64_t t0 = loop_now_ms();
	if (meta_open(&d->meta, d->root_fd, e) < 0 || meta_recover(&d->meta, &rec, e) < 0)
		return err_wrap(e, "root %s", d->cfg.root);
	log_info(&d->log, "recovery: removed %u unfinished record(s) in %llu ms", rec.removed_tmp,
		 (unsigned long long)(loop_now_ms() - t0));

	d->loop = loop_new(e);
	if (!d->loop)
		return -e->code;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	rc->d = d;
	rc->flags = flags;
	if (!loop_add_signals(d->loop, &set, on_signal, rc, e))
		return -e->code;
	if (!(d->jobs = jobs_new(d->loop, e)))
		return -e->code;
	/* Two setting up per CPU: enough to overlap one's waits (fsync, the
	   child's exec) with another's work. */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	job_slots_init(&d->start_slots, 2 * (unsigned)(cpus > 0 ? cpus : 1));
	if (!(d->holds = holds_new()) || !(d->containers_busy = json_object()) || !(d->revisions_busy = json_object()))
		return err_set(e, ENOMEM, "out of memory");
	if (verify_start(d, e) < 0)
		return -e->code;
	if (images_start(d, e) < 0)
		return err_wrap(e, "root %s", d->cfg.root);
	if (ENABLED(CONFIG_RUNTIME_DAEMON) && (containers_recover(d, e) < 0 || tasks_start(d, e) < 0))
		return -e->code;
	/* After the tasks' adoption: the links and NAT of the running ones. */
	if (networks_start(d, e) < 0)
		return -e->code;
	/* An apply a crash or power cut interrupted is rolled back. */
	if (revisions_recover(d, e) < 0)
		return -e->code;
	/* Records against the store, in a job: its findings are logged. */
	system_check(d, NULL, 0, 0);
	preload_start(d);
	if (gc_policy_start(d, e) < 0)
		return -e->code;

	struct server_limits limits = {
		.max_message = (size_t)CONFIG_API_MAX_MESSAGE_KIB * 1024,
		.max_output = (size_t)CONFIG_API_MAX_OUTPUT_KIB * 1024,
		.max_connections = CONFIG_API_MAX_CONNECTIONS,
		.read_timeout_ms = CONFIG_API_READ_TIMEOUT * 1000u,
	};
	d->server = server_new(d->loop, &d->log, &limits, d, e);
	if (!d->server)
		return -e->code;
	if (d->cfg.group && config_group_resolve(d->cfg.group, &gid, e) < 0)
		return -e->code;
	_cleanup_free_ char *sockdir = strdup(d->cfg.address);
	if (!sockdir)
		return err_set(e, ENOMEM, "out of memory");
	char *slash = strrchr(sockdir, '/');
	if (slash && slash != sockdir) {
		*slash = '\0';
		if (fs_mkdir_p(sockdir, 0711, e) < 0)
			return -e->code;
	}
	if (server_listen(d->server, d->cfg.address, gid, d->cfg.group != NULL, e) < 0)
		return -e->code;
	if (flags->pidfile) {
		if (write_pidfile(flags->pidfile, e) < 0)
			return -e->code;
		d->wrote_pidfile = 1;
	}
	return 0;
}

/* How long shutdown waits for jobs to see that they are cancelled. */
#define DAEMON_STOP_JOBS_MS 5000

static void daemon_stop(struct daemon *d, const struct flags *flags)
{
	if (d->loop)
		events_shutdown(d);
	/* The server first: it cancels calls waiting on tasks and jobs. */
	d->server = server_free(d->server);
	pulls_shutdown(d);
	revisions_shutdown(d);
	unsigned left = jobs_stop(d->jobs, DAEMON_STOP_JOBS_MS);
	if (left)
		log_warn(&d->log, "%u job(s) did not stop in %u ms: leaving them to the exit", left, DAEMON_STOP_JOBS_MS);
	/* Only ours: a daemon refused by the lock must not remove the pidfile
	   of the one that holds it. */
	if (d->wrote_pidfile)
		(void)unlink(flags->pidfile);
	if (left) {
		/* Their threads still use the stores, the configuration and the
		   lock: all of it stays until the process exits, right after. */
		log_info(&d->log, "stopped");
		return;
	}
	gc_policy_stop(d);
	if (ENABLED(CONFIG_RUNTIME_DAEMON))
		tasks_stop(d);
	networks_stop(d);
	images_stop(d);
	verify_stop(d);
	jobs_free(d->jobs);
	job_slots_done(&d->start_slots);
	holds_free(d->holds);
	json_decref(d->revisions_busy);
	json_decref(d->containers_busy);
	d->jobs = NULL;
	d->holds = NULL;
	d->containers_busy = NULL;
	d->revisions_busy = NULL;
	d->loop = loop_free(d->loop);
	if (d->meta.dir_fd >= 0)
		meta_close(&d->meta);
	close_keep_errno(d->lock_fd); /* releases the lock */
	close_keep_errno(d->root_fd);
	config_done(&d->cfg);
	log_info(&d->log, "stopped");
	(void)log_set_syslog(&d->log, 0, &(struct ember_error){ 0 });
}

int daemon_main(int argc, char **argv)
{
	struct daemon d = { .root_fd = -1, .lock_fd = -1, .meta = { .dir_fd = -1 }, .tasks_fd = -1, .self_fd = -1 };
	struct reload_ctx rc;
	struct flags flags;
	struct ember_error e;
	int r;

	r = parse_flags(argc, argv, &flags);
	if (r >= 0)
		return r;
	d.log.level = LOG_LEVEL_INFO;
	signal(SIGPIPE, SIG_IGN);
	/* Many clients, pulls and unpack workers at once (a deep layer's tree
	   copy holds descriptors per level): the soft limit of 1024 is too low
	   for a daemon; take what the hard limit allows, up to 65536. */
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < 65536 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max < 65536 ? nofile.rlim_max : 65536;
		(void)setrlimit(RLIMIT_NOFILE, &nofile);
	}

	if (load_settings(&flags, &d.cfg, &e) < 0) {
		fprintf(stderr, "ember daemon: %s\n", e.message);
		return 1;
	}
	if (apply_logging(&d, &d.cfg, &e) < 0) {
		fprintf(stderr, "ember daemon: %s\n", e.message);
		config_done(&d.cfg);
		return 1;
	}
	log_warnings(&d, &d.cfg);
	d.start_ms = loop_now_ms();
	timestamp_now(d.started_at);

	if (daemon_start(&d, &flags, &rc, &e) < 0) {
		log_error(&d.log, "%s", e.message);
		daemon_stop(&d, &flags);
		return 1;
	}
	log_info(&d.log, "ember %s (%s) ready: root %s, state %s, socket %s, pid %d", EMBER_VERSION,
		 EMBER_REVISION, d.cfg.root, d.cfg.state, d.cfg.address, (int)getpid());
	notify_ready(&d, &flags);

	r = loop_run(d.loop, &e);
	if (r < 0)
		log_error(&d.log, "%s", e.message);
	daemon_stop(&d, &flags);
	return r < 0 ? 1 : 0;
}
