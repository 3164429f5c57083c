// The process exit code set by subcommand callbacks.
#include "cli/commands.h"

namespace strata::cli {
namespace {
int g_exit_code = 0;
}
void set_exit_code(int code) { g_exit_code = code; }
int exit_code() { return g_exit_code; }
}  // namespace strata::cli
