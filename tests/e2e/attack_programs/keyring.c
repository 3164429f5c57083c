/* A hostile tenant writing into the kernel keyring, run inside a RUN step.
 *
 * usage: keyring <description>
 *
 * Calls add_key (into the user keyring), request_key, keyctl(GET_KEYRING_ID)
 * and keyctl(JOIN_SESSION_KEYRING) through syscall(2) and prints one line per
 * call: "keyring <call>: ok" or "keyring <call>: <errno name>". A key it did
 * add is revoked and unlinked at once, so a run outside a sandbox leaves
 * nothing in the host's keyring. Exits 0: the verdict is the test's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void print_result(const char *call, long rc) {
  printf("keyring %s: %s\n", call, rc >= 0 ? "ok" : strerrorname_np(errno));
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: keyring <description>\n");
    return 2;
  }
  const char *description = argv[1];
  long key = syscall(SYS_add_key, "user", description, "stolen", 6, KEY_SPEC_USER_KEYRING);
  print_result("add_key", key);
  if (key >= 0) {
    syscall(SYS_keyctl, KEYCTL_REVOKE, key);
    syscall(SYS_keyctl, KEYCTL_UNLINK, key, KEY_SPEC_USER_KEYRING);
  }
  print_result("request_key", syscall(SYS_request_key, "user", description, NULL, KEY_SPEC_PROCESS_KEYRING));
  print_result("keyctl_get_keyring_id", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0));
  print_result("keyctl_join_session_keyring", syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, description));
  return 0;
}
