#include "engine/exec/build_cgroup.h"

#include "engine/fs/mount_table.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

namespace strata::engine::exec {
namespace {

namespace fs = std::filesystem;

// The parent of every build's cgroup, like Docker's "/docker".
constexpr std::string_view kParent = "strata";
// CFS period for a CPU cap: the kernel's default, 100 ms.
constexpr std::int64_t kCpuPeriodUs = 100'000;
constexpr std::size_t kMaxNameLength = 128;

std::string errno_text(int err) { return std::strerror(err); }

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxNameLength && name != "." && name != ".." &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
         });
}

// Control files take one write(2); the kernel's errno is the useful part.
Result<void> write_control(const fs::path& file, std::string_view value) {
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd || ::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    return fail("CGROUP", fmt::format("cannot write {:?} to {}: {}", std::string(value), file.string(), errno_text(errno)));
  return {};
}

std::string read_control(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The number after `key` in a flat-keyed file ("oom_kill 3\n"); 0 if absent.
std::uint64_t keyed_value(const std::string& text, std::string_view key) {
  std::istringstream lines(text);
  std::string name;
  std::uint64_t value = 0;
  while (lines >> name >> value)
    if (name == key) return value;
  return 0;
}

std::int64_t number_in(const fs::path& file) {
  std::string text = read_control(file);
  std::int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

Result<void> make_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return fail("CGROUP", fmt::format("cannot create cgroup {}: {}", dir.string(), errno_text(errno)));
  return {};
}

// rmdir of a cgroup and, first, of its children (a cgroup dir holds only
// control files, which rmdir ignores). Processes may still be leaving after
// a kill, so busy cgroups get a few short retries, as runc gives them.
bool remove_tree(const fs::path& dir) {
  for (auto delay = std::chrono::milliseconds(10); ; delay *= 2) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
    if (errno == ENOTDIR) return false;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.is_directory(ec) && !entry.is_symlink(ec)) remove_tree(entry.path());
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
    if (errno != EBUSY || delay > std::chrono::milliseconds(160)) return false;
    std::this_thread::sleep_for(delay);
  }
}

void remove_everywhere(const CgroupHierarchy& hierarchy, std::string_view name) {
  for (const auto& mount : hierarchy.mounts) remove_tree(mount / kParent / name);
}

// A lock file locked by this open file description, still the one at `path`
// (a sweeper unlinks the files it clears; a lock on an unlinked file is no lock).
enum class LockState { held, busy, failed };

LockState try_lock(const fs::path& path, UniqueFd& out) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return LockState::failed;
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return errno == EWOULDBLOCK ? LockState::busy : LockState::failed;
    struct stat held{}, named{};
    if (::fstat(fd.get(), &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
        held.st_dev == named.st_dev) {
      out = std::move(fd);
      return LockState::held;
    }
  }
  return LockState::failed;
}

// The cgroup and cgroup2 mounts of a mountinfo text.
std::vector<engine::fs::MountEntry> cgroup_mounts(std::string_view mountinfo) {
  auto mounts = engine::fs::parse_mountinfo(mountinfo);
  std::erase_if(mounts, [](const engine::fs::MountEntry& m) { return m.type != "cgroup" && m.type != "cgroup2"; });
  return mounts;
}

bool has_word(const std::string& text, std::string_view word) {
  std::istringstream words(text);
  for (std::string w; words >> w;)
    if (w == word) return true;
  return false;
}

// Enables `controllers` for the children of `dir` unless already enabled.
Result<void> enable_controllers(const fs::path& dir, const std::vector<std::string>& controllers) {
  std::string enabled = read_control(dir / "cgroup.subtree_control"), missing;
  for (const auto& controller : controllers)
    if (!has_word(enabled, controller)) missing += (missing.empty() ? "+" : " +") + controller;
  if (missing.empty()) return {};
  return write_control(dir / "cgroup.subtree_control", missing);
}

// The CPU time per period that gives `cpus` cores; the kernel's minimum is 1 ms.
std::int64_t cpu_quota_us(double cpus) {
  return std::max<std::int64_t>(1000, std::llround(cpus * kCpuPeriodUs));
}

bool has_option(const engine::fs::MountEntry& mount, std::string_view option) {
  return std::find(mount.options.begin(), mount.options.end(), option) != mount.options.end();
}

}  // namespace

Result<CgroupHierarchy> CgroupHierarchy::from_mountinfo(std::string_view mountinfo) {
  constexpr std::string_view kRoot = "/sys/fs/cgroup";
  auto mounts = cgroup_mounts(mountinfo);
  CgroupHierarchy hierarchy;
  // As runc decides: unified mode when /sys/fs/cgroup itself is cgroup2.
  if (std::any_of(mounts.begin(), mounts.end(), [&](const auto& m) { return m.type == "cgroup2" && m.point == kRoot; })) {
    hierarchy.version = Version::v2;
    hierarchy.root = kRoot;
    hierarchy.mounts = {hierarchy.root};
    return hierarchy;
  }
  std::set<std::string> seen;
  for (const auto& mount : mounts) {
    if (fs::path(mount.point).parent_path() != fs::path(kRoot) || !seen.insert(mount.point).second) continue;
    hierarchy.mounts.emplace_back(mount.point);
    if (mount.type != "cgroup") continue;
    for (auto [controller, slot] : {std::pair{"memory", &hierarchy.memory}, std::pair{"pids", &hierarchy.pids},
                                    std::pair{"cpu", &hierarchy.cpu}})
      if (has_option(mount, controller)) *slot = mount.point;
  }
  if (hierarchy.memory.empty() && hierarchy.pids.empty() && hierarchy.cpu.empty())
    return fail("CGROUP", fmt::format("no cgroup hierarchy with the memory, pids or cpu controller under {}", kRoot));
  hierarchy.version = Version::v1;
  hierarchy.root = kRoot;
  return hierarchy;
}

Result<CgroupHierarchy> CgroupHierarchy::detect() {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return fail("CGROUP", "cannot read /proc/self/mountinfo");
  std::stringstream text;
  text << in.rdbuf();
  return from_mountinfo(text.str());
}

void sweep_build_cgroups(const CgroupHierarchy& hierarchy, const fs::path& lock_dir) {
  std::set<std::string> names;
  for (const auto& mount : hierarchy.mounts) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(mount / kParent, ec))
      if (entry.is_directory(ec) && valid_name(entry.path().filename().string()))
        names.insert(entry.path().filename().string());
  }
  std::error_code ec;
  fs::create_directories(lock_dir, ec);
  for (const auto& name : names) {
    fs::path lock_path = lock_dir / (name + ".lock");
    UniqueFd lock;
    if (try_lock(lock_path, lock) != LockState::held) continue;  // its builder is alive
    remove_everywhere(hierarchy, name);
    ::unlink(lock_path.c_str());
  }
}

BuildCgroup::BuildCgroup(CgroupHierarchy hierarchy, std::string name, sandbox::BuildLimits limits, UniqueFd lock,
                         fs::path lock_path)
    : hierarchy_(std::move(hierarchy)), name_(std::move(name)), limits_(limits), lock_(std::move(lock)),
      lock_path_(std::move(lock_path)) {}

BuildCgroup::BuildCgroup(BuildCgroup&& other) noexcept
    : hierarchy_(std::move(other.hierarchy_)), name_(std::exchange(other.name_, {})), limits_(other.limits_),
      lock_(std::move(other.lock_)), lock_path_(std::move(other.lock_path_)),
      oom_events_(std::move(other.oom_events_)), oom_control_(std::move(other.oom_control_)),
      oom_seen_(other.oom_seen_) {}

BuildCgroup::~BuildCgroup() { remove(); }

Result<BuildCgroup> BuildCgroup::create(const CgroupHierarchy& hierarchy, std::string_view name,
                                        const sandbox::BuildLimits& limits, const fs::path& lock_dir) {
  if (!valid_name(name)) return fail("CGROUP", fmt::format("{:?} is not a usable cgroup name", std::string(name)));
  std::error_code ec;
  fs::create_directories(lock_dir, ec);
  if (ec) return fail("CGROUP", fmt::format("cannot create {}: {}", lock_dir.string(), ec.message()));
  fs::path lock_path = lock_dir / (std::string(name) + ".lock");
  UniqueFd lock;
  switch (try_lock(lock_path, lock)) {
    case LockState::held: break;
    case LockState::busy:
      return fail("CGROUP_BUSY", fmt::format("another builder is running build {} (it holds {})", name, lock_path.string()));
    case LockState::failed:
      return fail("CGROUP", fmt::format("cannot lock {}: {}", lock_path.string(), errno_text(errno)));
  }
  sweep_build_cgroups(hierarchy, lock_dir);
  remove_everywhere(hierarchy, name);  // an earlier run of the same build that was killed
  BuildCgroup cgroup(hierarchy, std::string(name), limits, std::move(lock), lock_path);
  if (auto applied = cgroup.apply_limits(); !applied) return std::unexpected(applied.error());
  return cgroup;
}

Result<void> BuildCgroup::apply_limits() {
  return hierarchy_.version == CgroupHierarchy::Version::v2 ? apply_v2() : apply_v1();
}

Result<void> BuildCgroup::apply_v2() {
  std::vector<std::string> controllers;
  for (auto [controller, limited] : {std::pair{"pids", limits_.pids > 0}, std::pair{"memory", limits_.memory_bytes > 0},
                                     std::pair{"cpu", limits_.cpus > 0}}) {
    if (!limited) continue;
    if (!has_word(read_control(hierarchy_.root / "cgroup.controllers"), controller))
      return fail("CGROUP", fmt::format("the {} cgroup controller is not available in {}, so the build's {} limit "
                                        "cannot be set", controller, hierarchy_.root.string(), controller));
    controllers.emplace_back(controller);
  }
  // A controller limits a cgroup only when the parent enables it for its
  // children: the root for strata/, strata/ for the builds.
  fs::path parent = hierarchy_.root / kParent, dir = parent / name_;
  if (auto ok = enable_controllers(hierarchy_.root, controllers); !ok) return ok;
  if (auto ok = make_dir(parent); !ok) return ok;
  if (auto ok = enable_controllers(parent, controllers); !ok) return ok;
  if (auto ok = make_dir(dir); !ok) return ok;
  if (limits_.pids > 0)
    if (auto ok = write_control(dir / "pids.max", std::to_string(limits_.pids)); !ok) return ok;
  if (limits_.memory_bytes > 0) {
    if (auto ok = write_control(dir / "memory.max", std::to_string(limits_.memory_bytes)); !ok) return ok;
    // Absent when the kernel does not account swap.
    if (fs::exists(dir / "memory.swap.max"))
      if (auto ok = write_control(dir / "memory.swap.max", "0"); !ok) return ok;
  }
  if (limits_.cpus > 0)
    if (auto ok = write_control(dir / "cpu.max", fmt::format("{} {}", cpu_quota_us(limits_.cpus), kCpuPeriodUs)); !ok)
      return ok;
  return {};
}

Result<void> BuildCgroup::apply_v1() {
  for (auto [mount, controller, limited] :
       {std::tuple{&hierarchy_.pids, "pids", limits_.pids > 0}, std::tuple{&hierarchy_.memory, "memory", limits_.memory_bytes > 0},
        std::tuple{&hierarchy_.cpu, "cpu", limits_.cpus > 0}}) {
    if (mount->empty() && limited)
      return fail("CGROUP", fmt::format("the {} cgroup controller is not mounted, so the build's {} limit cannot be set",
                                        controller, controller));
    if (mount->empty()) continue;
    if (auto ok = make_dir(*mount / kParent); !ok) return ok;
    if (auto ok = make_dir(*mount / kParent / name_); !ok) return ok;
  }
  if (limits_.pids > 0)
    if (auto ok = write_control(hierarchy_.pids / kParent / name_ / "pids.max", std::to_string(limits_.pids)); !ok)
      return ok;
  if (limits_.memory_bytes > 0) {
    fs::path dir = hierarchy_.memory / kParent / name_;
    std::string memory = std::to_string(limits_.memory_bytes);
    if (auto ok = write_control(dir / "memory.limit_in_bytes", memory); !ok) return ok;
    // memory+swap: absent when the kernel does not account swap.
    if (fs::exists(dir / "memory.memsw.limit_in_bytes"))
      if (auto ok = write_control(dir / "memory.memsw.limit_in_bytes", memory); !ok) return ok;
    // v1 counts OOM kills in the step's cgroup, which runc removes; an
    // eventfd on the build's own memory.oom_control hears every OOM its
    // limit causes below it.
    oom_events_ = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    oom_control_ = UniqueFd(::open((dir / "memory.oom_control").c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644));
    if (!oom_events_ || !oom_control_)
      return fail("CGROUP", fmt::format("cannot watch {}/memory.oom_control: {}", dir.string(), errno_text(errno)));
    auto registration = fmt::format("{} {}", oom_events_.get(), oom_control_.get());
    if (auto ok = write_control(dir / "cgroup.event_control", registration); !ok) return ok;
  }
  if (limits_.cpus > 0) {
    fs::path dir = hierarchy_.cpu / kParent / name_;
    if (auto ok = write_control(dir / "cpu.cfs_period_us", std::to_string(kCpuPeriodUs)); !ok) return ok;
    if (auto ok = write_control(dir / "cpu.cfs_quota_us", std::to_string(cpu_quota_us(limits_.cpus))); !ok) return ok;
  }
  return {};
}

std::string BuildCgroup::step_path(std::string_view id) const {
  return fmt::format("/{}/{}/{}", kParent, name_, id);
}

LimitCounters BuildCgroup::counters() {
  LimitCounters counters;
  bool v2 = hierarchy_.version == CgroupHierarchy::Version::v2;
  fs::path pids_dir = (v2 ? hierarchy_.root : hierarchy_.pids) / kParent / name_;
  if (v2 || !hierarchy_.pids.empty()) {
    counters.pids_refused = keyed_value(read_control(pids_dir / "pids.events"), "max");
    counters.pids_peak = number_in(pids_dir / "pids.peak");
  }
  if (v2) {
    counters.oom_kills = keyed_value(read_control(hierarchy_.root / kParent / name_ / "memory.events"), "oom_kill");
  } else {
    std::uint64_t count = 0;
    if (oom_events_ && ::read(oom_events_.get(), &count, sizeof count) == sizeof count) oom_seen_ += count;
    counters.oom_kills = oom_seen_;
  }
  return counters;
}

LimitsHit BuildCgroup::hit_since(const LimitCounters& before) {
  LimitCounters now = counters();
  bool peak_reached = limits_.pids > 0 && now.pids_peak >= limits_.pids && before.pids_peak < limits_.pids;
  return {.memory = now.oom_kills > before.oom_kills, .pids = now.pids_refused > before.pids_refused || peak_reached};
}

void BuildCgroup::remove() {
  if (name_.empty()) return;
  oom_control_.reset();
  oom_events_.reset();
  remove_everywhere(hierarchy_, name_);
  ::unlink(lock_path_.c_str());
  lock_.reset();
  name_.clear();
}

}  // namespace strata::engine::exec
