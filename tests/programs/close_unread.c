/* close_unread.c PORT: accepts one TCP connection, waits until the client's bytes have
 * arrived, and closes without reading them; tests/net.rs checks from the host that the client
 * gets a reset at once (and sees it in a capture) instead of writing into a window nobody
 * drains. Then exits. */
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 7;
	int l = socket(AF_INET6, SOCK_STREAM, 0), one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 4) != 0) {
		perror("listen");
		return 1;
	}
	printf("close_unread: listening on port %d\n", port);
	fflush(stdout);
	int c = accept(l, NULL, NULL);
	struct pollfd p = {.fd = c, .events = POLLIN};
	poll(&p, 1, 10000);
	usleep(200000);
	close(c);
	printf("close_unread: closed with unread data\n");
	fflush(stdout);
	sleep(5); /* the client's checks run while the guest still answers */
	return 0;
}
