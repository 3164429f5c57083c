/* A hostile tenant trying to reach services on the build host, run inside a
 * RUN step.
 *
 * usage: connect_probe <address> <port> [<address> <port>]...
 *
 * Makes one TCP connection to each numeric IPv4/IPv6 address and port (3 s
 * each at most) and prints one line per target:
 *   probe <address> <port>: connected
 *   probe <address> <port>: <errno name>        (ECONNREFUSED, EPERM, ...)
 *   probe <address> <port>: timed out
 * then "probe verdict: reached <k> of <n>". Exits 0: the verdict is the
 * test's, which also knows whether its listeners accepted anything.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* "connected", an errno name or "timed out". */
static const char *try_connect(const char *address, const char *port) {
  struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port))};
  struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons((unsigned short)atoi(port))};
  struct sockaddr *target = (struct sockaddr *)&v4;
  socklen_t target_len = sizeof v4;
  if (inet_pton(AF_INET6, address, &v6.sin6_addr) == 1) {
    target = (struct sockaddr *)&v6;
    target_len = sizeof v6;
  } else if (inet_pton(AF_INET, address, &v4.sin_addr) != 1) {
    return "bad address";
  }
  int fd = socket(target->sa_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return strerrorname_np(errno);
  int rc = connect(fd, target, target_len);
  const char *result = "connected";
  if (rc != 0 && errno != EINPROGRESS) {
    result = strerrorname_np(errno);
  } else if (rc != 0) {
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (poll(&p, 1, 3000) <= 0) {
      result = "timed out";
    } else {
      int error = 0;
      socklen_t len = sizeof error;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
      if (error != 0) result = strerrorname_np(error);
    }
  }
  close(fd);
  return result;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc % 2 != 1) {
    fprintf(stderr, "usage: connect_probe <address> <port> [<address> <port>]...\n");
    return 2;
  }
  int reached = 0, targets = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *result = try_connect(argv[i], argv[i + 1]);
    targets++;
    if (strcmp(result, "connected") == 0) reached++;
    printf("probe %s %s: %s\n", argv[i], argv[i + 1], result);
    fflush(stdout);
  }
  printf("probe verdict: reached %d of %d\n", reached, targets);
  return 0;
}
