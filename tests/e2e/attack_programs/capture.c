/* A hostile tenant's packet capture, run inside a RUN step.
 *
 * usage: capture <port> <seconds> <marker>
 *
 * Opens an AF_PACKET socket on "lo" and a raw IPv4 TCP socket, and for up to
 * <seconds> prints what it sees of TCP traffic to or from <port> (the strata
 * server's): HTTP request lines, Authorization headers and anything shaped
 * like a JWT, each once. It stops early when a payload carries
 * "<marker>-end" (not the marker itself: the build's own log, which names
 * the command line, travels on the same port).
 * Every socket that cannot be opened is reported with its errno name; with
 * neither open it ends at once. Output lines start with "capture " so the
 * test can find them in the build log; the last is a count:
 *   capture summary: <packets> packets, <n> of port <port>
 * Exits 0: the verdict is the test's.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SEEN 512

static unsigned long seen[MAX_SEEN];
static int seen_count;

static unsigned long hash(const char *s, size_t n) {
  unsigned long h = 5381;
  for (size_t i = 0; i < n; i++) h = h * 33 + (unsigned char)s[i];
  return h;
}

/* Prints "capture <kind>: <text>" unless printed before (or too many). */
static void report(const char *kind, const char *text, size_t n) {
  unsigned long h = hash(text, n) ^ hash(kind, strlen(kind));
  for (int i = 0; i < seen_count; i++)
    if (seen[i] == h) return;
  if (seen_count == MAX_SEEN) return;
  seen[seen_count++] = h;
  printf("capture %s: %.*s\n", kind, (int)n, text);
  fflush(stdout);
}

static int starts_with(const char *p, size_t n, const char *prefix) {
  size_t k = strlen(prefix);
  return n >= k && strncasecmp(p, prefix, k) == 0;
}

static int is_jwt_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.';
}

/* Looks through one TCP payload; returns 1 when it carries the end marker. */
static int inspect(const char *payload, size_t n, const char *marker) {
  static const char *methods[] = {"GET ", "HEAD ", "POST ", "PUT ", "PATCH ", "DELETE "};
  size_t line = 0;
  while (line < n) {
    size_t end = line;
    while (end < n && payload[end] != '\r' && payload[end] != '\n') end++;
    const char *p = payload + line;
    size_t len = end - line;
    if (starts_with(p, len, "Authorization:")) report("header", p, len);
    for (size_t m = 0; m < sizeof methods / sizeof *methods; m++)
      if (starts_with(p, len, methods[m])) report("request", p, len);
    line = end + 1;
  }
  for (size_t i = 0; i + 3 < n; i++) {
    if (memcmp(payload + i, "eyJ", 3) != 0 || (i > 0 && is_jwt_char(payload[i - 1]))) continue;
    size_t end = i;
    while (end < n && is_jwt_char(payload[end])) end++;
    report("jwt", payload + i, end - i);
    i = end;
  }
  return memmem(payload, n, marker, strlen(marker)) != NULL;
}

/* An IPv4 or IPv6 packet carrying TCP: counts it when it is of `port`,
 * inspects its payload; returns 1 at the end marker. */
static int ip_packet(const unsigned char *ip, size_t n, int port, const char *marker, long *of_port) {
  const unsigned char *tcp;
  size_t rest;
  if (n >= sizeof(struct iphdr) && (ip[0] >> 4) == 4) {
    const struct iphdr *h = (const struct iphdr *)ip;
    size_t hl = (size_t)h->ihl * 4;
    if (h->protocol != IPPROTO_TCP || n < hl) return 0;
    tcp = ip + hl;
    rest = n - hl;
  } else if (n >= sizeof(struct ip6_hdr) && (ip[0] >> 4) == 6) {
    const struct ip6_hdr *h = (const struct ip6_hdr *)ip;
    if (h->ip6_nxt != IPPROTO_TCP) return 0;
    tcp = ip + sizeof *h;
    rest = n - sizeof *h;
  } else {
    return 0;
  }
  if (rest < sizeof(struct tcphdr)) return 0;
  const struct tcphdr *t = (const struct tcphdr *)tcp;
  if (ntohs(t->source) != port && ntohs(t->dest) != port) return 0;
  (*of_port)++;
  size_t off = (size_t)t->doff * 4;
  if (rest <= off) return 0;
  return inspect((const char *)tcp + off, rest - off, marker);
}

static int open_packet_socket(void) {
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (fd < 0) {
    printf("capture packet socket: %s\n", strerrorname_np(errno));
    return -1;
  }
  struct sockaddr_ll where = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                              .sll_ifindex = (int)if_nametoindex("lo")};
  if (where.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&where, sizeof where) != 0) {
    printf("capture packet socket: bind to lo: %s\n", strerrorname_np(errno));
    close(fd);
    return -1;
  }
  printf("capture packet socket: open on lo\n");
  return fd;
}

static int open_raw_socket(void) {
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_TCP);
  if (fd < 0) {
    printf("capture raw socket: %s\n", strerrorname_np(errno));
    return -1;
  }
  printf("capture raw socket: open\n");
  return fd;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: capture <port> <seconds> <marker>\n");
    return 2;
  }
  int port = atoi(argv[1]);
  int seconds = atoi(argv[2]);
  char marker[256];
  snprintf(marker, sizeof marker, "%s-end", argv[3]);
  struct pollfd fds[2] = {{.fd = open_packet_socket(), .events = POLLIN}, {.fd = open_raw_socket(), .events = POLLIN}};
  long packets = 0, of_port = 0;
  if (fds[0].fd < 0 && fds[1].fd < 0) {
    printf("capture summary: no socket to capture with\n");
    return 0;
  }
  printf("capture listening\n");
  fflush(stdout);
  static unsigned char buf[1 << 17];
  time_t deadline = time(NULL) + seconds;
  int done = 0;
  while (!done && time(NULL) < deadline) {
    if (poll(fds, 2, 200) <= 0) continue;
    for (int i = 0; i < 2 && !done; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & POLLIN)) continue;
      struct sockaddr_ll from;
      socklen_t from_len = sizeof from;
      ssize_t n = recvfrom(fds[i].fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len);
      if (n <= 0) continue;
      packets++;
      if (i == 0) {
        /* lo shows every packet twice, leaving and arriving: take one. */
        if (from.sll_pkttype == PACKET_OUTGOING || n < ETH_HLEN) continue;
        done = ip_packet(buf + ETH_HLEN, (size_t)n - ETH_HLEN, port, marker, &of_port);
      } else {
        done = ip_packet(buf, (size_t)n, port, marker, &of_port);
      }
    }
  }
  printf("capture summary: %ld packets, %ld of port %d%s\n", packets, of_port, port, done ? ", end marker seen" : "");
  return 0;
}
