// Integration tests of a build's network namespaces on this host: made,
// filtered and torn down for real. Skipped unless run as root with
// slirp4netns and nft installed. The only packets sent go to addresses
// inside the namespaces the tests make.
#include "engine/exec/build_network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <functional>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/unique_fd.h"
#include "support/temp_dir.h"

namespace strata::engine::exec {
namespace {

namespace fs = std::filesystem;
using strata::testing::TempDir;

std::string command_output(const std::string& command) {
  std::string output;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buf[4096];
    while (std::size_t n = fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
    ::pclose(pipe);
  }
  return output;
}

// Runs `body` on a thread that has joined the network namespace at `path`.
void in_namespace(const fs::path& path, const std::function<void()>& body) {
  std::thread([&] {
    UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(ns) << path;
    ASSERT_EQ(::setns(ns.get(), CLONE_NEWNET), 0) << std::strerror(errno);
    body();
  }).join();
}

// Interface name -> up, in the calling thread's namespace.
std::map<std::string, bool> interfaces() {
  std::map<std::string, bool> found;
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (struct if_nameindex* names = ::if_nameindex()) {
    for (auto* it = names; it->if_index != 0; ++it) {
      ifreq request{};
      std::strncpy(request.ifr_name, it->if_name, IFNAMSIZ - 1);
      bool up = ::ioctl(sock.get(), SIOCGIFFLAGS, &request) == 0 && (request.ifr_flags & IFF_UP);
      found[it->if_name] = up;
    }
    ::if_freenameindex(names);
  }
  return found;
}

bool mounted(const fs::path& path) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  for (std::string line; std::getline(mountinfo, line);)
    if (line.find(" " + path.string() + " ") != std::string::npos) return true;
  return false;
}

// Processes whose command line names `needle`.
int processes_naming(const std::string& needle) {
  int count = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (text.str().find(needle) != std::string::npos) ++count;
  }
  return count;
}

class BuildNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
    for (const char* tool : {"slirp4netns", "nft"})
      if (command_output(std::string("command -v ") + tool).empty()) GTEST_SKIP() << tool << " is not installed";
  }

  fs::path dir() const { return temp_.path() / "networks" / "b1"; }

  TempDir temp_;
};

TEST_F(BuildNetworkTest, IsolatedNamespaceHasOnlyLoopbackUp) {
  BuildNetwork network({.dir = dir()});
  RunSpec spec;
  ASSERT_TRUE(network.attach(spec, NetworkAccess::isolated));
  EXPECT_EQ(spec.network_namespace, dir() / "isolated");
  in_namespace(spec.network_namespace, [] { EXPECT_EQ(interfaces(), (std::map<std::string, bool>{{"lo", true}})); });
}

TEST_F(BuildNetworkTest, StepsGetTheBuildsEtcFilesNeverTheHosts) {
  BuildNetwork network({.dir = dir(), .hostname = "sandbox-1"});
  RunSpec isolated, egress;
  ASSERT_TRUE(network.attach(isolated, NetworkAccess::isolated));
  auto attached = network.attach(egress, NetworkAccess::egress);
  ASSERT_TRUE(attached) << attached.error().message << "\n" << attached.error().detail;
  std::map<std::string, std::string> files;
  for (const auto& bind : egress.mounts) {
    EXPECT_TRUE(bind.readonly) << bind.destination;
    EXPECT_EQ(bind.source.parent_path(), dir()) << bind.destination;
    std::ifstream in(bind.source);
    std::stringstream text;
    text << in.rdbuf();
    files[bind.destination] = text.str();
  }
  EXPECT_EQ(files, (std::map<std::string, std::string>{
                       {"/etc/hosts", "127.0.0.1\tlocalhost sandbox-1\n::1\tlocalhost ip6-localhost ip6-loopback\n"},
                       {"/etc/hostname", "sandbox-1\n"},
                       {"/etc/resolv.conf", "nameserver 10.0.2.3\n"}}));
  EXPECT_EQ(egress.hostname, "sandbox-1");
  // An isolated step has no resolver to reach.
  ASSERT_EQ(isolated.mounts.size(), 2u);
  EXPECT_EQ(isolated.mounts[0].destination, "/etc/hosts");
  EXPECT_EQ(isolated.mounts[1].destination, "/etc/hostname");
}

TEST_F(BuildNetworkTest, EgressNamespaceIsNattedAndFilteredBeforeAnyStep) {
  BuildNetwork network({.dir = dir()});
  RunSpec spec;
  auto attached = network.attach(spec, NetworkAccess::egress);
  ASSERT_TRUE(attached) << attached.error().message << "\n" << attached.error().detail;
  EXPECT_EQ(spec.network_namespace, dir() / "egress");
  in_namespace(spec.network_namespace, [] {
    EXPECT_EQ(interfaces(), (std::map<std::string, bool>{{"lo", true}, {"tap0", true}}));
    std::string rules = command_output("nft list table inet strata_egress");
    for (const char* rule : {"oifname \"lo\" accept", "ip daddr 10.0.2.3 udp dport 53 accept",
                             "ip daddr 10.0.0.0/8 reject with icmpx admin-prohibited",
                             "ip daddr 127.0.0.0/8 reject with icmpx admin-prohibited",
                             "ip daddr 169.254.0.0/16 reject with icmpx admin-prohibited",
                             "ip6 daddr fe80::/10 reject with icmpx admin-prohibited"})
      EXPECT_NE(rules.find(rule), std::string::npos) << rule << " not in:\n" << rules;
    // slirp's gateway is the host (its loopback closed by slirp as well):
    // the firewall rejects the SYN inside the namespace, so the connect
    // fails at once with the ICMP error, not slirp's reset.
    UniqueFd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    timeval limit{5, 0};
    ::setsockopt(sock.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    sockaddr_in gateway{};
    gateway.sin_family = AF_INET;
    gateway.sin_port = htons(9);
    ::inet_pton(AF_INET, "10.0.2.2", &gateway.sin_addr);
    EXPECT_NE(::connect(sock.get(), reinterpret_cast<sockaddr*>(&gateway), sizeof gateway), 0);
    EXPECT_EQ(errno, EHOSTUNREACH) << std::strerror(errno);
  });
  EXPECT_EQ(processes_naming((dir() / "egress").string()), 1);  // slirp4netns
}

TEST_F(BuildNetworkTest, TheEndStopsSlirpAndUnmountsAndRemovesEverything) {
  {
    BuildNetwork network({.dir = dir()});
    RunSpec isolated, egress;
    ASSERT_TRUE(network.attach(isolated, NetworkAccess::isolated));
    ASSERT_TRUE(network.attach(egress, NetworkAccess::egress));
    EXPECT_TRUE(mounted(dir() / "isolated"));
    EXPECT_TRUE(mounted(dir() / "egress"));
  }
  EXPECT_FALSE(mounted(dir() / "isolated"));
  EXPECT_FALSE(mounted(dir() / "egress"));
  EXPECT_FALSE(fs::exists(dir()));
  EXPECT_EQ(processes_naming((dir() / "egress").string()), 0);
}

TEST_F(BuildNetworkTest, EgressThatCannotStartFailsTheStepAndLeavesNoNamespace) {
  BuildNetwork network({.dir = dir(), .slirp4netns = temp_.path() / "no-such-slirp4netns"});
  RunSpec spec;
  auto attached = network.attach(spec, NetworkAccess::egress);
  ASSERT_FALSE(attached);
  EXPECT_EQ(attached.error().code, "NETWORK_SETUP");
  EXPECT_FALSE(mounted(dir() / "egress"));
  EXPECT_TRUE(spec.network_namespace.empty());
}

TEST_F(BuildNetworkTest, BuildWithoutStepsMakesNothing) {
  { BuildNetwork network({.dir = dir()}); }
  EXPECT_FALSE(fs::exists(dir()));
}

TEST_F(BuildNetworkTest, SweepUnmountsAndRemovesWhatADeadBuilderLeft) {
  // What a killed builder leaves: namespaces still bound, files around.
  for (const char* name : {"isolated", "egress"}) {
    BuildNetwork network({.dir = dir()});
    RunSpec spec;
    ASSERT_TRUE(network.attach(spec, NetworkAccess::isolated));
    fs::path kept = temp_.path() / "networks" / "dead" / name;
    fs::create_directories(kept.parent_path());
    std::ofstream(kept).close();
    ASSERT_EQ(::mount(spec.network_namespace.c_str(), kept.c_str(), nullptr, MS_BIND, nullptr), 0);
  }
  ASSERT_TRUE(mounted(temp_.path() / "networks/dead/egress"));
  BuildNetwork::sweep(temp_.path() / "networks");
  EXPECT_FALSE(mounted(temp_.path() / "networks/dead/isolated"));
  EXPECT_FALSE(mounted(temp_.path() / "networks/dead/egress"));
  EXPECT_FALSE(fs::exists(temp_.path() / "networks/dead"));
}

}  // namespace
}  // namespace strata::engine::exec
