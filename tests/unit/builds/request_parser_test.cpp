// POST /builds form rules: every field's validation and every refusal, and
// the multipart reading (staging of the source, unknown and missing fields).
#include "builds/request_parser.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"
#include "unit/auth/http_fixtures.h"

namespace strata::builds {
namespace {

using auth::testing::StringBody;

const oci::Digest kSource = oci::Digest::of(oci::DigestAlgorithm::sha256, "archive");

auth::Principal tenant(std::string id = "acme") { return *auth::Principal::tenant_principal(std::move(id)); }
auth::Principal operator_() { return auth::Principal::operator_principal(); }

Result<ValidatedForm> validate(const FormFields& fields, const auth::Principal& caller = tenant(),
                               const SecretStore& secrets = {}) {
  return validate_build_form(fields, kSource, 7, caller, secrets);
}

void expect_refused(const Result<ValidatedForm>& result, std::string_view code, std::string_view field) {
  ASSERT_FALSE(result.has_value()) << "expected a refusal of " << field;
  EXPECT_EQ(result.error().code, code);
  EXPECT_EQ(result.error().detail, field);
  if (code == kFieldInvalid) {
    EXPECT_TRUE(result.error().message.starts_with(std::string(field) + ":")) << result.error().message;
  }
}

TEST(ValidateBuildForm, DefaultsForATenantUseItsOwnCacheScope) {
  auto form = validate({});
  ASSERT_TRUE(form) << form.error().message;
  EXPECT_EQ(form->request.source_digest, kSource);
  EXPECT_EQ(form->request.source_size, 7u);
  EXPECT_EQ(form->request.cache_scope, "acme");
  EXPECT_FALSE(form->request.is_admin_build);
  EXPECT_EQ(form->request.timeout, std::chrono::seconds(3600));
  EXPECT_EQ(form->request.network_mode, NetworkMode::isolated);
  EXPECT_EQ(form->request.dockerfile_path, "");
  EXPECT_FALSE(form->dockerfile_text);
}

TEST(ValidateBuildForm, OperatorHasNoCacheScopeUnlessGiven) {
  auto form = validate({}, operator_());
  ASSERT_TRUE(form);
  EXPECT_EQ(form->request.cache_scope, "");
  auto scoped = validate({{"cache_scope", "team-a"}}, operator_());
  ASSERT_TRUE(scoped);
  EXPECT_EQ(scoped->request.cache_scope, "team-a");
}

TEST(ValidateBuildForm, AcceptsEveryFieldWhenValid) {
  testing::TempDir secrets_dir;
  std::ofstream(secrets_dir.path() / "npmrc") << "token";
  SecretStore secrets(secrets_dir.path());
  auto form = validate({{"dockerfile", "FROM scratch\n"},
                        {"dockerfile_path", "docker/Dockerfile.prod"},
                        {"cache_scope", "acme"},
                        {"global_cache_key", "node-20.x_base"},
                        {"is_admin_build", "false"},
                        {"build_args", R"({"VERSION":"1.2","_X":""})"},
                        {"target", "runtime"},
                        {"secrets", R"([{"id":"npmrc","env_var":"NPM_TOKEN"}])"},
                        {"timeout_seconds", "120"},
                        {"network_mode", "egress"}},
                       tenant(), secrets);
  ASSERT_TRUE(form) << form.error().message;
  const BuildRequest& request = form->request;
  EXPECT_EQ(form->dockerfile_text, "FROM scratch\n");
  EXPECT_EQ(request.dockerfile_path, "docker/Dockerfile.prod");
  EXPECT_EQ(request.global_cache_key, "node-20.x_base");
  EXPECT_EQ(request.build_args, (std::map<std::string, std::string>{{"VERSION", "1.2"}, {"_X", ""}}));
  EXPECT_EQ(request.target, "runtime");
  EXPECT_EQ(request.secrets, (std::vector<SecretRequest>{{"npmrc", "NPM_TOKEN"}}));
  EXPECT_EQ(request.timeout, std::chrono::seconds(120));
  EXPECT_EQ(request.network_mode, NetworkMode::egress);
}

TEST(ValidateBuildForm, TenantSettingIsAdminBuildIsForbidden) {
  expect_refused(validate({{"is_admin_build", "true"}}), kForbidden, "is_admin_build");
  expect_refused(validate({{"is_admin_build", "1"}}), kForbidden, "is_admin_build");
  auto refused = validate({{"is_admin_build", "true"}});
  EXPECT_EQ(refused.error().message, "is_admin_build requires the operator role");
}

TEST(ValidateBuildForm, OperatorMayRunAdminBuilds) {
  auto form = validate({{"is_admin_build", "1"}, {"global_cache_key", "node"}}, operator_());
  ASSERT_TRUE(form);
  EXPECT_TRUE(form->request.is_admin_build);
  auto off = validate({{"is_admin_build", "0"}}, operator_());
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->request.is_admin_build);
}

TEST(ValidateBuildForm, IsAdminBuildMustBeAFlag) {
  for (const char* value : {"yes", "TRUE", "", "2"})
    expect_refused(validate({{"is_admin_build", value}}, operator_()), kFieldInvalid, "is_admin_build");
}

TEST(ValidateBuildForm, TenantNamingAnotherCacheScopeIsForbidden) {
  expect_refused(validate({{"cache_scope", "globex"}}), kForbidden, "cache_scope");
  auto own = validate({{"cache_scope", "acme"}});
  ASSERT_TRUE(own);
  EXPECT_EQ(own->request.cache_scope, "acme");
}

// The rules themselves are tested in cache_names_test.cpp; these check the
// form applies them to both fields.
TEST(ValidateBuildForm, CacheScopeMustBeOneRepositoryPathComponent) {
  for (const std::string& scope : std::vector<std::string>{"global", "a", "Acme", "-acme", "ac/me", "cache/global", "",
                                                          "../acme", "a..b", "a.", std::string(64, 'a')})
    expect_refused(validate({{"cache_scope", scope}}, operator_()), kFieldInvalid, "cache_scope");
  for (const std::string& scope : std::vector<std::string>{"team-a", "team.a", "team_a"}) {
    auto form = validate({{"cache_scope", scope}}, operator_());
    ASSERT_TRUE(form) << scope << ": " << form.error().message;
    EXPECT_EQ(form->request.cache_scope, scope);
  }
}

TEST(ValidateBuildForm, TenantInvalidScopeIsRefusedBeforeItsRoleIsChecked) {
  expect_refused(validate({{"cache_scope", "../globex"}}), kFieldInvalid, "cache_scope");
  expect_refused(validate({{"cache_scope", "Acme"}}), kFieldInvalid, "cache_scope");
}

TEST(ValidateBuildForm, GlobalCacheKeyMustBeOneRepositoryPathComponent) {
  for (const std::string& key : std::vector<std::string>{"node", "a", "node-20.x_y", "global", std::string(64, 'k')})
    EXPECT_TRUE(validate({{"global_cache_key", key}})) << key;
  for (const std::string& key : std::vector<std::string>{"", "Node", ".node", "-node", "no/de", "node key", "../node",
                                                        "a..b", "node.", std::string(65, 'k')})
    expect_refused(validate({{"global_cache_key", key}}), kFieldInvalid, "global_cache_key");
}

TEST(ValidateBuildForm, BuildArgsMustBeAnObjectOfStrings) {
  for (const char* args : {"[]", "\"x\"", "{", R"({"A":1})", R"({"A":null})", R"({"1A":"x"})", R"({"A-B":"x"})"})
    expect_refused(validate({{"build_args", args}}), kFieldInvalid, "build_args");
}

TEST(ValidateBuildForm, TargetMustBeAStageName) {
  for (const char* target : {"", "-x", "a b", "a/b"})
    expect_refused(validate({{"target", target}}), kFieldInvalid, "target");
}

TEST(ValidateBuildForm, SecretsMustBeKnownToTheStore) {
  testing::TempDir secrets_dir;
  std::ofstream(secrets_dir.path() / "npmrc") << "token";
  SecretStore secrets(secrets_dir.path());
  for (const char* list : {R"([{"id":"missing"}])", R"({"id":"npmrc"})", R"([{"env_var":"X"}])",
                           R"([{"id":"npmrc","other":1}])", R"([{"id":"../npmrc"}])", R"([{"id":"npmrc","env_var":"1X"}])",
                           R"([{"id":"npmrc"},{"id":"npmrc"}])", R"(["npmrc"])", "not json"})
    expect_refused(validate({{"secrets", list}}, tenant(), secrets), kFieldInvalid, "secrets");
  expect_refused(validate({{"secrets", R"([{"id":"npmrc"}])"}}), kFieldInvalid, "secrets");  // no store
}

TEST(ValidateBuildForm, TimeoutIsOneSecondToOneDay) {
  EXPECT_EQ(validate({{"timeout_seconds", "1"}})->request.timeout, std::chrono::seconds(1));
  EXPECT_EQ(validate({{"timeout_seconds", "86400"}})->request.timeout, std::chrono::seconds(86400));
  for (const char* value : {"0", "86401", "-5", "10s", "", "1.5"})
    expect_refused(validate({{"timeout_seconds", value}}), kFieldInvalid, "timeout_seconds");
}

TEST(ValidateBuildForm, NetworkModeIsIsolatedOrEgress) {
  EXPECT_EQ(validate({{"network_mode", "isolated"}})->request.network_mode, NetworkMode::isolated);
  for (const char* value : {"host", "", "Egress"})
    expect_refused(validate({{"network_mode", value}}), kFieldInvalid, "network_mode");
}

TEST(ValidateBuildForm, DockerfilePathStaysInTheContext) {
  for (const char* path : {"/etc/Dockerfile", "../Dockerfile", "a/../../Dockerfile", ""})
    expect_refused(validate({{"dockerfile_path", path}}), kFieldInvalid, "dockerfile_path");
}

TEST(ValidateBuildForm, InlineDockerfileMustNotBeBlank) {
  expect_refused(validate({{"dockerfile", " \n"}}), kFieldInvalid, "dockerfile");
}

// ---- multipart -------------------------------------------------------------------

constexpr std::string_view kBoundary = "XyZboundary";

std::string form_body(const std::vector<std::pair<std::string, std::string>>& fields,
                      std::optional<std::string> source) {
  std::string body;
  for (const auto& [name, value] : fields)
    body += "--" + std::string(kBoundary) + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" +
            value + "\r\n";
  if (source)
    body += "--" + std::string(kBoundary) +
            "\r\nContent-Disposition: form-data; name=\"source\"; filename=\"ctx.tar\"\r\n"
            "Content-Type: application/x-tar\r\n\r\n" + *source + "\r\n";
  return body + "--" + std::string(kBoundary) + "--\r\n";
}

Result<ReceivedForm> receive(const std::string& body, const testing::TempDir& staging,
                             std::uint64_t max_source = 1 << 20) {
  StringBody reader(body);
  return receive_build_form(reader, "multipart/form-data; boundary=" + std::string(kBoundary),
                            {staging.path(), max_source});
}

TEST(ReceiveBuildForm, StagesTheSourceAndCollectsTextFields) {
  testing::TempDir staging;
  auto form = receive(form_body({{"target", "app"}, {"build_args", "{}"}}, "tar bytes"), staging);
  ASSERT_TRUE(form) << form.error().message;
  EXPECT_EQ(form->fields, (FormFields{{"build_args", "{}"}, {"target", "app"}}));
  EXPECT_EQ(form->source.size(), 9u);
  EXPECT_EQ(form->source.digest(), oci::Digest::of(oci::DigestAlgorithm::sha256, "tar bytes"));
  std::ifstream staged(form->source.file());
  std::string content((std::istreambuf_iterator<char>(staged)), {});
  EXPECT_EQ(content, "tar bytes");
}

TEST(ReceiveBuildForm, DroppingTheFormRemovesTheStagedUpload) {
  testing::TempDir staging;
  {
    auto form = receive(form_body({}, "tar bytes"), staging);
    ASSERT_TRUE(form);
    EXPECT_EQ(testing::count_files(staging.path()), 1u);
  }
  EXPECT_EQ(testing::count_files(staging.path()), 0u);
}

TEST(ReceiveBuildForm, MissingSourceIsAFieldError) {
  testing::TempDir staging;
  auto form = receive(form_body({{"target", "app"}}, std::nullopt), staging);
  ASSERT_FALSE(form);
  EXPECT_EQ(form.error().code, kFieldInvalid);
  EXPECT_EQ(form.error().detail, "source");
}

TEST(ReceiveBuildForm, UnknownFieldIsRefusedByName) {
  testing::TempDir staging;
  auto form = receive(form_body({{"privileged", "true"}}, "tar"), staging);
  ASSERT_FALSE(form);
  EXPECT_EQ(form.error().code, kFieldInvalid);
  EXPECT_EQ(form.error().detail, "privileged");
  EXPECT_EQ(testing::count_files(staging.path()), 0u);
}

TEST(ReceiveBuildForm, OversizedSourceIsRefusedAndNotKept) {
  testing::TempDir staging;
  auto form = receive(form_body({}, std::string(2000, 'x')), staging, 1000);
  ASSERT_FALSE(form);
  EXPECT_EQ(form.error().detail, "source");
  EXPECT_EQ(testing::count_files(staging.path()), 0u);
}

TEST(ReceiveBuildForm, EmptySourceIsRefused) {
  testing::TempDir staging;
  auto form = receive(form_body({}, ""), staging);
  ASSERT_FALSE(form);
  EXPECT_EQ(form.error().detail, "source");
}

TEST(ReceiveBuildForm, NotAFormIsMultipartInvalid) {
  testing::TempDir staging;
  StringBody reader("{}");
  auto form = receive_build_form(reader, "application/json", {staging.path(), 1000});
  ASSERT_FALSE(form);
  EXPECT_EQ(form.error().code, "MULTIPART_INVALID");
}

}  // namespace
}  // namespace strata::builds
