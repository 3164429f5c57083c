/* A hostile tenant's fork bomb, run inside a RUN step, with a cap of its own
 * so that a run without a process limit cannot take the host.
 *
 * usage: fork_bomb <cap> <hold seconds>
 *
 * Forks children that only sleep until fork fails or <cap> children run,
 * then holds them for <hold seconds> (the pressure other builds must stand)
 * and exits 1 either way, printing
 *   fork_bomb: fork failed after <n> processes: <errno name>
 * or
 *   fork_bomb: <cap> processes and no limit stopped it
 * Children die with the step: the bomb is its container's first process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: fork_bomb <cap> <hold seconds>\n");
    return 2;
  }
  int cap = atoi(argv[1]);
  int hold = atoi(argv[2]);
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int n = 0; n < cap; n++) {
    pid_t pid = fork();
    if (pid == 0) {
      sleep((unsigned)hold + 30);
      _exit(0);
    }
    if (pid < 0) {
      printf("fork_bomb: fork failed after %d processes: %s\n", n, strerrorname_np(errno));
      sleep((unsigned)hold);
      return 1;
    }
  }
  printf("fork_bomb: %d processes and no limit stopped it\n", cap);
  return 1;
}
