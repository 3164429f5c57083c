// Platform normalisation after containerd's platforms package.
#include "engine/remote/platform.h"

#include <algorithm>
#include <string>

namespace strata::engine::remote {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

oci::Platform host_platform() {
#if defined(__x86_64__)
  return {"linux", "amd64", ""};
#elif defined(__aarch64__)
  return {"linux", "arm64", ""};
#elif defined(__arm__)
  return {"linux", "arm", "v7"};
#elif defined(__i386__)
  return {"linux", "386", ""};
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return {"linux", "ppc64le", ""};
#elif defined(__s390x__)
  return {"linux", "s390x", ""};
#elif defined(__riscv) && __riscv_xlen == 64
  return {"linux", "riscv64", ""};
#else
#error "unknown host architecture: add it to host_platform()"
#endif
}

oci::Platform normalize(const oci::Platform& platform) {
  oci::Platform out{lower(platform.os), lower(platform.architecture), lower(platform.variant)};
  if (out.architecture == "x86_64" || out.architecture == "x86-64") out.architecture = "amd64";
  if (out.architecture == "i386") out.architecture = "386";
  if (out.architecture == "aarch64") out.architecture = "arm64";
  if (out.architecture == "armhf") out = {out.os, "arm", "v7"};
  if (out.architecture == "armel") out = {out.os, "arm", "v6"};
  if (out.architecture == "amd64" && out.variant == "v1") out.variant.clear();
  if (out.architecture == "arm64" && out.variant == "v8") out.variant.clear();
  if (out.architecture == "arm" && out.variant.empty()) out.variant = "v7";
  return out;
}

std::optional<oci::Descriptor> select_platform(const std::vector<oci::Descriptor>& manifests,
                                               const oci::Platform& wanted) {
  auto target = normalize(wanted);
  for (const auto& entry : manifests) {
    if (!entry.platform) continue;
    auto candidate = normalize(*entry.platform);
    if (candidate.os == target.os && candidate.architecture == target.architecture &&
        candidate.variant == target.variant)
      return entry;
  }
  return std::nullopt;
}

}  // namespace strata::engine::remote
