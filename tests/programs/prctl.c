/* prctl(2) as Linux answers a root process, thread names through prctl, pthread_setname_np
 * and /proc/self/task/TID/comm, printed as facts (differential: tests/diff.rs). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void say(const char *what, long r) {
    if (r < 0)
        printf("%s: -1 %s\n", what, strerror(errno));
    else
        printf("%s: %ld\n", what, r);
    errno = 0;
}

#define P(what, op, a2, a3, a4, a5) say(what, prctl(op, (unsigned long)(a2), (unsigned long)(a3), \
                                                    (unsigned long)(a4), (unsigned long)(a5)))

/* The contents of a /proc file, without its newline. */
static void show_file(const char *label, const char *path) {
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("%s: open: %s\n", label, strerror(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) {
        printf("%s: read: %s\n", label, strerror(errno));
        return;
    }
    buf[n] = 0;
    int newline = n > 0 && buf[n - 1] == '\n';
    if (newline)
        buf[n - 1] = 0;
    printf("%s: \"%s\"%s\n", label, buf, newline ? " + newline" : "");
}

/* For the pthread_*_np calls, which return an error number. */
static void say_err(const char *what, int err) {
    if (err)
        printf("%s: %s\n", what, strerror(err));
    else
        printf("%s: 0\n", what);
}

static void task_comm(const char *label, pid_t tid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)tid);
    show_file(label, path);
}

static int count_tasks(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int stage;
static pid_t worker_tid;

static void wait_stage(int s) {
    pthread_mutex_lock(&lock);
    while (stage < s)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
}

static void set_stage(int s) {
    pthread_mutex_lock(&lock);
    stage = s;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

static void *worker(void *arg) {
    (void)arg;
    char name[16] = {0};
    worker_tid = (pid_t)syscall(SYS_gettid);
    prctl(PR_GET_NAME, name, 0, 0, 0);
    printf("worker starts with its creator's name: \"%s\"\n", name);
    say("worker PR_SET_NAME", prctl(PR_SET_NAME, "worker-0", 0, 0, 0));
    set_stage(1);
    wait_stage(2);
    prctl(PR_GET_NAME, name, 0, 0, 0);
    printf("worker renamed by main: \"%s\"\n", name);
    /* Timer slack is per thread, inherited from the creator (which resets to it); the
     * parent-death signal is per thread and not inherited. */
    P("worker PR_GET_TIMERSLACK", PR_GET_TIMERSLACK, 0, 0, 0, 0);
    P("worker PR_SET_TIMERSLACK 5000", PR_SET_TIMERSLACK, 5000, 0, 0, 0);
    P("worker PR_SET_TIMERSLACK 0", PR_SET_TIMERSLACK, 0, 0, 0, 0);
    P("worker PR_GET_TIMERSLACK after reset", PR_GET_TIMERSLACK, 0, 0, 0, 0);
    int sig = -1;
    P("worker PR_GET_PDEATHSIG", PR_GET_PDEATHSIG, &sig, 0, 0, 0);
    printf("worker pdeathsig: %d\n", sig);
    set_stage(3);
    wait_stage(4);
    return NULL;
}

int main(void) {
    char name[16] = {0};
    char self[16] = {0};
    say("PR_GET_NAME", prctl(PR_GET_NAME, self, 0, 0, 0));
    printf("initial name: \"%s\"\n", self);
    show_file("/proc/self/comm at start", "/proc/self/comm");
    say("PR_SET_NAME short", prctl(PR_SET_NAME, "main-thread", 0, 0, 0));
    prctl(PR_GET_NAME, name, 0, 0, 0);
    printf("name: \"%s\"\n", name);
    say("PR_SET_NAME long", prctl(PR_SET_NAME, "a-name-longer-than-fifteen-bytes", 0, 0, 0));
    memset(name, 'x', sizeof name);
    prctl(PR_GET_NAME, name, 0, 0, 0);
    printf("truncated to 15: \"%s\" (byte 15 is %d)\n", name, name[15]);
    show_file("/proc/self/comm", "/proc/self/comm");
    task_comm("/proc/self/task/<tid>/comm", (pid_t)syscall(SYS_gettid));
    say("PR_SET_NAME bad pointer", prctl(PR_SET_NAME, (char *)8, 0, 0, 0));
    say("PR_GET_NAME bad pointer", prctl(PR_GET_NAME, (char *)8, 0, 0, 0));

    /* Writing comm renames the thread, as pthread_setname_np does for other threads. */
    int fd = open("/proc/self/comm", O_WRONLY);
    say("open /proc/self/comm for writing", fd >= 0);
    say("write comm", write(fd, "via-comm", 8));
    close(fd);
    prctl(PR_GET_NAME, name, 0, 0, 0);
    printf("after writing comm: \"%s\"\n", name);

    /* Threads: names, /proc/self/task, pthread_{set,get}name_np. */
    say("tasks before", count_tasks());
    pthread_t t;
    prctl(PR_SET_NAME, "main", 0, 0, 0);
    say("PR_SET_PDEATHSIG main", prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0));
    say("PR_SET_TIMERSLACK main", prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0));
    pthread_create(&t, NULL, worker, NULL);
    wait_stage(1);
    say("tasks with a worker", count_tasks());
    task_comm("worker's comm", worker_tid);
    char got[32] = {0};
    say_err("pthread_getname_np (worker)", pthread_getname_np(t, got, sizeof got));
    printf("pthread_getname_np: \"%s\"\n", got);
    say_err("pthread_getname_np small buffer", pthread_getname_np(t, got, 4));
    say_err("pthread_setname_np (worker)", pthread_setname_np(t, "renamed"));
    say_err("pthread_setname_np too long", pthread_setname_np(t, "sixteen-bytes-xx"));
    set_stage(2);
    wait_stage(3);
    task_comm("worker's comm after rename", worker_tid);
    say_err("pthread_setname_np (self)", pthread_setname_np(pthread_self(), "main-again"));
    prctl(PR_GET_NAME, name, 0, 0, 0);
    printf("main: \"%s\"\n", name);
    P("main PR_GET_TIMERSLACK", PR_GET_TIMERSLACK, 0, 0, 0, 0);
    set_stage(4);
    pthread_join(t, NULL);
    /* Linux removes the task a moment after pthread_join returns: wait for it (2 s at most). */
    for (int i = 0; i < 2000 && count_tasks() != 1; i++)
        usleep(1000);
    say("tasks after join", count_tasks());
    task_comm("a joined thread's comm", worker_tid);

    /* The attributes Linux keeps per process, with its argument checks. */
    int v = -1;
    P("PR_GET_PDEATHSIG", PR_GET_PDEATHSIG, &v, 0, 0, 0);
    printf("pdeathsig: %d\n", v);
    P("PR_SET_PDEATHSIG 65", PR_SET_PDEATHSIG, 65, 0, 0, 0);
    P("PR_SET_PDEATHSIG 0", PR_SET_PDEATHSIG, 0, 0, 0, 0);
    P("PR_GET_PDEATHSIG bad pointer", PR_GET_PDEATHSIG, 8, 0, 0, 0);
    P("PR_GET_DUMPABLE", PR_GET_DUMPABLE, 0, 0, 0, 0);
    P("PR_SET_DUMPABLE 2", PR_SET_DUMPABLE, 2, 0, 0, 0);
    P("PR_SET_DUMPABLE 0", PR_SET_DUMPABLE, 0, 0, 0, 0);
    P("PR_GET_DUMPABLE after", PR_GET_DUMPABLE, 0, 0, 0, 0);
    P("PR_SET_DUMPABLE 1", PR_SET_DUMPABLE, 1, 0, 0, 0);
    P("PR_GET_NO_NEW_PRIVS", PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    P("PR_GET_NO_NEW_PRIVS extra argument", PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0);
    P("PR_SET_NO_NEW_PRIVS 0", PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0);
    P("PR_SET_NO_NEW_PRIVS 1 extra", PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0);
    P("PR_SET_NO_NEW_PRIVS 1", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    P("PR_GET_NO_NEW_PRIVS after", PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    P("PR_CAP_AMBIENT CLEAR_ALL", PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    P("PR_CAP_AMBIENT CLEAR_ALL extra", PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 1, 0, 0);
    P("PR_CAP_AMBIENT IS_SET net_bind_service", PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 10, 0, 0);
    P("PR_CAP_AMBIENT RAISE net_bind_service", PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 10, 0, 0);
    P("PR_CAP_AMBIENT LOWER net_bind_service", PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, 10, 0, 0);
    P("PR_CAP_AMBIENT IS_SET 63", PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 63, 0, 0);
    P("PR_CAP_AMBIENT 9", PR_CAP_AMBIENT, 9, 0, 0, 0);
    P("PR_CAPBSET_READ chown", PR_CAPBSET_READ, 0, 0, 0, 0);
    P("PR_CAPBSET_READ net_bind_service", PR_CAPBSET_READ, 10, 0, 0, 0);
    P("PR_CAPBSET_READ 63", PR_CAPBSET_READ, 63, 0, 0, 0);
    P("PR_SET_TIMERSLACK 0 (default again)", PR_SET_TIMERSLACK, 0, 0, 0, 0);
    P("PR_GET_TIMERSLACK", PR_GET_TIMERSLACK, 0, 0, 0, 0);
    P("PR_SET_CHILD_SUBREAPER", PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    v = -1;
    P("PR_GET_CHILD_SUBREAPER", PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0);
    printf("subreaper: %d\n", v);
    P("PR_GET_KEEPCAPS", PR_GET_KEEPCAPS, 0, 0, 0, 0);
    P("PR_SET_KEEPCAPS 2", PR_SET_KEEPCAPS, 2, 0, 0, 0);
    P("PR_SET_KEEPCAPS 1", PR_SET_KEEPCAPS, 1, 0, 0, 0);
    P("PR_GET_KEEPCAPS after", PR_GET_KEEPCAPS, 0, 0, 0, 0);
    P("PR_GET_SECUREBITS", PR_GET_SECUREBITS, 0, 0, 0, 0);
    P("PR_SET_KEEPCAPS 0", PR_SET_KEEPCAPS, 0, 0, 0, 0);
    P("PR_GET_SECCOMP", PR_GET_SECCOMP, 0, 0, 0, 0);
    P("PR_SET_THP_DISABLE extra", PR_SET_THP_DISABLE, 1, 1, 0, 0);
    P("PR_SET_THP_DISABLE", PR_SET_THP_DISABLE, 1, 0, 0, 0);
    P("PR_GET_THP_DISABLE", PR_GET_THP_DISABLE, 0, 0, 0, 0);
    P("PR_SET_THP_DISABLE 0", PR_SET_THP_DISABLE, 0, 0, 0, 0);
    P("PR_GET_THP_DISABLE after", PR_GET_THP_DISABLE, 0, 0, 0, 0);
    P("PR_GET_TIMING", PR_GET_TIMING, 0, 0, 0, 0);
    P("PR_SET_TIMING 1", PR_SET_TIMING, 1, 0, 0, 0);
    P("PR_MCE_KILL_GET", PR_MCE_KILL_GET, 0, 0, 0, 0);
    P("PR_TASK_PERF_EVENTS_DISABLE", PR_TASK_PERF_EVENTS_DISABLE, 0, 0, 0, 0);
    int *tid_address = (int *)1;
    P("PR_GET_TID_ADDRESS", PR_GET_TID_ADDRESS, &tid_address, 0, 0, 0);
    printf("tid address is set: %d\n", tid_address != NULL && tid_address != (int *)1);
    /* Options of other architectures, and unknown ones. */
    P("PR_SET_UNALIGN (not on x86)", PR_SET_UNALIGN, 0, 0, 0, 0);
    P("PR_SET_FPEMU (not on x86)", PR_SET_FPEMU, 0, 0, 0, 0);
    P("PR_GET_ENDIAN (not on x86)", PR_GET_ENDIAN, &v, 0, 0, 0);
    P("option 0", 0, 0, 0, 0, 0);
    P("option 1000", 1000, 0, 0, 0, 0);
    P("option 0x7fffffff", 0x7fffffff, 0, 0, 0, 0);
    return 0;
}
