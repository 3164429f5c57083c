// Cache keys: same inputs give the same key, any change of any input (and of
// any key before it) gives another, and field framing keeps neighbouring
// fields from trading bytes.
#include "engine/cache/step_key.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "engine/cache/canonical.h"

namespace strata::engine::cache {
namespace {

oci::Digest base() { return base_key(oci::Digest::of(oci::DigestAlgorithm::sha256, "manifest")); }

StepInputs sample() {
  StepInputs inputs;
  inputs.instruction = "RUN make";
  inputs.environment = {"A=1", "PATH=/bin"};
  inputs.user = "app";
  inputs.workdir = "/src";
  inputs.shell = {"/bin/sh", "-c"};
  inputs.network = "isolated";
  inputs.sources = {{"copy:.", "sha256:aa"}};
  inputs.secrets = {"npmrc="};
  inputs.cache_mounts = {"@/root/.cache"};
  return inputs;
}

TEST(StepKey, SameInputsGiveTheSameKey) {
  EXPECT_EQ(step_key(base(), sample()), step_key(base(), sample()));
  EXPECT_EQ(cache_tag(step_key(base(), sample())), "sha256-" + step_key(base(), sample()).hex());
}

TEST(StepKey, EveryInputChangesTheKey) {
  std::vector<std::function<void(StepInputs&)>> changes = {
      [](StepInputs& i) { i.instruction = "RUN make all"; },
      [](StepInputs& i) { i.environment.push_back("B=2"); },
      [](StepInputs& i) { i.environment[0] = "A=2"; },
      [](StepInputs& i) { i.user = "root"; },
      [](StepInputs& i) { i.workdir = "/"; },
      [](StepInputs& i) { i.shell = {"/bin/bash", "-c"}; },
      [](StepInputs& i) { i.network = "egress"; },
      [](StepInputs& i) { i.sources[0].second = "sha256:ab"; },
      [](StepInputs& i) { i.sources[0].first = "copy:src"; },
      [](StepInputs& i) { i.secrets = {"npmrc=NPM_TOKEN"}; },
      [](StepInputs& i) { i.cache_mounts.clear(); },
  };
  std::set<oci::Digest> keys{step_key(base(), sample())};
  for (const auto& change : changes) {
    StepInputs inputs = sample();
    change(inputs);
    keys.insert(step_key(base(), inputs));
  }
  EXPECT_EQ(keys.size(), changes.size() + 1);
}

TEST(StepKey, APreviousKeyChangesEveryKeyAfterIt) {
  auto other = base_key(oci::Digest::of(oci::DigestAlgorithm::sha256, "another manifest"));
  EXPECT_NE(step_key(base(), sample()), step_key(other, sample()));
  EXPECT_NE(fold_key(base(), "ENV A=1"), fold_key(other, "ENV A=1"));
  EXPECT_NE(step_key(fold_key(base(), "ENV A=1"), sample()), step_key(fold_key(base(), "ENV A=2"), sample()));
  EXPECT_NE(scratch_key("linux/amd64/"), scratch_key("linux/arm64/v8"));
}

TEST(StepKey, FieldsCannotTradeBytes) {
  StepInputs a = sample(), b = sample();
  a.user = "ab";
  a.workdir = "c";
  b.user = "a";
  b.workdir = "bc";
  EXPECT_NE(step_key(base(), a), step_key(base(), b));
  StepInputs c = sample(), d = sample();
  c.environment = {"A=1B=2"};
  d.environment = {"A=1", "B=2"};
  EXPECT_NE(step_key(base(), c), step_key(base(), d));
}

TEST(CanonicalInstruction, FlagsAndMountsChangeTheText) {
  dockerfile::RunCommand run;
  run.command.shell = "make";
  std::string plain = canonical_run(run);
  run.network = dockerfile::NetworkMode::kNone;
  EXPECT_NE(canonical_run(run), plain);
  dockerfile::RunCommand mounted;
  mounted.command.shell = "make";
  mounted.mounts.push_back({.type = dockerfile::MountType::kCache, .target = "/root/.cache"});
  EXPECT_NE(canonical_run(mounted), plain);

  dockerfile::CopyCommand copy;
  copy.sources = {"a"};
  copy.dest = "/b";
  std::string copy_text = canonical_copy(copy);
  copy.chmod = "0755";
  EXPECT_NE(canonical_copy(copy), copy_text);
  copy.chmod.clear();
  copy.is_add = true;
  EXPECT_NE(canonical_copy(copy), copy_text);
}

}  // namespace
}  // namespace strata::engine::cache
