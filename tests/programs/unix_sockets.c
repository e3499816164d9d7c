/* AF_UNIX sockets as Linux has them, printed as facts (differential: tests/diff.rs): stream,
 * datagram and seqpacket; socketpair; path names in the file system and abstract names;
 * autobind; getsockname/getpeername; SCM_RIGHTS passing a pipe and a file (MSG_CTRUNC,
 * descriptors closed when never received); SCM_CREDENTIALS and SO_PEERCRED; buffer sizes;
 * non-blocking calls; poll and epoll readiness; shutdown and close; MSG_PEEK, MSG_TRUNC,
 * MSG_WAITALL, MSG_DONTWAIT; and the errors. Names carry the pid, which is never printed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void say(const char *what, long r) {
    if (r < 0)
        printf("%s: -1 %s\n", what, strerror(errno));
    else
        printf("%s: %ld\n", what, r);
    errno = 0;
}

static const char *events(short ev) {
    static char buf[64];
    buf[0] = 0;
    if (ev & POLLIN) strcat(buf, "IN ");
    if (ev & POLLOUT) strcat(buf, "OUT ");
    if (ev & POLLRDHUP) strcat(buf, "RDHUP ");
    if (ev & POLLHUP) strcat(buf, "HUP ");
    if (ev & POLLERR) strcat(buf, "ERR ");
    if (ev & POLLNVAL) strcat(buf, "NVAL ");
    if (!buf[0]) strcpy(buf, "none");
    return buf;
}

static void show_poll(const char *what, int fd) {
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
    poll(&p, 1, 0);
    printf("%s: %s\n", what, events(p.revents));
}

static socklen_t path_addr(struct sockaddr_un *a, const char *path) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
}

/* The length getsockname reports, and whether the name is what was bound. */
static void show_name(const char *what, int fd, int peer, const struct sockaddr_un *want,
                      socklen_t want_len) {
    struct sockaddr_un got;
    memset(&got, 0x55, sizeof got);
    socklen_t len = sizeof got;
    int r = peer ? getpeername(fd, (struct sockaddr *)&got, &len)
                 : getsockname(fd, (struct sockaddr *)&got, &len);
    if (r < 0) {
        printf("%s: -1 %s\n", what, strerror(errno));
        return;
    }
    /* A named address's length depends on the pid in the name: not printed. */
    if (want) {
        int same = len == want_len && memcmp(&got, want, len) == 0;
        printf("%s: family %d, %s\n", what, got.sun_family,
               same ? "the name bound, with its length" : "NOT the name bound");
    } else {
        printf("%s: len %u family %d\n", what, (unsigned)len, got.sun_family);
    }
}

static int intopt(int fd, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, name, &v, &len) < 0)
        return -errno;
    return v;
}

static void show_peercred(const char *what, int fd) {
    struct ucred c;
    socklen_t len = sizeof c;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &len) < 0) {
        printf("%s: -1 %s\n", what, strerror(errno));
        return;
    }
    printf("%s: len %u, pid is ours %d, uid is ours %d, gid is ours %d\n", what, (unsigned)len,
           c.pid == getpid(), c.uid == getuid(), c.gid == getgid());
}

/* sendmsg with descriptors (and optionally credentials). */
static ssize_t send_fds(int s, const char *data, const int *fds, int n) {
    struct iovec iov = {(void *)data, strlen(data)};
    char ctl[CMSG_SPACE(sizeof(int) * 8)];
    memset(ctl, 0, sizeof ctl);
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (n > 0) {
        m.msg_control = ctl;
        m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    }
    return sendmsg(s, &m, 0);
}

/* recvmsg with a control buffer of `ctl_len` bytes: prints what came, returns the first
 * descriptor received (or -1). */
static int recv_fds(const char *what, int s, size_t ctl_len, int flags, int *second) {
    char data[64] = {0};
    struct iovec iov = {data, sizeof data - 1};
    char ctl[256];
    memset(ctl, 0, sizeof ctl);
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl_len ? ctl : NULL;
    m.msg_controllen = ctl_len;
    ssize_t n = recvmsg(s, &m, flags);
    if (n < 0) {
        printf("%s: -1 %s\n", what, strerror(errno));
        return -1;
    }
    int first = -1, count = 0;
    if (second)
        *second = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            int *fds = (int *)CMSG_DATA(c);
            for (int i = 0; i < k; i++) {
                if (count == 0)
                    first = fds[i];
                else if (count == 1 && second)
                    *second = fds[i];
                count++;
            }
            printf("%s: SCM_RIGHTS cmsg_len %u\n", what, (unsigned)c->cmsg_len);
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred u;
            memcpy(&u, CMSG_DATA(c), sizeof u);
            printf("%s: SCM_CREDENTIALS cmsg_len %u pid ours %d uid %u gid %u\n", what,
                   (unsigned)c->cmsg_len, u.pid == getpid(), u.uid, u.gid);
        }
    }
    printf("%s: %zd bytes \"%s\", %d descriptors, controllen %zu%s%s\n", what, n, data, count,
           (size_t)m.msg_controllen, m.msg_flags & MSG_CTRUNC ? ", MSG_CTRUNC" : "",
           m.msg_flags & MSG_TRUNC ? ", MSG_TRUNC" : "");
    return first;
}

static int fd_is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

static char path1[64], path2[64], file_path[64];

static void stream_pair(void) {
    puts("== socketpair(SOCK_STREAM)");
    int sv[2];
    say("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    struct stat st;
    fstat(sv[0], &st);
    say("fstat: a socket", S_ISSOCK(st.st_mode));
    show_name("getsockname", sv[0], 0, NULL, 0);
    show_name("getpeername", sv[0], 1, NULL, 0);
    say("SO_TYPE", intopt(sv[0], SO_TYPE));
    say("SO_DOMAIN", intopt(sv[0], SO_DOMAIN));
    say("SO_PROTOCOL", intopt(sv[0], SO_PROTOCOL));
    say("SO_ACCEPTCONN", intopt(sv[0], SO_ACCEPTCONN));
    say("SO_SNDBUF default", intopt(sv[0], SO_SNDBUF));
    say("SO_RCVBUF default", intopt(sv[0], SO_RCVBUF));
    int v = 4096;
    say("SO_SNDBUF 4096", setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
    say("SO_SNDBUF reads back doubled", intopt(sv[0], SO_SNDBUF));
    v = 1;
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    say("SO_RCVBUF 1 reads back the minimum", intopt(sv[0], SO_RCVBUF));
    show_peercred("SO_PEERCRED", sv[1]);
    show_poll("fresh pair", sv[1]);
    say("write", write(sv[0], "hello ", 6));
    say("send", send(sv[0], "world", 5, 0));
    show_poll("with data", sv[1]);
    int avail = -1;
    ioctl(sv[1], FIONREAD, &avail);
    say("FIONREAD", avail);
    int outq = -1;
    ioctl(sv[0], TIOCOUTQ, &outq);
    /* Linux counts buffer overhead too: only whether anything is outstanding is printed. */
    say("TIOCOUTQ: something sent is unread", outq > 0);
    char buf[64] = {0};
    say("recv MSG_PEEK", recv(sv[1], buf, sizeof buf, MSG_PEEK));
    say("read 4", read(sv[1], buf, 4));
    buf[4] = 0;
    printf("got \"%s\"\n", buf);
    memset(buf, 0, sizeof buf);
    say("read the rest (writes joined)", read(sv[1], buf, sizeof buf));
    printf("got \"%s\"\n", buf);
    say("recv MSG_DONTWAIT empty", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
    outq = -1;
    ioctl(sv[0], TIOCOUTQ, &outq);
    say("TIOCOUTQ once read", outq);
    say("recv of 0 bytes with nothing queued", recv(sv[1], buf, 0, MSG_DONTWAIT));
    send(sv[0], "z", 1, 0);
    say("recv of 0 bytes with something queued", recv(sv[1], buf, 0, MSG_DONTWAIT));
    say("which is still there", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
    say("write 0 bytes", write(sv[0], buf, 0));

    puts("-- shutdown(SHUT_WR)");
    say("send", send(sv[0], "last", 4, 0));
    say("shutdown SHUT_WR", shutdown(sv[0], SHUT_WR));
    say("send after SHUT_WR (MSG_NOSIGNAL)", send(sv[0], "x", 1, MSG_NOSIGNAL));
    show_poll("peer after SHUT_WR", sv[1]);
    say("peer reads what was sent", read(sv[1], buf, sizeof buf));
    say("then end of stream", read(sv[1], buf, sizeof buf));
    say("the peer may still write back", write(sv[1], "ok", 2));
    say("and the shut-down side read it", read(sv[0], buf, sizeof buf));
    show_poll("writer after SHUT_WR", sv[0]);
    close(sv[0]);
    show_poll("peer after close", sv[1]);
    say("write to a closed peer (MSG_NOSIGNAL)", send(sv[1], "x", 1, MSG_NOSIGNAL));
    say("SO_ERROR", intopt(sv[1], SO_ERROR));
    close(sv[1]);

    puts("-- shutdown(SHUT_RD)");
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    send(sv[1], "queued", 6, 0);
    say("shutdown SHUT_RD", shutdown(sv[0], SHUT_RD));
    say("peer's write after SHUT_RD", send(sv[1], "more", 4, MSG_NOSIGNAL));
    say("queued data is still read", read(sv[0], buf, sizeof buf));
    say("then end of stream", read(sv[0], buf, sizeof buf));
    show_poll("after SHUT_RD", sv[0]);
    say("shutdown SHUT_RDWR", shutdown(sv[0], SHUT_RDWR));
    show_poll("after SHUT_RDWR", sv[0]);
    say("shutdown 3", shutdown(sv[0], 3));
    close(sv[0]);
    close(sv[1]);

    puts("-- close with unread data");
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    send(sv[1], "never read", 10, 0);
    close(sv[0]);
    show_poll("peer", sv[1]);
    say("read: reset", read(sv[1], buf, sizeof buf));
    say("then end of stream", read(sv[1], buf, sizeof buf));
    say("SO_ERROR after", intopt(sv[1], SO_ERROR));
    close(sv[1]);

    puts("-- SIGPIPE ignored: write gets EPIPE");
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    close(sv[1]);
    signal(SIGPIPE, SIG_IGN);
    say("write", write(sv[0], "x", 1));
    say("send", send(sv[0], "x", 1, 0));
    signal(SIGPIPE, SIG_DFL);
    close(sv[0]);

    puts("-- non-blocking, the send buffer");
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    static char chunk[65536];
    long total = 0;
    ssize_t n;
    while ((n = send(sv[0], chunk, sizeof chunk, 0)) > 0)
        total += n;
    printf("filled: at least 64 KiB and at most 4 MiB: %d, then %s\n",
           total >= 65536 && total <= (4L << 20), strerror(errno));
    show_poll("a full writer", sv[0]);
    long drained = 0;
    while ((n = recv(sv[1], chunk, sizeof chunk, 0)) > 0)
        drained += n;
    printf("drained all of it: %d\n", drained == total);
    show_poll("an empty writer", sv[0]);
    close(sv[0]);
    close(sv[1]);
}

static void *slow_writer(void *arg) {
    int fd = *(int *)arg;
    struct timespec t = {0, 20 * 1000000};
    for (int i = 0; i < 3; i++) {
        nanosleep(&t, NULL);
        char block[100];
        memset(block, 'a' + i, sizeof block);
        send(fd, block, sizeof block, 0);
    }
    return NULL;
}

static void blocking_and_waitall(void) {
    puts("== blocking reads and MSG_WAITALL");
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pthread_t t;
    pthread_create(&t, NULL, slow_writer, &sv[1]);
    char buf[300];
    say("recv MSG_WAITALL of 300 (three writes of 100)", recv(sv[0], buf, sizeof buf, MSG_WAITALL));
    printf("in order: %d\n", buf[0] == 'a' && buf[100] == 'b' && buf[299] == 'c');
    pthread_join(t, NULL);
    pthread_create(&t, NULL, slow_writer, &sv[1]);
    say("a blocking read waits for the first write", read(sv[0], buf, sizeof buf));
    pthread_join(t, NULL);
    close(sv[1]);
    long rest = 0;
    ssize_t n;
    while ((n = read(sv[0], buf, sizeof buf)) > 0)
        rest += n;
    printf("the rest, then end of stream: %ld %zd\n", rest, n);
    close(sv[0]);
}

static void path_sockets(void) {
    puts("== SOCK_STREAM on a path");
    struct sockaddr_un a, b;
    socklen_t alen = path_addr(&a, path1), blen = path_addr(&b, path2);
    unlink(path1);
    unlink(path2);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    show_poll("a fresh socket", l);
    say("listen before bind", listen(l, 5));
    say("bind", bind(l, (struct sockaddr *)&a, alen));
    struct stat st;
    say("stat the path", stat(path1, &st));
    printf("a socket: %d, mode %o\n", S_ISSOCK(st.st_mode), st.st_mode & 07777);
    say("open() of a socket", open(path1, O_RDONLY));
    say("bind again (bound already, new path)", bind(l, (struct sockaddr *)&b, blen));
    say("the new path was not made", access(path2, F_OK));
    int other = socket(AF_UNIX, SOCK_STREAM, 0);
    say("another socket on the same path", bind(other, (struct sockaddr *)&a, alen));
    show_name("getsockname", l, 0, &a, alen);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    say("connect before listen", connect(c, (struct sockaddr *)&a, alen));
    say("listen", listen(l, 5));
    say("SO_ACCEPTCONN", intopt(l, SO_ACCEPTCONN));
    show_peercred("SO_PEERCRED of a listener", l);
    show_poll("a listener", l);
    say("connect", connect(c, (struct sockaddr *)&a, alen));
    say("connect again", connect(c, (struct sockaddr *)&a, alen));
    show_poll("a listener with a connection", l);
    say("write before accept", write(c, "early", 5));
    struct sockaddr_un peer;
    socklen_t plen = sizeof peer;
    memset(&peer, 0x55, sizeof peer);
    int s = accept(l, (struct sockaddr *)&peer, &plen);
    say("accept", s >= 0);
    printf("accept's address: len %u family %d\n", (unsigned)plen, peer.sun_family);
    char buf[64] = {0};
    say("read what came before accept", read(s, buf, sizeof buf));
    show_name("server end's getsockname", s, 0, &a, alen);
    show_name("server end's getpeername", s, 1, NULL, 0);
    show_name("client's getpeername", c, 1, &a, alen);
    show_name("client's getsockname", c, 0, NULL, 0);
    show_peercred("client's SO_PEERCRED", c);
    show_peercred("server end's SO_PEERCRED", s);
    say("sendto with an address on a connected stream",
        sendto(c, "x", 1, 0, (struct sockaddr *)&a, alen));
    say("recvfrom gives the sender's name", recvfrom(s, buf, sizeof buf, MSG_DONTWAIT, NULL, NULL));
    send(s, "pong", 4, 0);
    socklen_t flen = sizeof peer;
    say("recvfrom on the client", recvfrom(c, buf, sizeof buf, 0, (struct sockaddr *)&peer, &flen));
    printf("the sender's address is the listener's path, with its length: %d\n",
           flen == alen && strcmp(peer.sun_path, path1) == 0);

    puts("-- errors");
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    say("datagram connect to a stream path", connect(d, (struct sockaddr *)&a, alen));
    struct sockaddr_un none;
    socklen_t nlen = path_addr(&none, "/tmp/kiln-no-such-socket-here");
    int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    say("connect to a missing path", connect(c2, (struct sockaddr *)&none, nlen));
    struct sockaddr_un reg;
    socklen_t rlen = path_addr(&reg, file_path);
    close(open(file_path, O_CREAT | O_WRONLY, 0644));
    say("connect to a regular file", connect(c2, (struct sockaddr *)&reg, rlen));
    say("bind over a regular file", bind(c2, (struct sockaddr *)&reg, rlen));
    unlink(file_path);
    struct sockaddr_un deep;
    socklen_t dlen = path_addr(&deep, "/tmp/kiln-no-such-dir/s");
    say("bind in a missing directory", bind(c2, (struct sockaddr *)&deep, dlen));
    say("accept on a socket not listening", accept(c2, NULL, NULL));
    say("recv on a socket not connected", recv(c2, buf, sizeof buf, MSG_DONTWAIT));
    say("send on a socket not connected", send(c2, "x", 1, MSG_NOSIGNAL));
    say("getpeername not connected", getpeername(c2, (struct sockaddr *)&peer, &plen));
    say("listen on a connected socket", listen(c, 5));

    puts("-- backlog");
    int q = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un qa;
    socklen_t qlen = path_addr(&qa, path2);
    bind(q, (struct sockaddr *)&qa, qlen);
    listen(q, 1);
    int clients[4];
    for (int i = 0; i < 3; i++) {
        clients[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        char what[64];
        snprintf(what, sizeof what, "non-blocking connect %d to a backlog of 1", i + 1);
        say(what, connect(clients[i], (struct sockaddr *)&qa, qlen));
    }
    int accepted = accept(q, NULL, NULL);
    say("after one accept, connect 3 again", connect(clients[2], (struct sockaddr *)&qa, qlen));
    close(q);
    say("a queued client after the listener closed: reset",
        recv(clients[1], buf, sizeof buf, MSG_DONTWAIT));
    say("then end of stream", recv(clients[1], buf, sizeof buf, MSG_DONTWAIT));
    say("the accepted connection still works", send(clients[0], "x", 1, MSG_NOSIGNAL));
    say("connect to a path whose listener closed", connect(c2, (struct sockaddr *)&qa, qlen));
    for (int i = 0; i < 3; i++)
        close(clients[i]);
    close(accepted);

    puts("-- unlink");
    say("unlink the listener's path", unlink(path1));
    int c3 = socket(AF_UNIX, SOCK_STREAM, 0);
    say("connect to the unlinked path", connect(c3, (struct sockaddr *)&a, alen));
    say("the connection still works", write(c, "still", 5));
    say("read it", read(s, buf, sizeof buf));
    show_name("the listener keeps its name", l, 0, &a, alen);
    int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
    say("a new socket binds the path again", bind(l2, (struct sockaddr *)&a, alen));
    listen(l2, 5);
    say("connect reaches the new listener", connect(c3, (struct sockaddr *)&a, alen));
    int s3 = accept(l2, NULL, NULL);
    say("accepted by the new one", s3 >= 0);
    fcntl(l, F_SETFL, O_NONBLOCK);
    say("the old listener has nothing", accept(l, NULL, NULL));
    close(s3);
    close(c3);
    close(l2);
    close(l);
    close(s);
    close(c);
    close(c2);
    close(d);
    close(other);
    say("a closed listener's path stays", access(path1, F_OK));
    unlink(path1);
    unlink(path2);
}

static void abstract_sockets(void) {
    puts("== abstract names and autobind");
    char name[64];
    snprintf(name, sizeof name, "kiln-test-%d", (int)getpid());
    struct sockaddr_un a;
    socklen_t alen = abstract_addr(&a, name);
    int l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    say("bind an abstract name", bind(l, (struct sockaddr *)&a, alen));
    show_name("getsockname", l, 0, &a, alen);
    int l2 = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    say("the same name again", bind(l2, (struct sockaddr *)&a, alen));
    struct sockaddr_un longer = a;
    say("the name with one more NUL is another name", bind(l2, (struct sockaddr *)&longer, alen + 1));
    close(l2);
    say("listen", listen(l, 5));
    int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    say("connect", connect(c, (struct sockaddr *)&a, alen));
    int s = accept(l, NULL, NULL);
    say("accept", s >= 0);

    puts("-- SOCK_SEQPACKET records");
    say("send 5", send(c, "first", 5, 0));
    say("send 6", send(c, "second", 6, 0));
    say("send 0", send(c, "", 0, 0));
    char buf[64] = {0};
    say("recv 3 of the first (rest dropped)", recv(s, buf, 3, 0));
    say("recv the second", recv(s, buf, sizeof buf, 0));
    say("recv the empty record", recv(s, buf, sizeof buf, MSG_DONTWAIT));
    send(c, "truncated", 9, 0);
    say("recv MSG_TRUNC returns the record's length", recv(s, buf, 2, MSG_TRUNC));
    send(c, "flagged", 7, 0);
    recv_fds("recvmsg into 4 bytes", s, 0, 0, NULL);
    close(c);
    show_poll("after the peer closed", s);
    say("end of records", recv(s, buf, sizeof buf, 0));
    /* SIGPIPE is at its default here: a seqpacket socket does not raise it. */
    say("send to a closed peer (no signal)", send(s, "x", 1, 0));
    close(s);

    puts("-- autobind");
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un fam = {.sun_family = AF_UNIX};
    say("bind with the family only", bind(d, (struct sockaddr *)&fam, sizeof(sa_family_t)));
    struct sockaddr_un got;
    socklen_t glen = sizeof got;
    getsockname(d, (struct sockaddr *)&got, &glen);
    int hex = 1;
    for (int i = 1; i < 6; i++)
        hex &= (got.sun_path[i] >= '0' && got.sun_path[i] <= '9') ||
               (got.sun_path[i] >= 'a' && got.sun_path[i] <= 'f');
    printf("autobound: len %u, abstract %d, five hex digits %d\n", (unsigned)glen,
           got.sun_path[0] == 0, hex);
    say("autobind again keeps it", bind(d, (struct sockaddr *)&fam, sizeof(sa_family_t)));
    int e = socket(AF_UNIX, SOCK_DGRAM, 0);
    int on = 1;
    say("SO_PASSCRED", setsockopt(e, SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
    say("SO_PASSCRED reads back", intopt(e, SO_PASSCRED));
    say("sendto from an unbound sender with SO_PASSCRED",
        sendto(e, "cred", 4, 0, (struct sockaddr *)&got, glen));
    socklen_t elen = sizeof a;
    struct sockaddr_un ename;
    getsockname(e, (struct sockaddr *)&ename, &elen);
    printf("the sender was autobound: len %u\n", (unsigned)elen);
    close(e);
    close(d);
    close(l);
    int again = socket(AF_UNIX, SOCK_STREAM, 0);
    say("a closed socket's abstract name is free again", bind(again, (struct sockaddr *)&a, alen));
    close(again);
}

static void datagrams(void) {
    puts("== SOCK_DGRAM");
    struct sockaddr_un sa, ca;
    socklen_t slen = path_addr(&sa, path1), clen = path_addr(&ca, path2);
    unlink(path1);
    unlink(path2);
    int srv = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(srv, (struct sockaddr *)&sa, slen);
    show_poll("a fresh datagram socket", srv);
    say("listen on a datagram socket", listen(srv, 5));
    int cli = socket(AF_UNIX, SOCK_DGRAM, 0);
    say("send without a destination", send(cli, "x", 1, 0));
    say("sendto from an unbound socket", sendto(cli, "one", 3, 0, (struct sockaddr *)&sa, slen));
    char buf[64] = {0};
    struct sockaddr_un from;
    socklen_t flen = sizeof from;
    say("recvfrom", recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen));
    printf("an unbound sender's address length: %u\n", (unsigned)flen);
    bind(cli, (struct sockaddr *)&ca, clen);
    say("sendto from a bound socket", sendto(cli, "two!", 4, 0, (struct sockaddr *)&sa, slen));
    flen = sizeof from;
    say("recvfrom into 2 bytes (the rest dropped)",
        recvfrom(srv, buf, 2, 0, (struct sockaddr *)&from, &flen));
    printf("the sender's address is its path, with its length: %d\n",
           flen == clen && strcmp(from.sun_path, path2) == 0);
    sendto(cli, "peeked", 6, 0, (struct sockaddr *)&sa, slen);
    int avail = -1;
    ioctl(srv, FIONREAD, &avail);
    say("FIONREAD: the next datagram's length", avail);
    say("recv MSG_PEEK", recv(srv, buf, sizeof buf, MSG_PEEK));
    say("recv", recv(srv, buf, sizeof buf, 0));
    sendto(cli, "", 0, 0, (struct sockaddr *)&sa, slen);
    say("an empty datagram", recv(srv, buf, sizeof buf, MSG_DONTWAIT));
    say("nothing more", recv(srv, buf, sizeof buf, MSG_DONTWAIT));
    static char big[300000];
    say("a datagram larger than the send buffer", sendto(cli, big, sizeof big, 0, (struct sockaddr *)&sa, slen));
    say("a missing destination", sendto(cli, "x", 1, 0, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "/tmp/kiln-none"}, sizeof(struct sockaddr_un)));
    int st = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sta;
    char stream_path[64];
    snprintf(stream_path, sizeof stream_path, "%s.stream", path1);
    socklen_t stlen = path_addr(&sta, stream_path);
    unlink(stream_path);
    bind(st, (struct sockaddr *)&sta, stlen);
    say("a stream socket as destination", sendto(cli, "x", 1, 0, (struct sockaddr *)&sta, stlen));
    close(st);
    unlink(stream_path);

    puts("-- a receiver not connected to its sender queues 11");
    int fast = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int sent = 0;
    while (sendto(fast, "d", 1, 0, (struct sockaddr *)&sa, slen) == 1 && sent < 100)
        sent++;
    printf("sent %d, then %s\n", sent, strerror(errno));
    say("connect to it", connect(fast, (struct sockaddr *)&sa, slen));
    show_poll("a sender whose receiver is full", fast);
    recv(srv, buf, sizeof buf, 0);
    show_poll("after one was read", fast);
    while (recv(srv, buf, sizeof buf, MSG_DONTWAIT) >= 0)
        ;
    close(fast);

    puts("-- connected datagram sockets");
    say("connect", connect(cli, (struct sockaddr *)&sa, slen));
    show_name("getpeername", cli, 1, &sa, slen);
    say("send", send(cli, "conn", 4, 0));
    say("recv", recv(srv, buf, sizeof buf, 0));
    int third = socket(AF_UNIX, SOCK_DGRAM, 0);
    say("connect srv to cli", connect(srv, (struct sockaddr *)&ca, clen));
    say("a stranger's datagram to a connected socket", sendto(third, "x", 1, 0, (struct sockaddr *)&sa, slen));
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    say("connect(AF_UNSPEC) dissolves it", connect(srv, &unspec, sizeof unspec));
    say("then the stranger gets in", sendto(third, "x", 1, 0, (struct sockaddr *)&sa, slen));
    recv(srv, buf, sizeof buf, 0);
    close(third);
    close(srv);
    say("send to a closed peer", send(cli, "x", 1, 0));
    say("and again", send(cli, "x", 1, 0));
    say("getpeername after", getpeername(cli, (struct sockaddr *)&from, &flen));
    say("shutdown SHUT_WR", shutdown(cli, SHUT_WR));
    say("sendto after its own SHUT_WR", sendto(cli, "x", 1, 0, (struct sockaddr *)&ca, clen));
    close(cli);
    unlink(path1);
    unlink(path2);

    puts("-- socketpair(SOCK_DGRAM)");
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    show_peercred("SO_PEERCRED", sv[0]);
    send(sv[0], "a", 1, 0);
    send(sv[0], "bc", 2, 0);
    say("recv", recv(sv[1], buf, sizeof buf, 0));
    say("recv", recv(sv[1], buf, sizeof buf, 0));
    say("shutdown SHUT_RD", shutdown(sv[1], SHUT_RD));
    show_poll("after SHUT_RD", sv[1]);
    say("recv after SHUT_RD", recv(sv[1], buf, sizeof buf, 0));
    close(sv[0]);
    close(sv[1]);
}

static void rights(void) {
    puts("== SCM_RIGHTS");
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int p[2];
    pipe(p);
    int f = open(file_path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(f, "file contents", 13);
    lseek(f, 5, SEEK_SET);
    int pass[2] = {p[0], f};
    say("sendmsg a pipe and a file", send_fds(sv[0], "fds", pass, 2));
    int second;
    int r0 = recv_fds("recvmsg", sv[1], CMSG_SPACE(sizeof(int) * 2), 0, &second);
    say("new descriptors", r0 >= 0 && second >= 0 && r0 != p[0] && second != f);
    write(p[1], "through the pipe", 16);
    char buf[64] = {0};
    say("read the received pipe", read(r0, buf, sizeof buf));
    printf("got \"%s\"\n", buf);
    memset(buf, 0, sizeof buf);
    say("read the received file (shares the offset)", read(second, buf, sizeof buf));
    printf("got \"%s\"\n", buf);
    say("the original's offset moved too", lseek(f, 0, SEEK_CUR));
    struct stat a, b;
    fstat(f, &a);
    fstat(second, &b);
    say("the same file", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    close(f);
    lseek(second, 0, SEEK_SET);
    say("after the original closed, still readable", read(second, buf, 4));
    say("received without MSG_CMSG_CLOEXEC", fcntl(r0, F_GETFD) & FD_CLOEXEC);
    close(r0);
    close(second);

    puts("-- MSG_CMSG_CLOEXEC, and a read stops after a write with descriptors");
    send(sv[0], "ab", 2, 0);
    send_fds(sv[0], "cd", &p[0], 1);
    send(sv[0], "ef", 2, 0);
    int r1 = recv_fds("recvmsg", sv[1], CMSG_SPACE(sizeof(int)), MSG_CMSG_CLOEXEC, NULL);
    say("close-on-exec", fcntl(r1, F_GETFD) & FD_CLOEXEC);
    close(r1);
    recv_fds("the next recvmsg", sv[1], CMSG_SPACE(sizeof(int)), 0, NULL);

    puts("-- MSG_PEEK hands out descriptors too");
    send_fds(sv[0], "pk", &p[0], 1);
    int peeked = recv_fds("peek", sv[1], CMSG_SPACE(sizeof(int)), MSG_PEEK, NULL);
    int taken = recv_fds("recv", sv[1], CMSG_SPACE(sizeof(int)), 0, NULL);
    say("two descriptors", peeked >= 0 && taken >= 0 && peeked != taken);
    close(peeked);
    close(taken);

    puts("-- MSG_CTRUNC");
    int q[2];
    pipe(q);
    int two[2] = {p[0], q[1]};
    send_fds(sv[0], "xy", two, 2);
    close(q[1]);
    int got = recv_fds("room for one", sv[1], CMSG_LEN(sizeof(int)), 0, NULL);
    close(got);
    fcntl(q[0], F_SETFL, O_NONBLOCK);
    say("the write end that did not fit was closed: EOF", read(q[0], buf, sizeof buf));
    close(q[0]);
    pipe(q);
    send_fds(sv[0], "z", &q[1], 1);
    close(q[1]);
    recv_fds("no control buffer", sv[1], 0, 0, NULL);
    fcntl(q[0], F_SETFL, O_NONBLOCK);
    say("closed: EOF", read(q[0], buf, sizeof buf));
    close(q[0]);
    pipe(q);
    send_fds(sv[0], "r", &q[1], 1);
    close(q[1]);
    say("read() of a message with descriptors", read(sv[1], buf, sizeof buf));
    fcntl(q[0], F_SETFL, O_NONBLOCK);
    say("they were closed: EOF", read(q[0], buf, sizeof buf));
    close(q[0]);

    puts("-- descriptors never received are closed with the socket");
    pipe(q);
    send_fds(sv[0], "w", &q[1], 1);
    close(q[1]);
    fcntl(q[0], F_SETFL, O_NONBLOCK);
    say("in flight: the pipe is still open", read(q[0], buf, sizeof buf));
    close(sv[0]);
    close(sv[1]);
    say("after both ends closed: EOF", read(q[0], buf, sizeof buf));
    close(q[0]);

    puts("-- on datagrams, and errors");
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    say("sendmsg over a datagram pair", send_fds(sv[0], "dg", &p[1], 1));
    int wd = recv_fds("recvmsg", sv[1], CMSG_SPACE(sizeof(int)), 0, NULL);
    say("write through the received write end", write(wd, "!", 1));
    say("read it from the original read end", read(p[0], buf, 1));
    close(wd);
    int bad = 999;
    say("a descriptor that is not open", send_fds(sv[0], "x", &bad, 1));
    struct msghdr m = {0};
    struct iovec iov = {"x", 1};
    char ctl[CMSG_SPACE(4)];
    memset(ctl, 0, sizeof ctl);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = 77;
    c->cmsg_len = CMSG_LEN(4);
    say("an unknown SOL_SOCKET control message", sendmsg(sv[0], &m, 0));
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = 1000;
    say("a control message longer than the buffer", sendmsg(sv[0], &m, 0));
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
    unlink(file_path);
}

static void credentials(void) {
    puts("== SCM_CREDENTIALS");
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int on = 1;
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    send(sv[0], "who", 3, 0);
    recv_fds("with SO_PASSCRED", sv[1], 64, 0, NULL);
    /* Explicit credentials: our own are accepted, a pid that does not exist is not. */
    struct ucred mine = {getpid(), getuid(), getgid()};
    struct iovec iov = {"me", 2};
    char ctl[CMSG_SPACE(sizeof(struct ucred))];
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    memcpy(CMSG_DATA(c), &mine, sizeof mine);
    say("sendmsg with our credentials", sendmsg(sv[0], &m, 0));
    recv_fds("received", sv[1], 64, 0, NULL);
    struct ucred nobody = {0x7ffffff0, getuid(), getgid()};
    memcpy(CMSG_DATA(c), &nobody, sizeof nobody);
    say("sendmsg with a pid that does not exist", sendmsg(sv[0], &m, 0));
    c->cmsg_len = CMSG_LEN(8);
    say("credentials of the wrong size", sendmsg(sv[0], &m, 0));
    send(sv[0], "tiny", 4, 0);
    recv_fds("a control buffer too small for them", sv[1], 20, 0, NULL);
    close(sv[0]);
    close(sv[1]);
}

static void epoll_readiness(void) {
    puts("== epoll");
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.u32 = 7};
    say("epoll_ctl", epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev));
    struct epoll_event out[4];
    say("nothing yet", epoll_wait(ep, out, 4, 0));
    send(sv[0], "1", 1, 0);
    int n = epoll_wait(ep, out, 4, 0);
    say("data", n);
    if (n == 1)
        printf("events %x data %u\n", out[0].events, out[0].data.u32);
    say("edge-triggered: not again", epoll_wait(ep, out, 4, 0));
    send(sv[0], "2", 1, 0);
    say("more data: again", epoll_wait(ep, out, 4, 0));
    shutdown(sv[0], SHUT_WR);
    n = epoll_wait(ep, out, 4, 0);
    say("after the peer's SHUT_WR", n);
    if (n == 1)
        printf("events %x\n", out[0].events);
    close(sv[0]);
    n = epoll_wait(ep, out, 4, 0);
    say("after the peer closed", n);
    if (n == 1)
        printf("events %x\n", out[0].events);
    struct epoll_event wev = {.events = EPOLLOUT, .data.u32 = 8};
    int w[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, w);
    epoll_ctl(ep, EPOLL_CTL_ADD, w[0], &wev);
    n = epoll_wait(ep, out, 4, 0);
    printf("a writable socket reported: %d\n", n >= 1);
    close(w[0]);
    close(w[1]);
    close(sv[1]);
    close(ep);
}

static void errors(void) {
    puts("== errors");
    say("socket protocol 5", socket(AF_UNIX, SOCK_STREAM, 5));
    say("socket SOCK_RDM", socket(AF_UNIX, SOCK_RDM, 0));
    int raw = socket(AF_UNIX, SOCK_RAW, 0);
    say("SOCK_RAW is a datagram socket", intopt(raw, SO_TYPE));
    close(raw);
    say("socketpair(AF_INET)", socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){0}));
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET};
    say("bind an AF_INET address", bind(s, (struct sockaddr *)&in, sizeof in));
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    say("bind with a length of 1", bind(s, (struct sockaddr *)&un, 1));
    say("bind longer than sockaddr_un", bind(s, (struct sockaddr *)&un, sizeof un + 1));
    say("connect with the family only", connect(s, (struct sockaddr *)&un, sizeof(sa_family_t)));
    int v = 1;
    say("a TCP option", setsockopt(s, IPPROTO_TCP, 1, &v, sizeof v));
    say("getsockopt of a TCP option", getsockopt(s, IPPROTO_TCP, 1, &v, &(socklen_t){4}));
    say("SO_SNDBUF with a short length", setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, 2));
    say("shutdown of an unconnected socket", shutdown(s, SHUT_RDWR));
    close(s);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* everything printed survives a fatal signal */
    umask(022);
    snprintf(path1, sizeof path1, "/tmp/kiln-unix-%d-a", (int)getpid());
    snprintf(path2, sizeof path2, "/tmp/kiln-unix-%d-b", (int)getpid());
    snprintf(file_path, sizeof file_path, "/tmp/kiln-unix-%d-file", (int)getpid());
    stream_pair();
    blocking_and_waitall();
    path_sockets();
    abstract_sockets();
    datagrams();
    rights();
    credentials();
    epoll_readiness();
    errors();
    return 0;
}
