// Where the OCI runtime a SandboxPolicy names is installed: `runtime_path`
// when the operator gave one (--runtime-path), else the runtime's name
// (runc, crun, runsc) looked up in PATH as exec does. `strata serve` checks
// it at startup so a missing runtime stops the server with a clear message
// instead of failing every build; the builder resolves it again in its own
// environment before the first RUN step.
//
// Contract: pure lookup (stat only); thread-safe. Errors: RUNTIME_NOT_FOUND
// naming the runtime, where it was looked for and what to do.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/error.h"
#include "sandbox/sandbox_policy.h"

namespace strata::sandbox {

// The absolute path of an executable regular file.
Result<std::filesystem::path> find_runtime_binary(RuntimeKind kind, std::string_view runtime_path);

}  // namespace strata::sandbox
