// Where build contexts are unpacked: <work>/contexts, on a tmpfs the server
// mounts there when it may (it runs as root to run builds), else on the work
// dir's own filesystem.
//
// Why memory: a context lives for one build, and unpacking it is thousands of
// file creations; on disk filesystems that is the cost of a small build (on
// this project's reference machine, ext4 creates a file in ~0.5 ms, so a
// 2,000-file context takes a second to unpack; tmpfs takes 20 ms). The tmpfs
// is sized `bytes` (tmpfs only uses memory for what is stored); a context that
// does not fit fails with NO_SPACE, which the API answers with 503.
//
// prepare_context_space() empties the directory (what a previous process left
// is never in use now), mounts the tmpfs unless one is there already, and
// says whether contexts are memory-backed. release_context_space() unmounts
// it (lazily: a builder still exiting keeps its view). Errors: IO when the
// directory cannot be made or emptied. Not thread-safe; called at start and stop.
#pragma once

#include <cstdint>
#include <filesystem>

#include "common/error.h"

namespace strata::builds {

Result<bool> prepare_context_space(const std::filesystem::path& dir, std::uint64_t bytes);
void release_context_space(const std::filesystem::path& dir);

// The tmpfs size for `concurrent` builds of contexts up to `max_context_bytes`
// each, plus room for queued ones, capped at half the machine's memory.
std::uint64_t context_space_bytes(std::size_t concurrent, std::uint64_t max_context_bytes);

}  // namespace strata::builds
