/* resolve: waits until /etc/resolv.conf names a server (it follows DHCP or kiln.dns=), prints
 * it, then resolves each NAME argument with getaddrinfo for AF_INET, AF_INET6 and AF_UNSPEC
 * through musl's resolver and prints one line per call:
 *   resolve: NAME AF_INET 10.77.0.9
 *   resolve: NAME AF_UNSPEC 10.77.0.9 fd77::9
 *   resolve: NAME AF_INET error EAI_NONAME
 * Used by tests/resolver.rs with dnsmasq in the test's namespace. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static int read_resolv_conf(char *buf, size_t len) {
    FILE *f = fopen("/etc/resolv.conf", "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, "nameserver ") != NULL;
}

static const char *eai_name(int e) {
    switch (e) {
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_FAMILY: return "EAI_FAMILY";
    case EAI_SYSTEM: return "EAI_SYSTEM";
    default: return "EAI_OTHER";
    }
}

static void resolve(const char *name, int family, const char *family_name) {
    struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    int e = getaddrinfo(name, NULL, &hints, &res);
    printf("resolve: %s %s", name, family_name);
    if (e) {
        printf(" error %s\n", eai_name(e));
        return;
    }
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        char text[INET6_ADDRSTRLEN];
        const void *addr = a->ai_family == AF_INET
                               ? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
                               : (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
        printf(" %s", inet_ntop(a->ai_family, addr, text, sizeof text));
    }
    printf("\n");
    freeaddrinfo(res);
}

int main(int argc, char **argv) {
    char conf[1024];
    int waited = 0;
    while (!read_resolv_conf(conf, sizeof conf) && waited < 600) {
        struct timespec t = {0, 100 * 1000 * 1000};
        nanosleep(&t, NULL);
        waited++;
    }
    printf("resolve: /etc/resolv.conf after %d ms:\n%s", waited * 100, conf);
    for (int i = 1; i < argc; i++) {
        resolve(argv[i], AF_INET, "AF_INET");
        resolve(argv[i], AF_INET6, "AF_INET6");
        resolve(argv[i], AF_UNSPEC, "AF_UNSPEC");
    }
    printf("resolve: done\n");
    return 0;
}
