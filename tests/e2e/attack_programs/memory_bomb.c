/* A hostile tenant's memory bomb, run inside a RUN step, with a cap of its
 * own so that a run without a memory limit cannot take the host.
 *
 * usage: memory_bomb <cap MiB>
 *
 * Allocates and touches 16 MiB at a time, printing every 64 MiB, until the
 * kernel stops it (the out-of-memory killer of the build's cgroup) or <cap>
 * MiB are in use; then prints
 *   memory_bomb: <cap> MiB and no limit stopped it
 * and exits 1. A failed allocation also exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: memory_bomb <cap MiB>\n");
    return 2;
  }
  int cap = atoi(argv[1]);
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int mib = 16; mib <= cap; mib += 16) {
    char *chunk = malloc(16 << 20);
    if (chunk == NULL) {
      printf("memory_bomb: allocation failed at %d MiB\n", mib);
      return 1;
    }
    memset(chunk, 0x5a, 16 << 20);
    if (mib % 64 == 0) printf("memory_bomb: %d MiB in use\n", mib);
  }
  printf("memory_bomb: %d MiB and no limit stopped it\n", cap);
  return 1;
}
