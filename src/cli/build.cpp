// `strata build [DIR]`: packs a build context (honouring .dockerignore),
// submits it to the build service (multipart POST /builds), follows the
// build's events until it ends (reconnecting with Last-Event-ID when the
// stream drops) and shows its progress. Exit 0 when the build is ready (the
// image reference goes to stdout), 1 when it failed or was cancelled or could
// not be submitted (the reason goes to stderr).
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/build_progress.h"
#include "cli/builds_client.h"
#include "cli/commands.h"
#include "cli/context_archive.h"
#include "cli/sse_stream.h"
#include "common/unique_fd.h"

namespace strata::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kCommand = "build";
constexpr std::size_t kResponseLimit = 1024 * 1024;
// Reconnects in a row that bring no event before `strata build` gives up.
constexpr int kMaxFruitlessReconnects = 10;

struct BuildOptions {
  ServiceFlags service;
  std::string context = ".";
  std::string dockerfile;
  std::vector<std::string> build_args;
  std::string target;
  std::string cache_scope;
  std::string global_cache_key;
  bool admin = false;
  std::vector<std::string> secrets;
  int timeout_seconds = 0;
  std::string network;
};

using FormFields = std::vector<std::pair<std::string, std::string>>;

// "k=v" -> {"k":"v"}; a bare "k" takes k's value from the environment, as
// `docker build --build-arg k` does, and is left out when k is unset.
Result<json> build_args_json(const std::vector<std::string>& args) {
  json object = json::object();
  for (const auto& arg : args) {
    auto eq = arg.find('=');
    if (eq == 0) return fail("ARG_INVALID", "--build-arg needs a name: \"" + arg + "\"");
    if (eq != std::string::npos) {
      object[arg.substr(0, eq)] = arg.substr(eq + 1);
    } else if (const char* value = std::getenv(arg.c_str())) {
      object[arg] = value;
    }
  }
  return object;
}

// "id=npmrc" or "id=npmrc,env=NPM_TOKEN" -> {"id":..., "env_var":...}.
Result<json> secrets_json(const std::vector<std::string>& secrets) {
  json list = json::array();
  for (const auto& spec : secrets) {
    json secret = json::object();
    std::stringstream parts(spec);
    for (std::string part; std::getline(parts, part, ',');) {
      auto eq = part.find('=');
      std::string key = part.substr(0, eq);
      std::string value = eq == std::string::npos ? "" : part.substr(eq + 1);
      if (key == "id" && !value.empty()) {
        secret["id"] = value;
      } else if (key == "env" && !value.empty()) {
        secret["env_var"] = value;
      } else {
        return fail("SECRET_INVALID", "--secret takes id=ID[,env=VAR], not \"" + spec + "\"");
      }
    }
    if (!secret.contains("id")) return fail("SECRET_INVALID", "--secret needs id=ID: \"" + spec + "\"");
    list.push_back(std::move(secret));
  }
  return list;
}

// The Dockerfile as the server should find it: a path inside the context
// (sent with the context), or its text when -f names a file outside it.
struct DockerfileChoice {
  std::optional<std::string> context_path;  // '/'-separated, relative to the context
  std::optional<std::string> text;
};

Result<DockerfileChoice> choose_dockerfile(const BuildOptions& options) {
  if (options.dockerfile.empty()) return DockerfileChoice{"Dockerfile", std::nullopt};
  std::error_code ec;
  fs::path file = fs::weakly_canonical(options.dockerfile, ec);
  fs::path context = fs::weakly_canonical(options.context, ec);
  fs::path relative = file.lexically_relative(context);
  if (!relative.empty() && *relative.begin() != "..") return DockerfileChoice{relative.generic_string(), std::nullopt};
  std::ifstream in(options.dockerfile, std::ios::binary);
  if (!in) return fail("IO", "cannot read Dockerfile " + options.dockerfile);
  std::stringstream text;
  text << in.rdbuf();
  return DockerfileChoice{std::nullopt, text.str()};
}

Result<FormFields> form_fields(const BuildOptions& options, const DockerfileChoice& dockerfile) {
  FormFields fields;
  if (dockerfile.text) fields.emplace_back("dockerfile", *dockerfile.text);
  if (dockerfile.context_path && *dockerfile.context_path != "Dockerfile")
    fields.emplace_back("dockerfile_path", *dockerfile.context_path);
  auto args = build_args_json(options.build_args);
  if (!args) return std::unexpected(args.error());
  if (!args->empty()) fields.emplace_back("build_args", args->dump());
  auto secrets = secrets_json(options.secrets);
  if (!secrets) return std::unexpected(secrets.error());
  if (!secrets->empty()) fields.emplace_back("secrets", secrets->dump());
  if (!options.target.empty()) fields.emplace_back("target", options.target);
  if (!options.cache_scope.empty()) fields.emplace_back("cache_scope", options.cache_scope);
  if (!options.global_cache_key.empty()) fields.emplace_back("global_cache_key", options.global_cache_key);
  if (options.admin) fields.emplace_back("is_admin_build", "true");
  if (options.timeout_seconds > 0) fields.emplace_back("timeout_seconds", std::to_string(options.timeout_seconds));
  if (!options.network.empty()) fields.emplace_back("network_mode", options.network);
  return fields;
}

std::string random_boundary() {
  std::random_device random;
  std::string boundary = "strata-";
  for (int i = 0; i < 4; ++i) boundary += fmt::format("{:08x}", random());
  return boundary;
}

// A multipart/form-data body (RFC 7578): the text fields, then the context
// archive as the `source` file part, streamed from disk.
class MultipartUpload {
 public:
  MultipartUpload(const FormFields& fields, const ContextArchive& archive)
      : boundary_(random_boundary()), file_size_(archive.size()),
        file_(::open(archive.path().c_str(), O_RDONLY | O_CLOEXEC)) {
    for (const auto& [name, value] : fields)
      head_ += "--" + boundary_ + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
    head_ += "--" + boundary_ +
             "\r\nContent-Disposition: form-data; name=\"source\"; filename=\"context.tar.gz\"\r\n"
             "Content-Type: application/gzip\r\n\r\n";
    tail_ = "\r\n--" + boundary_ + "--\r\n";
  }

  bool opened() const { return static_cast<bool>(file_); }
  std::string content_type() const { return "multipart/form-data; boundary=" + boundary_; }

  http::StreamedBody body() {
    return http::StreamedBody{[this](char* buffer, std::size_t size) { return read(buffer, size); },
                              head_.size() + file_size_ + tail_.size()};
  }

 private:
  Result<std::size_t> read(char* buffer, std::size_t size) {
    if (offset_ < head_.size()) return copy(head_, offset_, buffer, size);
    std::uint64_t in_file = offset_ - head_.size();
    if (in_file < file_size_) {
      ssize_t n = ::read(file_.get(), buffer, std::min<std::uint64_t>(size, file_size_ - in_file));
      if (n <= 0) return fail("IO", "cannot read the context archive");
      offset_ += static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
    return copy(tail_, offset_ - head_.size() - file_size_, buffer, size);
  }

  std::size_t copy(const std::string& text, std::uint64_t from, char* buffer, std::size_t size) {
    if (from >= text.size()) return 0;
    std::size_t n = std::min<std::size_t>(size, text.size() - from);
    text.copy(buffer, n, from);
    offset_ += n;
    return n;
  }

  std::string boundary_;
  std::string head_;
  std::string tail_;
  std::uint64_t file_size_;
  UniqueFd file_;
  std::uint64_t offset_ = 0;
};

Result<json> submit(BuildsClient& service, const BuildOptions& options) {
  auto dockerfile = choose_dockerfile(options);
  if (!dockerfile) return std::unexpected(dockerfile.error());
  auto fields = form_fields(options, *dockerfile);
  if (!fields) return std::unexpected(fields.error());
  std::vector<std::string> always{".dockerignore"};
  if (dockerfile->context_path) always.push_back(*dockerfile->context_path);
  auto archive = ContextArchive::pack(options.context, always);
  if (!archive) return std::unexpected(archive.error());
  std::fprintf(stderr, "sending build context: %llu entries, %llu bytes\n",
               static_cast<unsigned long long>((*archive)->entries()),
               static_cast<unsigned long long>((*archive)->size()));

  MultipartUpload upload(*fields, **archive);
  if (!upload.opened()) return fail("IO", "cannot open " + (*archive)->path().string());
  http::ClientRequest request;
  request.method = "POST";
  request.url = "/builds";
  request.headers.set("Content-Type", upload.content_type());
  request.headers.set("Accept", "application/json");
  request.body = upload.body();
  auto response = service.send(std::move(request), kResponseLimit);
  if (!response) return std::unexpected(response.error());
  if (response->status / 100 != 2) return std::unexpected(BuildsClient::api_error(*response));
  auto doc = json::parse(response->body, nullptr, false);
  if (!doc.is_object() || !doc.contains("id") || !doc["id"].is_string())
    return fail("RESPONSE_INVALID", "the server accepted the build but sent no build id");
  return doc;
}

bool is_final(std::string_view status) { return status == "ready" || status == "failed" || status == "cancelled"; }

// Follows GET /builds/{id}/events?follow=true until a final status event,
// resuming after the last event id whenever the stream breaks off. Returns
// the final status.
Result<std::string> follow_events(BuildsClient& service, const std::string& id, BuildProgress& progress) {
  std::optional<std::string> final_status;
  std::optional<std::string> resume_after;
  int fruitless = 0;
  while (!final_status) {
    bool got_event = false;
    SseStream stream([&](const SseEvent& event) {
      got_event = true;
      if (event.type == "log") {
        progress.log_line(event.data);
      } else if (event.type == "status") {
        auto doc = json::parse(event.data, nullptr, false);
        std::string status = doc.is_object() ? doc.value("status", "") : "";
        if (status.empty()) return;
        progress.status(status);
        if (is_final(status)) final_status = status;
      }
    });
    http::ClientRequest request;
    request.url = "/builds/" + http::percent_encode(id) + "/events?follow=true";
    request.headers.set("Accept", "text/event-stream");
    if (resume_after) request.headers.set("Last-Event-ID", *resume_after);
    auto response = service.send(std::move(request), [&](std::string_view chunk) -> Result<void> {
      stream.feed(chunk);
      return {};
    });
    if (stream.last_id()) resume_after = stream.last_id();
    if (final_status) break;
    // A refusal will not change on retry; a broken stream or 5xx may.
    if (response && response->status / 100 == 4) return std::unexpected(BuildsClient::api_error(*response));
    fruitless = got_event ? 0 : fruitless + 1;
    if (fruitless > kMaxFruitlessReconnects) {
      return fail(response ? "STREAM_ENDED" : response.error().code,
                  "lost the event stream of build " + id +
                      (response ? "" : ": " + response.error().message) + "; it may still be running");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5000, 250 * (1 << std::min(fruitless, 5)))));
  }
  return *final_status;
}

int run_build(const BuildOptions& options) {
  BuildsClient service(options.service);
  auto submitted = submit(service, options);
  if (!submitted) return report_failure(kCommand, submitted.error());
  std::string id = (*submitted)["id"];
  std::fprintf(stderr, "build %s queued", id.c_str());
  if (submitted->contains("queue_position") && (*submitted)["queue_position"].is_number())
    std::fprintf(stderr, " (queue position %d)", (*submitted)["queue_position"].get<int>());
  std::fprintf(stderr, "\n");

  auto progress = BuildProgress::for_stream(stderr);
  auto status = follow_events(service, id, *progress);
  progress->finish();
  if (!status) return report_failure(kCommand, status.error());

  auto build = service.call("GET", "/builds/" + http::percent_encode(id));
  if (!build) return report_failure(kCommand, build.error());
  if (*status == "ready") {
    std::printf("%s\n", build->value("image", "").c_str());
    return 0;
  }
  std::string error = (*build).contains("error") && (*build)["error"].is_string() ? (*build)["error"].get<std::string>()
                                                                                    : "";
  std::fprintf(stderr, "build %s %s%s%s\n", id.c_str(), status->c_str(), error.empty() ? "" : ": ", error.c_str());
  return 1;
}

}  // namespace

void add_build_command(CLI::App& app) {
  auto options = std::make_shared<BuildOptions>();
  auto* cmd = app.add_subcommand("build", "Build a context directory on a strata build service");
  add_service_flags(*cmd, options->service);
  cmd->add_option("context", options->context, "build context directory")->capture_default_str();
  cmd->add_option("-f,--file", options->dockerfile, "Dockerfile (default: DIR/Dockerfile)");
  cmd->add_option("--build-arg", options->build_args, "build argument k=v (repeatable)")->allow_extra_args(false);
  cmd->add_option("--target", options->target, "stage to build (default: the last)");
  cmd->add_option("--cache-scope", options->cache_scope, "cache scope (tenants: their own id only)");
  cmd->add_option("--global-cache-key", options->global_cache_key, "shared cache key to import (and export with --admin)");
  cmd->add_flag("--admin", options->admin, "admin build: writes the global cache (operator only)");
  cmd->add_option("--secret", options->secrets, "secret from the server's store: id=ID[,env=VAR] (repeatable)")->allow_extra_args(false);
  cmd->add_option("--timeout", options->timeout_seconds, "build timeout in seconds (server default: 3600)")
      ->check(CLI::Range(1, 86400));
  cmd->add_option("--network", options->network, "network for RUN steps: isolated or egress")
      ->check(CLI::IsMember({"isolated", "egress"}));
  cmd->callback([options] { set_exit_code(run_build(*options)); });
}

}  // namespace strata::cli
