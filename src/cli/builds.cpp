// `strata builds list|get|logs|cancel`: the builds a caller may see on a
// build service (a tenant its own, the operator all). `list` prints a table
// (every page, following next_after), `get` the build as JSON, `logs` the log
// text so far, `cancel` the status the build has after the cancel request.
// Exit 1 with the API's message when a call fails.
#include <CLI/CLI.hpp>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/builds_client.h"
#include "cli/commands.h"

namespace strata::cli {
namespace {

using nlohmann::json;

constexpr std::size_t kLogLimit = 256 * 1024 * 1024;

struct BuildsOptions {
  ServiceFlags service;
  std::string status;
  std::string id;
};

std::string text_of(const json& doc, const char* field) {
  auto it = doc.find(field);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "-";
}

std::string build_path(const std::string& id) { return "/builds/" + http::percent_encode(id); }

int list_builds(const BuildsOptions& options) {
  BuildsClient service(options.service);
  std::printf("%-28s %-10s %-20s %-21s %s\n", "ID", "STATUS", "TENANT", "CREATED", "IMAGE");
  std::string after;
  for (;;) {
    std::string path = "/builds?limit=100";
    if (!options.status.empty()) path += "&status=" + http::percent_encode(options.status);
    if (!after.empty()) path += "&after=" + http::percent_encode(after);
    auto page = service.call("GET", path);
    if (!page) return report_failure("builds list", page.error());
    for (const auto& build : page->value("builds", json::array()))
      std::printf("%-28s %-10s %-20s %-21s %s\n", text_of(build, "id").c_str(), text_of(build, "status").c_str(),
                  text_of(build, "tenant").c_str(), text_of(build, "created_at").c_str(),
                  text_of(build, "image").c_str());
    after = text_of(*page, "next_after");
    if (after == "-") return 0;
  }
}

int get_build(const BuildsOptions& options) {
  BuildsClient service(options.service);
  auto build = service.call("GET", build_path(options.id));
  if (!build) return report_failure("builds get", build.error());
  std::printf("%s\n", build->dump(2).c_str());
  return 0;
}

int build_logs(const BuildsOptions& options) {
  BuildsClient service(options.service);
  http::ClientRequest request;
  request.url = build_path(options.id) + "/logs";
  auto response = service.send(std::move(request), kLogLimit);
  if (!response) return report_failure("builds logs", response.error());
  if (response->status / 100 != 2) return report_failure("builds logs", BuildsClient::api_error(*response));
  std::fwrite(response->body.data(), 1, response->body.size(), stdout);
  return 0;
}

int cancel_build(const BuildsOptions& options) {
  BuildsClient service(options.service);
  auto build = service.call("DELETE", build_path(options.id));
  if (!build) return report_failure("builds cancel", build.error());
  std::printf("%s %s\n", options.id.c_str(), text_of(*build, "status").c_str());
  return 0;
}

// A subcommand of `builds` taking the service flags and, if `with_id`, a build id.
CLI::App* add_builds_subcommand(CLI::App& builds, BuildsOptions& options, const char* name, const char* about,
                                bool with_id) {
  auto* command = builds.add_subcommand(name, about);
  add_service_flags(*command, options.service);
  if (with_id) command->add_option("id", options.id, "build id")->required();
  return command;
}

}  // namespace

void add_builds_command(CLI::App& app) {
  auto options = std::make_shared<BuildsOptions>();
  auto* builds = app.add_subcommand("builds", "List, inspect and cancel builds on a build service");
  builds->require_subcommand(1);

  auto* list = add_builds_subcommand(*builds, *options, "list", "List builds", false);
  list->add_option("--status", options->status, "only builds with this status")
      ->check(CLI::IsMember({"queued", "building", "pushing", "ready", "failed", "cancelled"}));
  list->callback([options] { set_exit_code(list_builds(*options)); });

  add_builds_subcommand(*builds, *options, "get", "Show one build as JSON", true)
      ->callback([options] { set_exit_code(get_build(*options)); });
  add_builds_subcommand(*builds, *options, "logs", "Print a build's log so far", true)
      ->callback([options] { set_exit_code(build_logs(*options)); });
  add_builds_subcommand(*builds, *options, "cancel", "Cancel a queued or running build", true)
      ->callback([options] { set_exit_code(cancel_build(*options)); });
}

}  // namespace strata::cli
