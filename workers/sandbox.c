/*
 * The worker's sandbox: a seccomp filter (libseccomp) installed before the
 * worker takes its first job. A worker reads and writes files in its
 * project's folder and the marker cache and talks to its daemon over
 * stdin/stdout; it has no business with the network, other processes or
 * starting programs, so a decoder bug that an upload manages to exploit
 * cannot reach any of them.
 *
 * The filter is an allow-list: the calls below, which are what a job of
 * every kind makes (docs/daemon.md, "Workers' confinement", says how they
 * were found), and nothing else. Any other call kills the process with
 * SIGSYS; the daemon sees a crashed worker, fails or retries its job, and
 * starts another. So io_uring (which opens and connects sockets without the
 * socket calls), ptrace, process_vm_*, pidfd_*, unshare, bpf, the keyring,
 * perf_event_open, userfaultfd, every socket call, exec and fork are all
 * refused without being named. A few calls are allowed only with given
 * arguments: clone only for a thread, kill and tgkill only for the worker
 * itself, prctl only for a thread to name itself.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/io_uring.h>
#include <seccomp.h>

#include "arcd/worker.h"

/* A call, and the one that stands for it on architectures without the first
 * (aarch64 has no rename, link or unlink: glibc makes the *at call). */
typedef struct allowed_s {
    const char *name;
    const char *or_else;
} allowed_t;

/* What jobs of every kind call, traced on Debian 12 (glibc 2.36, FFmpeg 5.1,
 * libx264, libvpx, libjpeg-turbo, libpng, libheif with libde265 and dav1d,
 * libwebp, lcms2, OpenSSL 3, jansson; docs/daemon.md
 * says how), three calls the code makes that no trace showed: mremap,
 * rt_sigreturn and kill (below), and glibc's calls on its rarer paths
 * (writev, the clocks). Retrace after upgrading any of them. ioctl stays
 * refused: FFmpeg's default logger asks isatty(2) with it, which is why the
 * video stage logs FFmpeg's messages itself (workers/stage_video.c). */
static const allowed_t allowed[] = {
    /* Memory: malloc (mremap: realloc of a large block), the codecs' and the
     * compiler's buffers, thread stacks. */
    {"brk", NULL},
    {"mmap", NULL},
    {"munmap", NULL},
    {"mremap", NULL},
    {"mprotect", NULL},
    {"madvise", NULL},
    /* Files: the job's inputs and outputs (written to a temporary name,
     * synced, renamed), the marker cache (linked, touched), the viewer's
     * template, OpenSSL's configuration, jansson's hash seed (/dev/urandom),
     * the daemon's pipes on stdin and stdout. */
    {"openat", NULL},
    {"close", NULL},
    {"read", NULL},
    {"write", NULL},
    {"lseek", NULL},
    {"newfstatat", NULL},
    {"fcntl", NULL},
    {"fsync", NULL},
    {"rename", "renameat"},
    {"link", "linkat"},
    {"unlink", "unlinkat"},
    {"utimensat", NULL},
    /* Threads (the compiler, libx264, libavcodec) and their locks; the CPU
     * count (sched_getaffinity, sysinfo). clone is allowed below, for
     * threads only. */
    {"futex", NULL},
    {"set_robust_list", NULL},
    {"rseq", NULL},
    {"sched_getaffinity", NULL},
    {"sysinfo", NULL},
    {"exit", NULL},
    {"exit_group", NULL},
    /* Signals: glibc's thread set-up, handlers returning, and abort() and
     * raise(), which signal the calling thread (tgkill below). */
    {"rt_sigaction", NULL},
    {"rt_sigprocmask", NULL},
    {"rt_sigreturn", NULL},
    {"getpid", NULL},
    {"gettid", NULL},
    /* What glibc calls on paths no trace of a healthy job shows: writev, for
     * its fatal messages ("malloc(): corrupted top size", a double free)
     * before it aborts, so that a heap bug ends in SIGABRT and its message,
     * not in SIGSYS; and the clocks, which glibc reads through the vDSO
     * where the host's clock source allows it and by a real call where it
     * does not (some virtual machines): FFmpeg, x264 and the stages' timings
     * read them. */
    {"writev", NULL},
    {"clock_gettime", NULL},
    {"clock_getres", NULL},
    {"gettimeofday", NULL},
    {"time", NULL},
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer's alternate signal stack for each thread; its reports
     * (readlink of /proc/self/exe for the symbolizer). LeakSanitizer's check
     * at exit: it makes the process dumpable for a moment and names a tracer
     * (prctl), starts the tracer with a clone (allowed below), which lists
     * the threads (/proc/self/task: open, getdents), ptraces them and checks
     * on its parent (getppid, sched_yield), then is waited for (wait4).
     * Traced with LeakSanitizer finding a leak and AddressSanitizer an
     * overflow. These builds are tests, never production. */
    {"sigaltstack", NULL},
    {"readlink", "readlinkat"},
    {"prctl", NULL},
    {"open", "openat"},
    {"getdents", "getdents64"},
    {"ptrace", NULL},
    {"getppid", NULL},
    {"sched_yield", NULL},
    {"wait4", NULL},
#endif
};

/* The flags that make clone() something else than a thread of this
 * process: a process of its own, or new namespaces, or a pidfd. */
#define ARC_CLONE_NOT_A_THREAD                                                                     \
    (CLONE_THREAD | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |  \
     CLONE_NEWPID | CLONE_NEWNET | CLONE_PIDFD)

static int add_rules(scmp_filter_ctx ctx)
{
    const scmp_datum_t self = (scmp_datum_t)getpid();
    int rc = 0;

    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && rc == 0; i++) {
        int nr = seccomp_syscall_resolve_name(allowed[i].name);
        if (nr == __NR_SCMP_ERROR && allowed[i].or_else != NULL)
            nr = seccomp_syscall_resolve_name(allowed[i].or_else);
        if (nr == __NR_SCMP_ERROR)
            continue; /* neither is on this architecture */
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    }
    /* Threads, not processes: clone() with CLONE_THREAD and no namespace. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, ARC_CLONE_NOT_A_THREAD, CLONE_THREAD));
#if defined(__SANITIZE_ADDRESS__)
    /* LeakSanitizer's tracer, a process sharing this one's memory: these
     * flags exactly, so that fork() stays refused. */
    if (rc == 0)
        rc = seccomp_rule_add(
            ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
            SCMP_A0(SCMP_CMP_EQ, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED));
#endif
    /* clone3 passes its flags in memory the filter cannot read: glibc makes
     * its threads with clone when clone3 answers ENOSYS. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    /* Signals to itself only: tgkill(own pid, any of its threads), which is
     * what abort() and raise() do, and kill(own pid). Its pid never changes:
     * the worker cannot fork. */
    /* (SCMP_CMP_EQ reads one datum; the second is given for the struct.) */
    if (rc == 0)
        rc =
            seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, SCMP_A0(SCMP_CMP_EQ, self, 0));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                              SCMP_A0(SCMP_CMP_EQ, self, 0));
#if !defined(__SANITIZE_ADDRESS__)
    /* A thread naming itself (dav1d's "dav1d-worker", decoding an AVIF
     * photo): prctl(PR_SET_NAME) only; every other prctl stays refused.
     * (Sanitizer builds allow all of prctl, above.) */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
                              SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME, 0));
#endif
    return rc;
}

int arc_sandbox_enter(arc_err_t *err)
{
    scmp_filter_ctx ctx = NULL;
    int rc;

    /* No core file and no ptrace or /proc/<pid>/mem access by another
     * process of the same user: a worker's memory holds its job. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return arc_err_set(err, ARC_EINTERNAL, "prctl(PR_SET_DUMPABLE): %s", strerror(errno));
    /* No set-uid program could gain anything (nor could one be run): the
     * kernel requires this before an unprivileged process installs a filter. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return arc_err_set(err, ARC_EINTERNAL, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
    ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (ctx == NULL)
        return arc_err_set(err, ARC_EINTERNAL, "seccomp: cannot create a filter");
    /* no_new_privs is set just above; every thread the process has gets the
     * filter; a call of another ABI (i386's int 0x80, x32) kills as well. */
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (rc == 0)
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc == 0)
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc == 0)
        rc = add_rules(ctx);
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc != 0)
        return arc_err_set(err, ARC_EINTERNAL, "seccomp: %s", strerror(-rc));
    return 0;
}

void arc_sandbox_selftest(void)
{
    /* A test hook: ARCD_TEST_FORBIDDEN_CALL names a call the worker makes at
     * its next job, to show that the sandbox kills the worker, not the
     * daemon. */
    const char *call = getenv("ARCD_TEST_FORBIDDEN_CALL");

    if (call == NULL || call[0] == '\0')
        return;
    if (strcmp(call, "socket") == 0) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        fprintf(stderr, "arcd worker: socket() returned %d: the sandbox is off\n", fd);
    } else if (strcmp(call, "execve") == 0) {
        char *const argv[] = {"/bin/true", NULL};
        execv("/bin/true", argv);
        fprintf(stderr, "arcd worker: execv() failed: %s\n", strerror(errno));
    } else if (strcmp(call, "io_uring") == 0) {
        /* The way around the socket calls: a ring whose IORING_OP_SOCKET and
         * IORING_OP_CONNECT never pass through the filter. */
        struct io_uring_params p;
        memset(&p, 0, sizeof(p));
        long fd = syscall(__NR_io_uring_setup, 4, &p);
        fprintf(stderr, "arcd worker: io_uring_setup() returned %ld: the sandbox is off\n", fd);
    }
}
