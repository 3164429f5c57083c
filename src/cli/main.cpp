// strata: one binary for the server (serve) and its tools.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"strata: multi-tenant container image build service"};
  app.require_subcommand(1);
  strata::cli::add_serve_command(app);
  strata::cli::add_gc_command(app);
  strata::cli::add_keys_command(app);
  strata::cli::add_token_command(app);
  strata::cli::add_builder_command(app);
  strata::cli::add_build_command(app);
  strata::cli::add_builds_command(app);
  CLI11_PARSE(app, argc, argv);
  return strata::cli::exit_code();
}
