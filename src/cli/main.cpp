// strata: one binary for the server (serve) and its tools.
#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"strata: multi-tenant container image build service"};
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
