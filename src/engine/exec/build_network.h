// The network of one build's RUN steps, made by the builder on the host so
// that its namespaces belong to the host's user namespace: a step's root,
// which lives in a user namespace of its own, holds no CAP_NET_ADMIN over
// them and can change neither their interfaces nor their firewall. A step
// never runs in the host's network namespace.
//
// Under the build's dir:
//   isolated      a network namespace with only `lo`, up (network_mode
//                 isolated, RUN --network=none)
//   egress        a network namespace (network_mode egress) whose tap0 reaches
//                 the outside through slirp4netns: user-mode NAT from the
//                 host's namespace, 10.0.2.100/24, DNS forwarded by
//                 10.0.2.3, the host's loopback not reachable. Its nftables
//                 firewall (sandbox/egress_ruleset.h, from the build's
//                 AddressPolicy) is loaded before slirp4netns starts, so no
//                 packet ever leaves unfiltered.
//   hosts, hostname, resolv.conf
//                 what steps see at /etc/hosts (Docker's: localhost and the
//                 build's host name), /etc/hostname and, with egress,
//                 /etc/resolv.conf (10.0.2.3), bound read-only: the host's own
//                 files never reach a step.
//
// A namespace is made when a step first needs it (a build served from the
// cache makes none) and lives until the BuildNetwork is destroyed, which
// stops slirp4netns, unmounts the namespaces and removes the dir.
// slirp4netns also exits by itself when the builder dies (its exit fd
// closes); sweep() removes what a dead builder left mounted.
//
// Contract: not thread-safe (owned by the build). Needs root. Errors are
// NETWORK_SETUP with the failing tool's output as detail.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "common/error.h"
#include "common/unique_fd.h"
#include "engine/exec/runtime_spec.h"
#include "sandbox/address_policy.h"

namespace strata::engine::exec {

class BuildNetwork {
 public:
  struct Options {
    std::filesystem::path dir;        // this build's; made on first use, removed at the end
    std::string hostname = "strata";  // uts namespace, /etc/hostname, /etc/hosts
    sandbox::AddressPolicy egress_policy;
    std::filesystem::path slirp4netns = "slirp4netns";  // looked up in PATH if relative
    std::filesystem::path nft = "nft";
  };

  explicit BuildNetwork(Options options) : options_(std::move(options)) {}
  ~BuildNetwork();
  BuildNetwork(const BuildNetwork&) = delete;
  BuildNetwork& operator=(const BuildNetwork&) = delete;

  // Puts the step into the build's namespace for `access` (made now if this
  // is its first step) with the /etc files above bound into it.
  Result<void> attach(RunSpec& spec, NetworkAccess access);

  // Unmounts and removes every build's network dir under `root` and what is
  // left in it. Only for a root no running builder uses.
  static void sweep(const std::filesystem::path& root);

 private:
  Result<void> write_files();
  Result<void> make_isolated();
  Result<void> make_egress();
  Result<void> start_slirp();
  void stop_slirp();

  Options options_;
  bool files_written_ = false;
  bool isolated_made_ = false;
  bool egress_made_ = false;
  pid_t slirp_ = -1;
  UniqueFd slirp_exit_;  // slirp4netns exits when this closes
};

}  // namespace strata::engine::exec
