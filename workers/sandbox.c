/*
 * The worker's sandbox: a seccomp filter (libseccomp) installed before the
 * worker takes its first job. A worker reads and writes files in its
 * project's folder and talks to its daemon over stdin/stdout; it has no
 * business with the network or with starting programs, so a decoder bug
 * that an upload manages to exploit cannot reach either. Calls that would
 * (socket, connect, bind, listen, accept, execve, execveat, fork, vfork,
 * ptrace, process_vm_writev, ...) kill the worker with SIGSYS; the daemon
 * sees a crashed worker, fails or retries its job, and starts another.
 * Threads (clone with CLONE_THREAD) stay allowed: the compiler and x264 use
 * them.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <seccomp.h>

#include "arcd/worker.h"

int arc_sandbox_enter(arc_err_t *err)
{
    static const char *const forbidden[] = {"socket",
                                            "socketpair",
                                            "connect",
                                            "bind",
                                            "listen",
                                            "accept",
                                            "accept4",
                                            "execve",
                                            "execveat",
                                            "fork",
                                            "vfork",
                                            "ptrace",
                                            "process_vm_writev",
                                            "process_vm_readv",
                                            "kexec_load",
                                            "mount",
                                            "umount2",
                                            "pivot_root",
                                            "chroot",
                                            "setuid",
                                            "setgid",
                                            "setreuid",
                                            "setregid",
                                            "setresuid",
                                            "setresgid",
                                            "init_module",
                                            "finit_module",
                                            "delete_module",
                                            NULL};
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    int rc = 0;

    if (ctx == NULL)
        return arc_err_set(err, ARC_EINTERNAL, "seccomp: cannot create a filter");
    for (const char *const *name = forbidden; *name != NULL && rc == 0; name++) {
#if defined(__SANITIZE_ADDRESS__)
        /* LeakSanitizer stops the world with ptrace at exit. */
        if (strcmp(*name, "ptrace") == 0)
            continue;
#endif
        int nr = seccomp_syscall_resolve_name(*name);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not on this architecture */
        rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, nr, 0);
    }
    /* clone() without CLONE_THREAD makes a process: that is forbidden too
     * (but LeakSanitizer's stop-the-world task is such a clone). */
#if !defined(__SANITIZE_ADDRESS__)
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
#endif
    /* clone3 passes its flags in memory the filter cannot read: make glibc
     * fall back to clone (it does on ENOSYS). */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
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
    }
}
