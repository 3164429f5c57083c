#include "builds/request_parser.h"

#include <charconv>
#include <cstdlib>
#include <fcntl.h>
#include <set>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "builds/cache_names.h"
#include "builds/field_error.h"
#include "common/unique_fd.h"
#include "http/multipart.h"

namespace strata::builds {
namespace {

using nlohmann::json;

constexpr std::string_view kSourceField = "source";
constexpr std::size_t kMaxFieldBytes = 64 * 1024;
constexpr std::int64_t kMaxTimeoutSeconds = 86400;

constexpr std::string_view kTextFields[] = {
    "dockerfile", "dockerfile_path", "cache_scope", "global_cache_key", "is_admin_build", "build_args",
    "target",     "secrets",         "timeout_seconds", "network_mode"};

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

// `first` for the first character, `rest` for the others, length in [min, max].
template <class First, class Rest>
bool matches(std::string_view text, std::size_t min, std::size_t max, First first, Rest rest) {
  if (text.size() < min || text.size() > max || !first(text.front())) return false;
  return std::all_of(text.begin() + 1, text.end(), rest);
}

bool is_valid_variable_name(std::string_view name) {
  auto first = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  return matches(name, 1, 256, first, [](char c) { return is_alnum(c) || c == '_'; });
}

bool is_valid_stage_name(std::string_view name) {
  return matches(name, 1, 128, [](char c) { return is_alnum(c) || c == '_'; },
                 [](char c) { return is_alnum(c) || c == '.' || c == '_' || c == '-'; });
}

Result<void> check_dockerfile_path(std::string_view text) {
  if (text.empty() || text.size() > 4096) return field_error("dockerfile_path", "must be 1 to 4096 bytes");
  if (text.front() == '/') return field_error("dockerfile_path", "must be relative to the context");
  if (text.find('\0') != std::string_view::npos) return field_error("dockerfile_path", "must not contain NUL");
  for (const auto& part : std::filesystem::path(text))
    if (part == "..") return field_error("dockerfile_path", "must not contain \"..\"");
  return {};
}

Result<bool> parse_flag(std::string_view text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  return field_error("is_admin_build", "must be true, 1, false or 0");
}

Result<std::chrono::seconds> parse_timeout(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > kMaxTimeoutSeconds)
    return field_error("timeout_seconds", fmt::format("must be an integer from 1 to {}", kMaxTimeoutSeconds));
  return std::chrono::seconds(value);
}

Result<std::map<std::string, std::string>> parse_build_args(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return field_error("build_args", "must be a JSON object of strings");
  std::map<std::string, std::string> args;
  for (const auto& [key, value] : doc.items()) {
    if (!is_valid_variable_name(key))
      return field_error("build_args", fmt::format("\"{}\" is not a valid build argument name", key));
    if (!value.is_string()) return field_error("build_args", fmt::format("\"{}\" must be a string", key));
    args[key] = value.get<std::string>();
  }
  return args;
}

Result<SecretRequest> parse_secret(const json& item, const SecretStore& store) {
  if (!item.is_object()) return field_error("secrets", "entries must be objects {\"id\", \"env_var\"?}");
  SecretRequest secret;
  for (const auto& [key, value] : item.items()) {
    if (key != "id" && key != "env_var") return field_error("secrets", fmt::format("unknown member \"{}\"", key));
    if (!value.is_string()) return field_error("secrets", fmt::format("\"{}\" must be a string", key));
  }
  auto id = item.find("id");
  if (id == item.end()) return field_error("secrets", "every entry needs an \"id\"");
  secret.id = id->get<std::string>();
  if (!is_valid_secret_id(secret.id)) return field_error("secrets", fmt::format("\"{}\" is not a valid secret id", secret.id));
  if (auto env = item.find("env_var"); env != item.end()) {
    secret.env_var = env->get<std::string>();
    if (!is_valid_variable_name(secret.env_var))
      return field_error("secrets", fmt::format("\"{}\" is not a valid environment variable name", secret.env_var));
  }
  if (!store.find(secret.id)) return field_error("secrets", fmt::format("unknown secret \"{}\"", secret.id));
  return secret;
}

Result<std::vector<SecretRequest>> parse_secrets(std::string_view text, const SecretStore& store) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_array()) return field_error("secrets", "must be a JSON list of {\"id\", \"env_var\"?}");
  std::vector<SecretRequest> secrets;
  std::set<std::string> seen;
  for (const auto& item : doc) {
    auto secret = parse_secret(item, store);
    if (!secret) return std::unexpected(secret.error());
    if (!seen.insert(secret->id).second) return field_error("secrets", fmt::format("\"{}\" is listed twice", secret->id));
    secrets.push_back(std::move(*secret));
  }
  return secrets;
}

// The caller's cache scope: a tenant's is its own id, whatever else it asks.
// The id goes through the scope rules too: a tenant id can be valid (say
// "acme-") without being a repository path component.
Result<std::string> authorize_cache_scope(const std::optional<std::string_view>& asked,
                                          const auth::Principal& caller) {
  if (asked) {
    if (auto valid = validate_cache_scope(*asked); !valid) return std::unexpected(valid.error());
  }
  if (caller.is_operator()) return std::string(asked.value_or(""));
  if (asked && *asked != caller.tenant)
    return forbidden("cache_scope", fmt::format("cache_scope: a tenant may only use its own cache scope \"{}\"",
                                                caller.tenant));
  if (!validate_cache_scope(caller.tenant))
    return field_error("cache_scope", fmt::format("the tenant id \"{}\" is not a valid cache scope (one repository "
                                                  "path component); ask the operator for a new tenant id",
                                                  caller.tenant));
  return caller.tenant;
}

std::optional<std::string_view> field(const FormFields& fields, std::string_view name) {
  auto it = fields.find(name);
  if (it == fields.end()) return std::nullopt;
  return std::string_view(it->second);
}

// Streams the source part into a new staging file, hashing it on the way.
Result<StagedSource> stage_source(http::MultipartPart& part, const FormLimits& limits) {
  std::string pattern = (limits.staging_dir / "upload-XXXXXX").string();
  UniqueFd fd(::mkstemp(pattern.data()));
  if (!fd) return fail("IO", "cannot create a staging file for the upload");
  std::filesystem::path file(pattern);
  auto discard = [&file](std::unexpected<Error> error) {
    std::error_code ec;
    std::filesystem::remove(file, ec);
    return error;
  };
  oci::Digester digester;
  std::uint64_t size = 0;
  std::vector<char> buffer(256 * 1024);
  for (;;) {
    auto n = part.read(buffer.data(), buffer.size());
    if (!n) return discard(std::unexpected(n.error()));
    if (*n == 0) break;
    size += *n;
    if (size > limits.max_source_bytes)
      return discard(field_error("source", fmt::format("the archive is larger than {} bytes", limits.max_source_bytes)));
    digester.update(buffer.data(), *n);
    for (std::size_t done = 0; done < *n;) {
      auto written = ::write(fd.get(), buffer.data() + done, *n - done);
      if (written < 0) {
        if (errno == EINTR) continue;
        return discard(fail("IO", "cannot write the staging file for the upload"));
      }
      done += static_cast<std::size_t>(written);
    }
  }
  if (fd.close() != 0) return discard(fail("IO", "cannot write the staging file for the upload"));
  if (size == 0) return discard(field_error("source", "the archive is empty"));
  return StagedSource(std::move(file), digester.finish(), size);
}

}  // namespace

StagedSource::~StagedSource() {
  if (file_.empty()) return;
  std::error_code ec;
  std::filesystem::remove(file_, ec);
}

StagedSource::StagedSource(StagedSource&& other) noexcept
    : file_(std::exchange(other.file_, {})), digest_(other.digest_), size_(other.size_) {}

Result<ReceivedForm> receive_build_form(http::BodyReader& body, std::string_view content_type,
                                        const FormLimits& limits) {
  auto reader = http::MultipartReader::open(body, content_type);
  if (!reader) return std::unexpected(reader.error());
  FormFields fields;
  std::optional<StagedSource> source;
  for (;;) {
    auto part = reader->next();
    if (!part) return std::unexpected(part.error());
    if (*part == nullptr) break;
    const std::string& name = (*part)->name();
    if (name == kSourceField) {
      auto staged = stage_source(**part, limits);
      if (!staged) return std::unexpected(staged.error());
      source.emplace(std::move(*staged));
      continue;
    }
    if (std::ranges::find(kTextFields, name) == std::end(kTextFields))
      return field_error(name, "unknown field");
    std::size_t limit = name == "dockerfile" ? kMaxDockerfileBytes : kMaxFieldBytes;
    auto text = (*part)->read_all(limit);
    if (!text) return field_error(name, fmt::format("must be at most {} bytes", limit));
    fields.emplace(name, std::move(*text));
  }
  if (!source) return field_error(kSourceField, "is required: a tar or tar.gz of the build context");
  return ReceivedForm{std::move(fields), std::move(*source)};
}

Result<ValidatedForm> validate_build_form(const FormFields& fields, const oci::Digest& source_digest,
                                          std::uint64_t source_size, const auth::Principal& caller,
                                          const SecretStore& secrets) {
  ValidatedForm form{BuildRequest{.source_digest = source_digest, .source_size = source_size}, std::nullopt};
  BuildRequest& request = form.request;
  if (auto text = field(fields, "dockerfile")) {
    if (text->find_first_not_of(" \t\r\n") == std::string_view::npos)
      return field_error("dockerfile", "must not be empty");
    form.dockerfile_text = std::string(*text);
  }
  if (auto path = field(fields, "dockerfile_path")) {
    if (auto ok = check_dockerfile_path(*path); !ok) return std::unexpected(ok.error());
    request.dockerfile_path = *path;
  }
  if (auto flag = field(fields, "is_admin_build")) {
    auto admin = parse_flag(*flag);
    if (!admin) return std::unexpected(admin.error());
    if (*admin && !caller.is_operator())
      return forbidden("is_admin_build", "is_admin_build requires the operator role");
    request.is_admin_build = *admin;
  }
  auto scope = authorize_cache_scope(field(fields, "cache_scope"), caller);
  if (!scope) return std::unexpected(scope.error());
  request.cache_scope = std::move(*scope);
  if (auto key = field(fields, "global_cache_key")) {
    if (auto valid = validate_global_cache_key(*key); !valid) return std::unexpected(valid.error());
    request.global_cache_key = *key;
  }
  if (auto text = field(fields, "build_args")) {
    auto args = parse_build_args(*text);
    if (!args) return std::unexpected(args.error());
    request.build_args = std::move(*args);
  }
  if (auto target = field(fields, "target")) {
    if (!is_valid_stage_name(*target)) return field_error("target", "must be a stage name ([A-Za-z0-9_][A-Za-z0-9._-]*)");
    request.target = *target;
  }
  if (auto text = field(fields, "secrets")) {
    auto list = parse_secrets(*text, secrets);
    if (!list) return std::unexpected(list.error());
    request.secrets = std::move(*list);
  }
  if (auto text = field(fields, "timeout_seconds")) {
    auto timeout = parse_timeout(*text);
    if (!timeout) return std::unexpected(timeout.error());
    request.timeout = *timeout;
  }
  if (auto text = field(fields, "network_mode")) {
    auto mode = parse_network_mode(*text);
    if (!mode) return field_error("network_mode", "must be \"isolated\" or \"egress\"");
    request.network_mode = *mode;
  }
  return form;
}

}  // namespace strata::builds
