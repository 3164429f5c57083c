// Microbenchmarks of what strata's auth guard does on every /v2/ request:
// verify the registry token (from the TokenService cache, or in full with
// HS256 or ES256 when the cache is off) and ask the token's GrantSet whether
// the route's action is allowed. Issue 3 asks that auth cost under 10% of
// manifest GET RPS; these figures say where that cost goes.
//
// The tokens carry a tenant-shaped grant set (5 grants, patterns included),
// so the JSON parsed and the patterns matched are the size real ones are.
// The RevocationList lives in a temporary directory removed at exit.
// Usage: auth_bench [--benchmark_* flags]; see bench/README.md.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "auth/access.h"
#include "auth/revocation.h"
#include "auth/signing_key.h"
#include "auth/token_service.h"

namespace strata::auth {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kHsKid = "hs-bench";
constexpr std::string_view kEsKid = "es-bench";

[[noreturn]] void die(std::string_view what, const Error& error) {
  std::fprintf(stderr, "auth_bench: %.*s: %s %s\n", static_cast<int>(what.size()), what.data(),
               error.code.c_str(), error.message.c_str());
  std::exit(2);
}

template <class T>
T must(Result<T> result, std::string_view what) {
  if (!result) die(what, result.error());
  return std::move(*result);
}

void must(Result<void> result, std::string_view what) {
  if (!result) die(what, result.error());
}

// What a tenant's build token looks like: its own namespace, its cache, the
// global cache, a shared namespace and the build's own repository.
GrantSet tenant_grants() {
  GrantSet grants;
  grants.add({ResourceType::repository, "acme/**", ActionSet::all()});
  grants.add({ResourceType::repository, "cache/acme", Action::push});
  grants.add({ResourceType::repository, "cache/global/**", Action::pull});
  grants.add({ResourceType::repository, "library/**", Action::pull});
  grants.add({ResourceType::repository, "builds/b-20240601-7f3a", Action::push});
  return grants;
}

// Keys, revocation list and one minted token per algorithm, shared by every
// benchmark; created in main before any benchmark runs.
struct Fixture {
  std::filesystem::path dir;
  std::unique_ptr<RevocationList> revocations;
  KeySet keys;
  std::string hs_token;
  std::string es_token;

  std::unique_ptr<TokenService> service(std::string_view signing_kid, std::size_t cache_capacity) const {
    TokenServiceOptions options;
    options.cache_capacity = cache_capacity;
    return must(TokenService::create(keys, signing_kid, *revocations, options), "TokenService::create");
  }
};

Fixture* fixture = nullptr;

void verify_each_iteration(benchmark::State& state, const TokenService& service, const std::string& token) {
  for (auto _ : state) {
    auto access = service.verify_registry_token(token);
    if (!access) {
      state.SkipWithError(access.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(access);
  }
  state.SetItemsProcessed(state.iterations());
}

// The common case: a client sends the same token on every request.
void BM_VerifyCached(benchmark::State& state) {
  auto service = fixture->service(kHsKid, TokenServiceOptions{}.cache_capacity);
  verify_each_iteration(state, *service, fixture->hs_token);
}

void BM_VerifyUncachedHS256(benchmark::State& state) {
  auto service = fixture->service(kHsKid, 0);
  verify_each_iteration(state, *service, fixture->hs_token);
}

void BM_VerifyUncachedES256(benchmark::State& state) {
  auto service = fixture->service(kEsKid, 0);
  verify_each_iteration(state, *service, fixture->es_token);
}

// GrantSet::allows for the question a request asks. Arg 0: allowed by the
// first grant; 1: allowed by the last grant; 2: denied (every grant tried).
void BM_GrantSetAllows(benchmark::State& state) {
  struct Query {
    std::string_view repository;
    Action action;
    bool expected;
  };
  static constexpr Query kQueries[] = {
      {"acme/app/frontend", Action::pull, true},
      {"builds/b-20240601-7f3a", Action::push, true},
      {"cache/global/node/x", Action::push, false},
  };
  const Query& query = kQueries[state.range(0)];
  const GrantSet grants = tenant_grants();
  state.SetLabel(std::string(query.repository) + (query.action == Action::pull ? " pull" : " push") +
                 (query.expected ? " -> allowed" : " -> denied"));
  for (auto _ : state) {
    bool allowed = grants.allows(query.repository, query.action);
    benchmark::DoNotOptimize(allowed);
    if (allowed != query.expected) {
      state.SkipWithError("GrantSet::allows answered differently than expected");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_VerifyCached);
BENCHMARK(BM_VerifyUncachedHS256);
BENCHMARK(BM_VerifyUncachedES256);
BENCHMARK(BM_GrantSetAllows)->DenseRange(0, 2);

// Temp dir, keys and tokens are made before any benchmark runs, so setup
// never shows in the figures.
Fixture make_fixture() {
  Fixture f;
  std::string dir_template = (std::filesystem::temp_directory_path() / "strata-auth-bench-XXXXXX").string();
  if (mkdtemp(dir_template.data()) == nullptr) {
    std::perror("auth_bench: mkdtemp");
    std::exit(2);
  }
  f.dir = dir_template;
  f.revocations = must(RevocationList::open(f.dir), "RevocationList::open");
  must(f.keys.add(must(Key::hs256(std::string(kHsKid), std::string(32, 'k')), "Key::hs256")), "KeySet::add");
  must(f.keys.add(must(Key::es256_generate(std::string(kEsKid)), "Key::es256_generate")), "KeySet::add");
  const GrantSet grants = tenant_grants();
  f.hs_token = must(f.service(kHsKid, 0)->mint_registry_token("tenant:acme", grants, 2h), "mint HS256").token;
  f.es_token = must(f.service(kEsKid, 0)->mint_registry_token("tenant:acme", grants, 2h), "mint ES256").token;
  return f;
}

}  // namespace
}  // namespace strata::auth

int main(int argc, char** argv) {
  using namespace strata::auth;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  Fixture f = make_fixture();
  fixture = &f;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  f.revocations.reset();  // closes auth.db before its directory goes
  std::error_code ignored;
  std::filesystem::remove_all(f.dir, ignored);
  return 0;
}
