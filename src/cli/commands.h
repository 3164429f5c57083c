// Subcommands of the strata binary. Each add_* registers its options and
// callback on the CLI11 app; a callback that fails records a non-zero exit
// code, returned by exit_code() once parsing and the callback are done.
#pragma once

namespace CLI {
class App;
}

namespace strata::cli {

void add_serve_command(CLI::App& app);
void add_gc_command(CLI::App& app);
void add_keys_command(CLI::App& app);
void add_token_command(CLI::App& app);
void add_builder_command(CLI::App& app);
void add_build_command(CLI::App& app);
void add_builds_command(CLI::App& app);

void set_exit_code(int code);
int exit_code();

}  // namespace strata::cli
