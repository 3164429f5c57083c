// The /builds handlers called directly with in-memory requests: submission
// (202, Location, queue positions, nothing stored when refused), field and
// role refusals with their status and field, visibility between tenants,
// cancel of a queued build, logs and events with resume. The manager is not
// started, so submitted builds stay queued.
#include "builds/api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/caller.h"
#include "auth/signing_key.h"
#include "support/temp_dir.h"
#include "unit/auth/http_fixtures.h"

namespace strata::builds {
namespace {

using auth::testing::body_of;
using auth::testing::header_of;
using auth::testing::TestRequest;
using nlohmann::json;

// A one-file ustar archive, written by hand so the test needs no tar tool.
std::string tar_with(const std::string& name, const std::string& content) {
  std::string header(512, '\0');
  name.copy(header.data(), name.size());
  std::snprintf(header.data() + 100, 8, "%07o", 0644);
  std::snprintf(header.data() + 108, 8, "%07o", 0);
  std::snprintf(header.data() + 116, 8, "%07o", 0);
  std::snprintf(header.data() + 124, 12, "%011o", static_cast<unsigned>(content.size()));
  std::snprintf(header.data() + 136, 12, "%011o", 0);
  header[156] = '0';
  std::string("ustar").copy(header.data() + 257, 5);
  header[263] = '0';
  header[264] = '0';
  std::fill(header.begin() + 148, header.begin() + 156, ' ');
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  std::snprintf(header.data() + 148, 8, "%06o", sum);
  std::string data = content + std::string((512 - content.size() % 512) % 512, '\0');
  return header + data + std::string(1024, '\0');
}

constexpr std::string_view kBoundary = "strataTestBoundary";

std::string form(const std::vector<std::pair<std::string, std::string>>& fields, const std::string& source) {
  std::string body;
  for (const auto& [name, value] : fields)
    body += "--" + std::string(kBoundary) + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" +
            value + "\r\n";
  body += "--" + std::string(kBoundary) +
          "\r\nContent-Disposition: form-data; name=\"source\"; filename=\"context.tar\"\r\n\r\n" + source + "\r\n";
  return body + "--" + std::string(kBoundary) + "--\r\n";
}

const std::string kContext = tar_with("Dockerfile", "FROM scratch\nCOPY hello /hello\n");

class BuildApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth::KeySet keys;
    ASSERT_TRUE(keys.add(*auth::Key::hs256("hs-1", "0123456789abcdef0123456789abcdef")));
    token_service = auth::TokenService::create(std::move(keys), "hs-1", *revocations).value();
    tokens = std::make_unique<BuildTokens>(*token_service, *revocations, std::vector<std::string>{"base/**"});
    store = BuildStore::open(dir.path()).value();
    logs = std::make_unique<EventLogs>(dir.path());
    ManagerOptions options;
    options.data_dir = dir.path();
    options.work_dir = dir.path() / "builder";
    manager = BuildManager::open(options, *store, *logs, *tokens, SecretStore()).value();
    add_build_routes(router, BuildApi{*manager, *store, *logs});
  }

  http::Response call(TestRequest& request, const auth::Principal& caller) {
    auth::set_api_caller(request.request, caller);
    auto match = router.match(request.request.method, request.request.path);
    EXPECT_TRUE(match.route) << request.request.method << " " << request.request.path;
    request.request.params = match.params;
    return match.route->handler(request.request);
  }

  http::Response submit(const auth::Principal& caller, const std::vector<std::pair<std::string, std::string>>& fields,
                        const std::string& source = kContext) {
    TestRequest request("POST", "/builds", {}, form(fields, source));
    request.header("Content-Type", "multipart/form-data; boundary=" + std::string(kBoundary));
    return call(request, caller);
  }

  http::Response get(const std::string& path, const auth::Principal& caller) {
    TestRequest request("GET", path);
    return call(request, caller);
  }

  std::size_t stored_files() { return testing::count_files(dir.path() / "sources"); }

  const auth::Principal acme = *auth::Principal::tenant_principal("acme");
  const auth::Principal globex = *auth::Principal::tenant_principal("globex");
  const auth::Principal admin = auth::Principal::operator_principal();

  strata::testing::TempDir dir;
  std::unique_ptr<auth::RevocationList> revocations = auth::RevocationList::open(dir.path()).value();
  std::unique_ptr<auth::TokenService> token_service;
  std::unique_ptr<BuildTokens> tokens;
  std::unique_ptr<BuildStore> store;
  std::unique_ptr<EventLogs> logs;
  std::unique_ptr<BuildManager> manager;
  http::Router router;
};

TEST_F(BuildApiTest, SubmitQueuesTheBuildWithItsPosition) {
  auto first = submit(acme, {});
  ASSERT_EQ(first.status, 202) << body_of(first);
  auto answer = json::parse(body_of(first));
  EXPECT_EQ(answer["status"], "queued");
  EXPECT_EQ(answer["queue_position"], 1);
  EXPECT_EQ(header_of(first, "Location"), "/builds/" + answer["id"].get<std::string>());
  auto second = json::parse(body_of(submit(globex, {})));
  EXPECT_EQ(second["queue_position"], 2);

  auto build = json::parse(body_of(get("/builds/" + answer["id"].get<std::string>(), acme)));
  EXPECT_EQ(build["tenant"], "acme");
  EXPECT_EQ(build["request"]["cache_scope"], "acme");
  EXPECT_EQ(build["provenance"]["source_digest"], oci::Digest::of(oci::DigestAlgorithm::sha256, kContext).str());
  EXPECT_EQ(build["provenance"]["dockerfile_digest"],
            oci::Digest::of(oci::DigestAlgorithm::sha256, "FROM scratch\nCOPY hello /hello\n").str());
}

TEST_F(BuildApiTest, TenantAdminBuildIsForbiddenAndNothingIsStored) {
  auto response = submit(acme, {{"is_admin_build", "true"}});
  EXPECT_EQ(response.status, 403);
  auto error = json::parse(body_of(response))["error"];
  EXPECT_EQ(error["code"], "FORBIDDEN");
  EXPECT_EQ(error["field"], "is_admin_build");
  EXPECT_EQ(error["message"], "is_admin_build requires the operator role");
  EXPECT_EQ(stored_files(), 0u);
  EXPECT_TRUE(store->list({})->builds.empty());
}

TEST_F(BuildApiTest, OtherTenantsCacheScopeIsForbidden) {
  auto response = submit(acme, {{"cache_scope", "globex"}});
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(json::parse(body_of(response))["error"]["field"], "cache_scope");
}

TEST_F(BuildApiTest, BadFieldIsA400NamingIt) {
  auto response = submit(acme, {{"global_cache_key", "Not Valid"}});
  EXPECT_EQ(response.status, 400);
  auto error = json::parse(body_of(response))["error"];
  EXPECT_EQ(error["code"], "FIELD_INVALID");
  EXPECT_EQ(error["field"], "global_cache_key");
  EXPECT_EQ(stored_files(), 0u);
}

TEST_F(BuildApiTest, TraversalArchiveIsRefusedAndNothingIsStored) {
  auto response = submit(acme, {{"dockerfile", "FROM scratch\n"}}, tar_with("../escape", "x"));
  EXPECT_EQ(response.status, 400) << body_of(response);
  EXPECT_EQ(json::parse(body_of(response))["error"]["field"], "source");
  EXPECT_EQ(stored_files(), 0u);
  EXPECT_TRUE(store->list({})->builds.empty());
}

TEST_F(BuildApiTest, MissingDockerfileIsA400) {
  auto response = submit(acme, {}, tar_with("hello", "hi"));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(json::parse(body_of(response))["error"]["field"], "dockerfile");
}

TEST_F(BuildApiTest, InlineDockerfileNeedsNoneInTheContext) {
  auto response = submit(acme, {{"dockerfile", "FROM scratch\n"}}, tar_with("hello", "hi"));
  EXPECT_EQ(response.status, 202) << body_of(response);
}

TEST_F(BuildApiTest, TenantSeesOnlyItsOwnBuilds) {
  auto id = json::parse(body_of(submit(acme, {})))["id"].get<std::string>();
  submit(globex, {});
  EXPECT_EQ(get("/builds/" + id, globex).status, 404);
  EXPECT_EQ(get("/builds/" + id + "/logs", globex).status, 404);
  EXPECT_EQ(get("/builds/" + id + "/events", globex).status, 404);
  auto mine = json::parse(body_of(get("/builds", acme)))["builds"];
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0]["id"], id);
  EXPECT_EQ(json::parse(body_of(get("/builds", admin)))["builds"].size(), 2u);
  EXPECT_EQ(get("/builds/bnotarealbuildid00000", admin).status, 404);
}

TEST_F(BuildApiTest, ListFiltersByStatusAndPages) {
  for (int i = 0; i < 3; ++i) submit(acme, {});
  TestRequest request("GET", "/builds");
  request.query("limit", "2");
  auto page = json::parse(body_of(call(request, acme)));
  EXPECT_EQ(page["builds"].size(), 2u);
  ASSERT_TRUE(page["next_after"].is_string());
  TestRequest rest("GET", "/builds");
  rest.query("after", page["next_after"].get<std::string>());
  EXPECT_EQ(json::parse(body_of(call(rest, acme)))["builds"].size(), 1u);
  TestRequest ready("GET", "/builds");
  ready.query("status", "ready");
  EXPECT_TRUE(json::parse(body_of(call(ready, acme)))["builds"].empty());
  TestRequest bad("GET", "/builds");
  bad.query("status", "done");
  EXPECT_EQ(call(bad, acme).status, 400);
}

TEST_F(BuildApiTest, CancelOfAQueuedBuildIsImmediateAndFinal) {
  auto id = json::parse(body_of(submit(acme, {})))["id"].get<std::string>();
  TestRequest cancel("DELETE", "/builds/" + id);
  auto response = call(cancel, acme);
  ASSERT_EQ(response.status, 202);
  EXPECT_EQ(json::parse(body_of(response))["status"], "cancelled");
  TestRequest again("DELETE", "/builds/" + id);
  auto refused = call(again, acme);
  EXPECT_EQ(refused.status, 409);
  EXPECT_EQ(json::parse(body_of(refused))["error"]["code"], "BUILD_FINAL");
}

std::vector<std::string> chunks_of(const http::Response& response) {
  std::vector<std::string> chunks;
  std::get<http::StreamBody>(response.body).produce([&chunks](std::string_view chunk) {
    chunks.emplace_back(chunk);
    return true;
  });
  return chunks;
}

std::string stream_of(const http::Response& response) {
  std::string out;
  for (const auto& chunk : chunks_of(response)) out += chunk;
  return out;
}

TEST_F(BuildApiTest, LogsStreamTheLogLinesOnlyInBoundedChunks) {
  auto id = json::parse(body_of(submit(acme, {})))["id"].get<std::string>();
  auto log = logs->open(id).value();
  std::string expected;
  for (int i = 0; i < 5000; ++i) {
    std::string line = "#1 output line " + std::to_string(i) + std::string(80, '.');
    ASSERT_TRUE(log->append_log(line));
    expected += line + "\n";
  }
  auto response = get("/builds/" + id + "/logs", acme);
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(header_of(response, "Content-Type"), "text/plain; charset=utf-8");
  auto chunks = chunks_of(response);
  EXPECT_GT(chunks.size(), 5u);
  for (const auto& chunk : chunks) EXPECT_LE(chunk.size(), kBatchBytes);
  std::string text;
  for (const auto& chunk : chunks) text += chunk;
  EXPECT_EQ(text, expected);  // the queued status event is not a log line
}

TEST_F(BuildApiTest, EventsOfALongLogComeInBoundedChunks) {
  auto id = json::parse(body_of(submit(acme, {})))["id"].get<std::string>();
  auto log = logs->open(id).value();
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(log->append_log("#1 output line " + std::to_string(i)));
  auto chunks = chunks_of(get("/builds/" + id + "/events", acme));
  EXPECT_GT(chunks.size(), 2u);
  std::size_t events = 0;
  for (const auto& chunk : chunks) {
    EXPECT_LE(chunk.size(), 2 * kBatchBytes);
    for (auto at = chunk.find("id: "); at != std::string::npos; at = chunk.find("id: ", at + 1)) ++events;
  }
  EXPECT_EQ(events, 5001u);  // queued, then the lines
}

TEST_F(BuildApiTest, EventsReplayAndResumeAfterLastEventId) {
  auto id = json::parse(body_of(submit(acme, {})))["id"].get<std::string>();
  TestRequest cancel("DELETE", "/builds/" + id);
  call(cancel, acme);
  auto all = stream_of(get("/builds/" + id + "/events", acme));
  EXPECT_EQ(all,
            "id: 1\nevent: status\ndata: {\"status\":\"queued\"}\n\n"
            "id: 2\nevent: status\ndata: {\"error\":\"cancelled\",\"status\":\"cancelled\"}\n\n");
  TestRequest resume("GET", "/builds/" + id + "/events");
  resume.header("Last-Event-ID", "1").query("follow", "true");
  auto rest = stream_of(call(resume, acme));
  EXPECT_EQ(rest, "id: 2\nevent: status\ndata: {\"error\":\"cancelled\",\"status\":\"cancelled\"}\n\n");
}

}  // namespace
}  // namespace strata::builds
