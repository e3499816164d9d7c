/* The generated /etc/services and /etc/protocols against Debian's netbase files
 * (differential: tests/diff.rs): musl's getservbyname/getservbyport read /etc/services;
 * getprotobyname has a table of its own, so /etc/protocols is also read directly. */
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void serv(const char *name, const char *proto) {
    struct servent *s = getservbyname(name, proto);
    if (!s) {
        printf("getservbyname(%s, %s): none\n", name, proto ? proto : "NULL");
        return;
    }
    printf("getservbyname(%s, %s): %s %d/%s", name, proto ? proto : "NULL", s->s_name,
           ntohs(s->s_port), s->s_proto);
    for (char **a = s->s_aliases; a && *a; a++)
        printf(" alias %s", *a);
    printf("\n");
}

static void port(int p, const char *proto) {
    struct servent *s = getservbyport(htons(p), proto);
    printf("getservbyport(%d, %s): %s\n", p, proto, s ? s->s_name : "none");
}

/* The number /etc/protocols gives `name`, read as programs that parse it do. */
static void protocol_line(const char *name) {
    FILE *f = fopen("/etc/protocols", "r");
    if (!f) {
        printf("/etc/protocols: missing\n");
        return;
    }
    char line[256], n[64], alias[64];
    int number = -1;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        int k = sscanf(line, "%63s %d %63s", n, &number, alias);
        if (k >= 2 && strcmp(n, name) == 0) {
            printf("/etc/protocols: %s is %d (%s)\n", name, number, k == 3 ? alias : "-");
            fclose(f);
            return;
        }
    }
    fclose(f);
    printf("/etc/protocols: no %s\n", name);
}

int main(void) {
    const char *names[] = {"http", "www", "https", "domain", "ssh", "smtp", "mail",
                           "submission", "imaps", "pop3s", "ntp", "syslog", "ldap",
                           "postgresql", "postgres", "mysql", "redis", "http-alt",
                           "webcache", "mdns", "sip", "xmpp-client", "git", "rsync",
                           "kerberos", "krb5", "tftp", "bootps", "domain-s", "amqp"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        serv(names[i], "tcp");
        serv(names[i], "udp");
    }
    serv("http", NULL);
    serv("no-such-service", "tcp");
    int ports[] = {22, 25, 53, 80, 123, 443, 587, 993, 3306, 5432, 6379, 8080, 12345};
    for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++) {
        port(ports[i], "tcp");
        port(ports[i], "udp");
    }
    struct protoent *p = getprotobyname("tcp");
    printf("getprotobyname(tcp): %d\n", p ? p->p_proto : -1);
    const char *protos[] = {"ip", "icmp", "tcp", "udp", "ipv6", "ipv6-icmp", "gre", "esp",
                            "sctp", "udplite", "mptcp", "nope"};
    for (size_t i = 0; i < sizeof protos / sizeof protos[0]; i++)
        protocol_line(protos[i]);
    struct stat st;
    printf("/var/tmp is a directory: %d\n", stat("/var/tmp", &st) == 0 && S_ISDIR(st.st_mode));
    printf("/var/tmp is writable: %d\n", access("/var/tmp", W_OK) == 0);
    char target[64] = {0};
    ssize_t n = readlink("/var/run", target, sizeof target - 1);
    printf("/var/run -> %s\n", n > 0 ? target : "(not a link)");
    printf("/run is a directory: %d\n", stat("/run", &st) == 0 && S_ISDIR(st.st_mode));
    return 0;
}
