/*
 * Tests for workers/sandbox.c: a process that entered arc_sandbox_enter() is
 * killed by SIGSYS for every call outside the allow-list that could reach the
 * network, another process or a new program (io_uring included), and lives
 * on through what a job does (threads, files, signals to itself, a photo
 * decoded).
 *
 * Each probe runs in a grandchild: the test forks a "parent" standing for
 * the daemon, which forks the child that enters the sandbox and then makes
 * its one call, aimed at that parent where it can be. The parent reports how
 * the child ended; the test sees whether the parent itself survived.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>

#include "../test.h"
#include "arcd/image.h"
#include "arcd/worker.h"

/* What the child knows before it enters the sandbox. */
typedef struct probe_s {
    pid_t parent;    /* the process standing for the daemon */
    int parent_fd;   /* a descriptor the parent holds and the child does not */
    int pidfd;       /* the parent's pidfd, opened before the sandbox (-1 if none) */
    int sock;        /* a socket made before the sandbox (-1 if none) */
    void *ring;      /* an io_uring made before the sandbox (NULL if none) */
    pthread_t early; /* a thread started before the sandbox */
    int early_go;    /* written to let that thread make its call */
    char dir[64];    /* a folder of its own for files */
} probe_t;

typedef void (*probe_fn)(probe_t *p);

/* What the child sets up before it enters the sandbox, besides its folder. */
enum {
    SETUP_NOTHING = 0,
    SETUP_PIDFD = 1,  /* p->pidfd */
    SETUP_SOCKET = 2, /* p->sock */
    SETUP_RING = 4,   /* p->ring */
    SETUP_THREAD = 8  /* p->early */
};

/* How a probe ended. */
typedef struct outcome_s {
    int status;       /* the child's wait status; -1 if the parent never said */
    int parent_alive; /* the parent survived to report it */
} outcome_t;

static const char *describe(int status)
{
    static char s[64];

    if (status == -1)
        return "no report (the parent died)";
    if (WIFSIGNALED(status))
        snprintf(s, sizeof(s), "killed by signal %d", WTERMSIG(status));
    else
        snprintf(s, sizeof(s), "exited with %d", WEXITSTATUS(status));
    return s;
}

/* ---- a minimal io_uring, without liburing ---- */

typedef struct ring_s {
    int fd;
    unsigned *sq_tail, *sq_mask, *sq_array;
    unsigned *cq_head, *cq_tail, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
} ring_t;

/* Returns 0 or -errno (io_uring may be off for this process or machine). */
static int ring_open(ring_t *r)
{
    struct io_uring_params p;

    memset(&p, 0, sizeof(p));
    memset(r, 0, sizeof(*r));
    r->fd = (int)syscall(__NR_io_uring_setup, 4, &p);
    if (r->fd < 0)
        return -errno;
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    uint8_t *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                       IORING_OFF_SQ_RING);
    uint8_t *cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                       IORING_OFF_CQ_RING);
    r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED) {
        close(r->fd);
        return -ENOMEM;
    }
    r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
    r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
    r->sq_array = (unsigned *)(sq + p.sq_off.array);
    r->cq_head = (unsigned *)(cq + p.cq_off.head);
    r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
    r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
    return 0;
}

/* IORING_OP_SOCKET: a TCP socket made by the ring, not by socket(). Returns
 * its descriptor or -errno. */
static int ring_socket(ring_t *r)
{
    unsigned tail = *r->sq_tail, idx = tail & *r->sq_mask;
    struct io_uring_sqe *sqe = &r->sqes[idx];

    memset(sqe, 0, sizeof(*sqe));
    sqe->opcode = IORING_OP_SOCKET;
    sqe->fd = AF_INET;
    sqe->off = SOCK_STREAM;
    r->sq_array[idx] = idx;
    __atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
    if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
        return -errno;
    unsigned head = *r->cq_head;
    if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
        return -EAGAIN;
    int res = r->cqes[head & *r->cq_mask].res;
    __atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
    return res;
}

/* ---- running a probe ---- */

static void *early_thread(void *arg)
{
    probe_t *p = arg;

    while (!__atomic_load_n(&p->early_go, __ATOMIC_ACQUIRE))
        sched_yield();
    /* This thread predates the filter: it must have it all the same. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    _exit(fd >= 0 ? 0 : 1);
    return NULL;
}

/* Forks the parent, which forks the child; the child gets ready (setup),
 * enters the sandbox and runs probe; exiting 0 means it made its call and
 * lived. Waits at most 20 s. */
static outcome_t run_probe(probe_fn probe, int setup)
{
    outcome_t out = {.status = -1, .parent_alive = 0};
    char dir[] = "/tmp/arcd-sandbox-XXXXXX";
    int report[2];

    if (mkdtemp(dir) == NULL || pipe(report) != 0)
        return out;
    pid_t parent = fork();
    if (parent == 0) {
        /* The parent: a process group of its own, for the clean-up. */
        setpgid(0, 0);
        close(report[0]);
        int fd = open("/dev/null", O_RDONLY);
        pid_t child = fork();
        if (child == 0) {
            probe_t p;
            memset(&p, 0, sizeof(p));
            p.parent = getppid();
            p.parent_fd = fd;
            p.pidfd = -1;
            p.sock = -1;
            close(fd); /* the child must fetch it from its parent */
            snprintf(p.dir, sizeof(p.dir), "%s", dir);
            if (setup & SETUP_PIDFD)
                p.pidfd = (int)syscall(SYS_pidfd_open, p.parent, 0);
            if (setup & SETUP_SOCKET)
                p.sock = socket(AF_INET, SOCK_STREAM, 0);
            static ring_t ring;
            if ((setup & SETUP_RING) && ring_open(&ring) == 0)
                p.ring = &ring;
            if (setup & SETUP_THREAD)
                pthread_create(&p.early, NULL, early_thread, &p);
            arc_err_t err = {{0}};
            if (arc_sandbox_enter(&err) != 0) {
                fprintf(stderr, "arc_sandbox_enter: %s\n", err.msg);
                _exit(91);
            }
            probe(&p);
            _exit(0);
        }
        int status = -1;
        while (child > 0 && waitpid(child, &status, 0) < 0 && errno == EINTR)
            ;
        if (write(report[1], &status, sizeof(status)) != (ssize_t)sizeof(status))
            _exit(2);
        _exit(0);
    }
    close(report[1]);
    if (parent < 0) {
        close(report[0]);
        rmdir(dir);
        return out;
    }
    struct pollfd pfd = {.fd = report[0], .events = POLLIN};
    int said = poll(&pfd, 1, 20000) == 1 &&
               read(report[0], &out.status, sizeof(out.status)) == (ssize_t)sizeof(out.status);
    close(report[0]);
    if (!said) {
        out.status = -1;
        kill(-parent, SIGKILL); /* stuck (or dead, then this does nothing) */
    }
    int pstatus = 0;
    waitpid(parent, &pstatus, 0);
    kill(-parent, SIGKILL); /* a child whose call went through, still there */
    out.parent_alive = WIFEXITED(pstatus) && WEXITSTATUS(pstatus) == 0;
    /* What a probe leaves when it fails half-way (do_files()'s files, the
     * video stage's upload and temporary outputs). */
    DIR *d = opendir(dir);
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
        char path[384];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(dir);
    return out;
}

/* The call must kill the child with SIGSYS, and the parent must live. */
#define CHECK_KILLED(probe, setup)                                                                 \
    do {                                                                                           \
        outcome_t o_ = run_probe(probe, setup);                                                    \
        CHECK_MSG(o_.status != -1 && WIFSIGNALED(o_.status) && WTERMSIG(o_.status) == SIGSYS,      \
                  "%s: the child was %s, not killed by SIGSYS", #probe, describe(o_.status));      \
        CHECK_MSG(o_.parent_alive, "%s: the parent did not survive", #probe);                      \
    } while (0)

/* The child must do its work and exit 0. */
#define CHECK_LIVES(probe, setup)                                                                  \
    do {                                                                                           \
        outcome_t o_ = run_probe(probe, setup);                                                    \
        CHECK_MSG(o_.status != -1 && WIFEXITED(o_.status) && WEXITSTATUS(o_.status) == 0,          \
                  "%s: the child was %s, it should have lived", #probe, describe(o_.status));      \
    } while (0)

/* ---- forbidden: each kills the child ---- */

static void do_io_uring_setup(probe_t *p)
{
    ring_t r;
    (void)p;
    ring_open(&r);
}

static void do_io_uring_socket(probe_t *p)
{
    /* A ring made before the sandbox: submitting to it is refused too. */
    if (p->ring == NULL)
        _exit(92);
    ring_socket(p->ring);
}

static void do_pidfd_open(probe_t *p)
{
    syscall(SYS_pidfd_open, p->parent, 0);
}

static void do_pidfd_getfd(probe_t *p)
{
    /* What took a parent's listening socket (issue row 3). */
    syscall(SYS_pidfd_getfd, p->pidfd, p->parent_fd, 0);
}

static void do_pidfd_send_signal(probe_t *p)
{
    syscall(SYS_pidfd_send_signal, p->pidfd, SIGTERM, NULL, 0);
}

static void do_kill_parent_probe(probe_t *p)
{
    kill(p->parent, 0);
}

static void do_kill_parent(probe_t *p)
{
    kill(p->parent, SIGTERM);
}

static void do_kill_group(probe_t *p)
{
    (void)p;
    kill(0, 0);
}

static void do_tgkill_parent(probe_t *p)
{
    syscall(SYS_tgkill, p->parent, p->parent, SIGTERM);
}

#if !defined(__SANITIZE_ADDRESS__)
static void do_ptrace_attach(probe_t *p)
{
    if (ptrace(PTRACE_ATTACH, p->parent, NULL, NULL) == 0) {
        waitpid(p->parent, NULL, __WALL);
        ptrace(PTRACE_DETACH, p->parent, NULL, NULL);
    }
}
#endif

static int secret = 42;

static void do_process_vm_readv(probe_t *p)
{
    int got = 0;
    struct iovec local = {.iov_base = &got, .iov_len = sizeof(got)};
    struct iovec remote = {.iov_base = &secret, .iov_len = sizeof(secret)};
    process_vm_readv(p->parent, &local, 1, &remote, 1, 0);
}

static void do_socket(probe_t *p)
{
    (void)p;
    socket(AF_INET, SOCK_STREAM, 0);
}

static void do_socketpair(probe_t *p)
{
    int sv[2];
    (void)p;
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
}

static void do_connect_inherited(probe_t *p)
{
    /* A socket made before the filter cannot be used either. */
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(p->sock, (struct sockaddr *)&a, sizeof(a));
}

static void do_sendto_inherited(probe_t *p)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sendto(p->sock, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&a, sizeof(a));
}

static void do_unshare(probe_t *p)
{
    (void)p;
    unshare(CLONE_NEWUSER);
}

static void do_setns(probe_t *p)
{
    (void)p;
    int fd = open("/proc/self/ns/net", O_RDONLY);
    setns(fd, CLONE_NEWNET);
}

static void do_bpf(probe_t *p)
{
    char attr[128] = {0};
    (void)p;
    syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, attr, sizeof(attr));
}

static void do_perf_event_open(probe_t *p)
{
    struct perf_event_attr attr;
    (void)p;
    memset(&attr, 0, sizeof(attr));
    attr.type = PERF_TYPE_SOFTWARE;
    attr.size = sizeof(attr);
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
}

static void do_userfaultfd(probe_t *p)
{
    (void)p;
    syscall(SYS_userfaultfd, 0);
}

static void do_keyctl(probe_t *p)
{
    (void)p;
    syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
}

#if !defined(__SANITIZE_ADDRESS__)
static void do_prctl_dumpable(probe_t *p)
{
    (void)p;
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0); /* only PR_SET_NAME is allowed */
}
#endif

static void do_add_key(probe_t *p)
{
    (void)p;
    syscall(SYS_add_key, "user", "arcd-test", "x", 1, -3);
}

static void do_execve(probe_t *p)
{
    char *const argv[] = {"/bin/true", NULL};
    (void)p;
    execv("/bin/true", argv);
}

static void do_fork(probe_t *p)
{
    (void)p;
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
}

static void do_vfork(probe_t *p)
{
    (void)p;
    syscall(SYS_vfork);
}

static void do_clone_newns_thread(probe_t *p)
{
    /* Thread flags plus a new namespace: not a plain thread. */
    (void)p;
    syscall(SYS_clone, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD | CLONE_NEWNET, NULL, NULL, NULL, 0);
}

static void do_mount(probe_t *p)
{
    syscall(SYS_mount, "none", p->dir, "tmpfs", 0, NULL);
}

static void do_early_thread(probe_t *p)
{
    __atomic_store_n(&p->early_go, 1, __ATOMIC_RELEASE);
    pthread_join(p->early, NULL);
}

TEST(test_sandbox_refuses_io_uring)
{
    /* The bypass, shown without the sandbox: the ring makes a socket
     * where socket() would have been killed. */
    ring_t r;
    int rc = ring_open(&r);
    if (rc == 0) {
        int fd = ring_socket(&r);
        printf("io_uring here: IORING_OP_SOCKET gives %d without the sandbox\n", fd);
        if (fd >= 0)
            close(fd);
        close(r.fd);
    } else {
        printf("io_uring is off here (%s): only io_uring_setup's refusal is shown\n",
               strerror(-rc));
    }
    /* Refused by the filter before the kernel looks at it: killed even where
     * io_uring is disabled (io_uring_disabled, no permission). */
    CHECK_KILLED(do_io_uring_setup, SETUP_NOTHING);
    if (rc == 0)
        CHECK_KILLED(do_io_uring_socket, SETUP_RING);
}

TEST(test_sandbox_refuses_touching_the_parent)
{
    CHECK_KILLED(do_pidfd_open, SETUP_NOTHING);
    CHECK_KILLED(do_pidfd_getfd, SETUP_PIDFD);
    CHECK_KILLED(do_pidfd_send_signal, SETUP_PIDFD);
    CHECK_KILLED(do_kill_parent_probe, SETUP_NOTHING);
    CHECK_KILLED(do_kill_parent, SETUP_NOTHING);
    CHECK_KILLED(do_kill_group, SETUP_NOTHING);
    CHECK_KILLED(do_tgkill_parent, SETUP_NOTHING);
#if !defined(__SANITIZE_ADDRESS__)
    /* LeakSanitizer needs ptrace: the sanitizer build allows it. */
    CHECK_KILLED(do_ptrace_attach, SETUP_NOTHING);
#endif
    CHECK_KILLED(do_process_vm_readv, SETUP_NOTHING);
}

TEST(test_sandbox_refuses_the_network)
{
    CHECK_KILLED(do_socket, SETUP_NOTHING);
    CHECK_KILLED(do_socketpair, SETUP_NOTHING);
    CHECK_KILLED(do_connect_inherited, SETUP_SOCKET);
    CHECK_KILLED(do_sendto_inherited, SETUP_SOCKET);
}

TEST(test_sandbox_refuses_new_processes_and_kernel_interfaces)
{
    CHECK_KILLED(do_execve, SETUP_NOTHING);
    CHECK_KILLED(do_fork, SETUP_NOTHING);
    CHECK_KILLED(do_vfork, SETUP_NOTHING);
    CHECK_KILLED(do_clone_newns_thread, SETUP_NOTHING);
    CHECK_KILLED(do_unshare, SETUP_NOTHING);
    CHECK_KILLED(do_setns, SETUP_NOTHING);
    CHECK_KILLED(do_mount, SETUP_NOTHING);
    CHECK_KILLED(do_bpf, SETUP_NOTHING);
    CHECK_KILLED(do_perf_event_open, SETUP_NOTHING);
    CHECK_KILLED(do_userfaultfd, SETUP_NOTHING);
    CHECK_KILLED(do_keyctl, SETUP_NOTHING);
    CHECK_KILLED(do_add_key, SETUP_NOTHING);
#if !defined(__SANITIZE_ADDRESS__)
    CHECK_KILLED(do_prctl_dumpable, SETUP_NOTHING);
#endif
}

TEST(test_sandbox_covers_threads_started_before)
{
    CHECK_KILLED(do_early_thread, SETUP_THREAD);
}

/* ---- allowed: what a job does ---- */

static int counter;

static void *count_thread(void *arg)
{
    __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST);
    return arg;
}

static void do_threads(probe_t *p)
{
    pthread_t t[4];
    (void)p;
    for (int i = 0; i < 4; i++)
        if (pthread_create(&t[i], NULL, count_thread, NULL) != 0)
            _exit(1);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    if (counter != 4)
        _exit(2);
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
    (void)sig;
    got_usr1++;
}

static void do_signals_to_itself(probe_t *p)
{
    struct sigaction sa;
    (void)p;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    if (kill(getpid(), 0) != 0)
        _exit(1);
    if (sigaction(SIGUSR1, &sa, NULL) != 0)
        _exit(2);
    if (raise(SIGUSR1) != 0 || got_usr1 != 1)
        _exit(3);
    if (kill(getpid(), SIGUSR1) != 0 || got_usr1 != 2)
        _exit(4);
}

static void do_abort(probe_t *p)
{
    /* An assertion or arc_xmalloc() running out of memory: SIGABRT, which the
     * daemon reports as such, not as the sandbox. */
    (void)p;
    abort();
}

static void do_files(probe_t *p)
{
    char a[128], b[128], c[128], got[8] = "";
    struct stat st;

    snprintf(a, sizeof(a), "%s/out.tmp", p->dir);
    snprintf(b, sizeof(b), "%s/out", p->dir);
    snprintf(c, sizeof(c), "%s/linked", p->dir);
    int fd = open(a, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, "hello", 5) != 5 || fsync(fd) != 0 || close(fd) != 0)
        _exit(1);
    if (rename(a, b) != 0 || link(b, c) != 0 || stat(c, &st) != 0 || st.st_nlink != 2)
        _exit(2);
    if (utimensat(AT_FDCWD, c, NULL, 0) != 0)
        _exit(3);
    fd = open(c, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || lseek(fd, 1, SEEK_SET) != 1 || read(fd, got, 4) != 4 || close(fd) != 0 ||
        strcmp(got, "ello") != 0)
        _exit(4);
    if (unlink(b) != 0 || unlink(c) != 0)
        _exit(5);
}

static void do_memory(probe_t *p)
{
    (void)p;
    size_t len = 1 << 20;
    uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        _exit(1);
    memset(m, 7, len);
    m = mremap(m, len, 4 * len, MREMAP_MAYMOVE);
    if (m == MAP_FAILED || m[len - 1] != 7)
        _exit(2);
    if (mprotect(m, len, PROT_READ) != 0 || madvise(m, 4 * len, MADV_DONTNEED) != 0 ||
        munmap(m, 4 * len) != 0)
        _exit(3);
    void *big = malloc((size_t)64 << 20);
    if (big == NULL)
        _exit(4);
    memset(big, 1, (size_t)64 << 20);
    free(big);
}

static void do_decode_a_photo(probe_t *p)
{
    arc_photo_t photo = {0};
    arc_photo_info_t info;
    arc_err_t err = {{0}};
    (void)p;
    if (arc_photo_load(test_path("card.png"), 0, 0, &photo, &info, &err) != 0) {
        fprintf(stderr, "arc_photo_load: %s\n", err.msg);
        _exit(1);
    }
    /* card.png carries an eXIf orientation 6: decoded and turned upright. */
    if (info.format != ARC_IMAGE_PNG || info.orientation != 6 || photo.width == 0)
        _exit(2);
    arc_photo_dispose(&photo);
}

TEST(test_sandbox_allows_what_a_job_does)
{
    CHECK_LIVES(do_threads, SETUP_NOTHING);
    CHECK_LIVES(do_signals_to_itself, SETUP_NOTHING);
    CHECK_LIVES(do_files, SETUP_NOTHING);
    CHECK_LIVES(do_memory, SETUP_NOTHING);
    CHECK_LIVES(do_decode_a_photo, SETUP_NOTHING);
    outcome_t o = run_probe(do_abort, SETUP_NOTHING);
    CHECK_MSG(o.status != -1 && WIFSIGNALED(o.status) && WTERMSIG(o.status) == SIGABRT,
              "abort() in the sandbox: the child was %s, not killed by SIGABRT",
              describe(o.status));
}

/* ---- allowed: decoding the photos phones make ---- */

/* Made before the probe forks (heif-enc, cwebp: libheif-examples, webp). */
static char phone_dir[64];

static void do_decode_phone_photos(probe_t *p)
{
    static const char *const names[] = {"p.heic", "p.avif", "p.webp"};

    (void)p;
    for (int i = 0; i < 3; i++) {
        char path[160];
        arc_photo_t photo;
        arc_photo_info_t info;
        arc_err_t err = {{0}};
        snprintf(path, sizeof(path), "%s/%s", phone_dir, names[i]);
        if (arc_photo_load(path, 0, 400, &photo, &info, &err) != 0) {
            fprintf(stderr, "%s: %s\n", path, err.msg);
            _exit(10 + i);
        }
        if (photo.width != 400 || info.stored_width != 800)
            _exit(20 + i);
        arc_photo_dispose(&photo);
    }
}

/* HEIC (libheif with libde265, its threads), AVIF (libaom or dav1d) and
 * WebP decode inside the sandbox, as a worker decodes an upload. */
TEST(test_sandbox_allows_decoding_phone_photos)
{
    char cmd[1024];

    snprintf(phone_dir, sizeof(phone_dir), "/tmp/arcd-phone-XXXXXX");
    CHECK(mkdtemp(phone_dir) != NULL);
    const char *src = test_path("pictarize.jpg");
    snprintf(cmd, sizeof(cmd),
             "heif-enc -q 60 '%s' -o %s/p.heic >/dev/null 2>&1 && "
             "heif-enc -A -q 50 '%s' -o %s/p.avif >/dev/null 2>&1 && "
             "cwebp -quiet -q 70 '%s' -o %s/p.webp",
             src, phone_dir, src, phone_dir, src, phone_dir);
    CHECK_MSG(system(cmd) == 0, "making HEIC, AVIF and WebP files (heif-enc, cwebp) failed");
    CHECK_LIVES(do_decode_phone_photos, SETUP_NOTHING);
    static const char *const names[] = {"p.heic", "p.avif", "p.webp"};
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof(cmd), "%s/%s", phone_dir, names[i]);
        unlink(cmd);
    }
    rmdir(phone_dir);
}

/* ---- allowed: what glibc does on paths a job can take ---- */

static void do_clocks_without_vdso(probe_t *p)
{
    struct timespec ts;
    struct timeval tv;

    /* Straight to the kernel, as glibc's clock_gettime(), clock_getres() and
     * gettimeofday() go on a host whose vDSO has no usable clock (some
     * virtual machines' clock sources). */
    (void)p;
    if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) != 0)
        _exit(1);
    if (syscall(SYS_clock_getres, CLOCK_MONOTONIC, &ts) != 0)
        _exit(2);
    if (syscall(SYS_gettimeofday, &tv, NULL) != 0)
        _exit(3);
}

static void do_writev(probe_t *p)
{
    char a[] = "arcd test: ", b[] = "writev\n";
    struct iovec iov[2] = {{a, sizeof(a) - 1}, {b, sizeof(b) - 1}};
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

    (void)p;
    if (fd < 0 || writev(fd, iov, 2) != (ssize_t)(sizeof(a) + sizeof(b) - 2))
        _exit(1);
    close(fd);
}

#if !defined(__SANITIZE_ADDRESS__)
static void do_double_free(probe_t *p)
{
    /* glibc's malloc finding its heap corrupt: it writes its message
     * ("free(): double free detected in tcache 2") with writev(), then
     * aborts. (AddressSanitizer reports a double free itself.) */
    char *volatile block = malloc(32);
    (void)p;
    memset(block, 1, 32);
    free(block);
    free(block);
}
#endif

/* A worker whose heap is corrupt, or on a host without a vDSO clock, must
 * end as the bug it is (SIGABRT) or not at all: it used to die of SIGSYS,
 * glibc's writev() and the clock calls being off the allow-list, which the
 * daemon reports as the sandbox refusing a call. */
TEST(test_regression_sandbox_allows_glibc_fatal_messages_and_clock_calls)
{
    CHECK_LIVES(do_clocks_without_vdso, SETUP_NOTHING);
    CHECK_LIVES(do_writev, SETUP_NOTHING);
#if !defined(__SANITIZE_ADDRESS__)
    outcome_t o = run_probe(do_double_free, SETUP_NOTHING);
    CHECK_MSG(o.status != -1 && WIFSIGNALED(o.status) && WTERMSIG(o.status) == SIGABRT,
              "a double free in the sandbox: the child was %s, not killed by SIGABRT",
              describe(o.status));
#endif
}

/* ---- the video stage on a damaged upload ---- */

/* tests/data/sample.mp4 cut to 2/3 of its bytes, as an upload that stopped
 * half-way, written to dir/video.mp4. Returns 0 or -1. */
static int write_cut_short_mp4(const char *dir)
{
    static uint8_t data[1 << 20];
    char path[256];
    ssize_t n, len = 0;
    int in = open(test_path("sample.mp4"), O_RDONLY | O_CLOEXEC), out = -1, rc = -1;

    while (in >= 0 && (n = read(in, data + len, sizeof(data) - (size_t)len)) > 0)
        len += n;
    snprintf(path, sizeof(path), "%s/video.mp4", dir);
    if (len > 0)
        out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out >= 0 && write(out, data, (size_t)(len * 2 / 3)) == len * 2 / 3)
        rc = 0;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

static void do_video_stage_on_a_cut_short_mp4(probe_t *p)
{
    arc_job_input_t input = {
        .photo = "photo.png", .video = "video.mp4", .video_out = "", .redo_video = 1};
    arc_job_msg_t msg = {.id = "0f3c2a1e-7b4d-4e8a-9f00-123456789abc",
                         .dir = p->dir,
                         .items = &input,
                         .n_items = 1,
                         .fit = ARC_FIT_CONTAIN,
                         .stages = ARC_STAGE_ALL};
    arc_item_t item = {.photo = "photo.png", .video = "video.mp4"};
    arc_job_t job = {.in = &msg, .id = msg.id, .dir = p->dir, .items = &item, .n_items = 1};
    arc_err_t err = {{0}};
    char path[256];
    struct stat st;

    msg.media.video_max_side = 1280;
    msg.media.video_max_seconds = 120;
    msg.media.video_max_pixels = 4096 * 4096;
    msg.media.video_crf = 23;
    snprintf(msg.media.video_preset, sizeof(msg.media.video_preset), "veryfast");
    msg.media.video_copy = 1;
    /* A photo of the video's own shape (360x240): nothing to crop. */
    item.inner_w = 360;
    item.inner_h = 240;
    job.files = json_array();
    job.stage_name = "video";
    job.stage_weight = 100;
    if (write_cut_short_mp4(p->dir) != 0)
        _exit(90);
    int rc = arc_stage_video(&job, &err);
    fprintf(stderr, "the video stage on a cut-short MP4: %s, %s: %s\n",
            rc == 0 ? "done" : arc_strerror(rc), job.permanent ? "permanent" : "to retry", err.msg);
    if (rc == 0)
        _exit(10); /* a video a third shorter than the upload, without a word */
    if (!job.permanent)
        _exit(11); /* the same file fails the same way each time */
    if (strstr(err.msg, "video") == NULL || strstr(err.msg, "cut short") == NULL)
        _exit(12); /* the reason must tell the customer what is wrong */
    snprintf(path, sizeof(path), "%s/ar-video.mp4", p->dir);
    if (stat(path, &st) == 0 || json_array_size(job.files) != 0)
        _exit(13);
    json_decref(job.files);
}

/* A damaged upload fails its job, permanently, saying why. FFmpeg's first
 * error message about it used to kill the worker (SIGSYS: its default
 * logger asks isatty(2), an ioctl), and the job was retried until it had
 * crashed three workers. */
TEST(test_regression_video_stage_fails_cleanly_on_a_cut_short_mp4)
{
    CHECK_LIVES(do_video_stage_on_a_cut_short_mp4, SETUP_NOTHING);
}

/* Another process of the worker's user can neither ptrace it nor open its
 * /proc/<pid>/mem or environ: the kernel shows the files of a non-dumpable
 * process's /proc/<pid> as root's. */
TEST(test_sandbox_makes_the_process_non_dumpable)
{
    int ready[2], done[2];
    char c = 0, path[64];
    struct stat st;

    CHECK(pipe(ready) == 0 && pipe(done) == 0);
    pid_t child = fork();
    if (child == 0) {
        /* An unprivileged user, dumpable to start with (changing the uid
         * alone makes a process non-dumpable). */
        if (getuid() == 0 && (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
                              setresuid(65534, 65534, 65534) != 0))
            _exit(90);
        if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
            _exit(91);
        arc_err_t err = {{0}};
        if (arc_sandbox_enter(&err) != 0)
            _exit(92);
        if (write(ready[1], "r", 1) != 1 || read(done[0], &c, 1) != 1)
            _exit(93);
        _exit(0);
    }
    CHECK(child > 0 && read(ready[0], &c, 1) == 1);
    snprintf(path, sizeof(path), "/proc/%d/mem", (int)child);
    CHECK(stat(path, &st) == 0);
    CHECK_MSG(st.st_uid == 0, "%s belongs to uid %d: the process is still dumpable", path,
              (int)st.st_uid);
    CHECK(write(done[1], "d", 1) == 1);
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child %s", describe(status));
    for (int i = 0; i < 2; i++) {
        close(ready[i]);
        close(done[i]);
    }
}

/* `arcd worker` closes what it inherited beyond stdio before anything else
 * (issue: descriptors of the daemon's parent were open in the workers). */
TEST(test_worker_closes_inherited_descriptors)
{
    int to[2], from[2];
    char hello[4];

    if (geteuid() != 0) {
        /* A non-dumpable process's /proc/<pid>/fd is root's. */
        printf("skip: only root can list a sandboxed worker's descriptors\n");
        return;
    }
    CHECK(pipe(to) == 0 && pipe(from) == 0);
    pid_t child = fork();
    if (child == 0) {
        int stray = open("/dev/null", O_RDONLY);
        if (dup2(stray, 10) != 10 || dup2(stray, 251) != 251 || dup2(to[0], 0) != 0 ||
            dup2(from[1], 1) != 1)
            _exit(90);
        close(to[1]);
        close(from[0]);
        arc_worker_opts_t opts = {.memory_mb = 0, .nice = 0};
        _exit(arc_worker_main(&opts));
    }
    close(to[0]);
    close(from[1]);
    /* Its hello comes after it closed them and entered the sandbox. */
    CHECK(read(from[0], hello, sizeof(hello)) == (ssize_t)sizeof(hello));
    char path[64];
    int open_fds[16], n = 0;
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)child);
    DIR *dir = opendir(path);
    CHECK(dir != NULL);
    for (struct dirent *e; dir != NULL && (e = readdir(dir)) != NULL && n < 16;)
        if (e->d_name[0] != '.')
            open_fds[n++] = (int)strtol(e->d_name, NULL, 10);
    if (dir != NULL)
        closedir(dir);
    CHECK_MSG(n == 3, "the worker has %d descriptors open, not 3", n);
    for (int i = 0; i < n; i++)
        CHECK_MSG(open_fds[i] <= 2, "the worker has fd %d open", open_fds[i]);
    close(to[1]); /* stdin closes: the worker is done */
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the worker %s", describe(status));
    close(from[0]);
}
