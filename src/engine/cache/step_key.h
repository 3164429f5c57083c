// Cache keys of build steps. A key is a SHA-256 over a framed list of
// fields: a version tag, the previous key (for a stage's first step the
// resolved base: the platform-specific manifest digest, "scratch" with the
// platform, or the parent stage's key), the step kind, its canonical
// instruction text after expansion and its inputs. Each field is written as
// <name> NUL <length> NUL <bytes>, so no two field lists hash alike by
// shifting bytes from one field to the next.
//
// Same inputs, same key; any change of any input changes the key and, since
// every key starts from the previous one, every key after it. Pure value
// code; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "oci/digest.h"

namespace strata::engine::cache {

// What a step that writes to the filesystem (RUN, COPY, ADD, WORKDIR) is
// keyed on. Lists are hashed in the order given: callers pass them sorted
// where order carries no meaning.
struct StepInputs {
  std::string instruction;                // canonical text after expansion
  std::vector<std::string> environment;   // "K=V": the ENV and ARGs the step sees
  std::string user;
  std::string workdir;
  std::vector<std::string> shell;
  std::string network;                    // "isolated" / "egress" / "none" / "host"
  // Content the step reads: "<what>" -> digest, e.g. "copy:src/" -> the
  // content digest of that COPY source, "bind:/src" -> a bind mount's.
  std::vector<std::pair<std::string, std::string>> sources;
  std::vector<std::string> secrets;       // ids and env var names, never values
  std::vector<std::string> cache_mounts;  // targets (and ids) of type=cache mounts
};

// The first key of a stage built on an image / on nothing.
oci::Digest base_key(const oci::Digest& manifest_digest);
oci::Digest scratch_key(std::string_view platform);

// A step that writes to the filesystem.
oci::Digest step_key(const oci::Digest& previous, const StepInputs& inputs);

// A metadata-only step (ENV, USER, LABEL, ...) folds into the chain: the
// steps after it get keys that depend on it, and it has no cache entry.
oci::Digest fold_key(const oci::Digest& previous, std::string_view instruction);

// The tag of a key's cache entry: "sha256-<hex>".
std::string cache_tag(const oci::Digest& key);

}  // namespace strata::engine::cache
