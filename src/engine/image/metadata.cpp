#include "engine/image/metadata.h"

#include <charconv>
#include <type_traits>

#include "common/text.h"
#include "engine/exec/runtime_spec.h"

namespace strata::engine::image {
namespace {

namespace df = dockerfile;

// CMD/ENTRYPOINT: exec form as written, shell form through the SHELL.
std::vector<std::string> program_args(const ContainerConfig& config, const df::CommandLine& line) {
  if (line.exec) return *line.exec;
  return exec::shell_form_args(config.shell, line.shell);
}

// "80" -> "80/tcp"; "8000-8002/udp" -> each port of the range, as Docker does.
void add_exposed(std::set<std::string>& ports, std::string_view spec) {
  std::string_view proto = "tcp";
  if (auto slash = spec.find('/'); slash != std::string_view::npos) {
    proto = spec.substr(slash + 1);
    spec = spec.substr(0, slash);
  }
  std::string protocol(proto);
  for (auto& c : protocol) c = ascii_lower(c);
  unsigned first = 0, last = 0;
  auto dash = spec.find('-');
  auto low = spec.substr(0, dash);
  bool ok = std::from_chars(low.data(), low.data() + low.size(), first).ec == std::errc();
  last = first;
  if (ok && dash != std::string_view::npos) {
    auto high = spec.substr(dash + 1);
    ok = std::from_chars(high.data(), high.data() + high.size(), last).ec == std::errc() && last >= first;
  }
  if (!ok) {  // instructions.h validated the ports; keep anything else verbatim
    ports.insert(std::string(spec) + "/" + protocol);
    return;
  }
  for (unsigned port = first; port <= last; ++port) ports.insert(std::to_string(port) + "/" + protocol);
}

Healthcheck healthcheck_of(const df::HealthcheckCommand& cmd) {
  Healthcheck check;
  if (cmd.disabled) {
    check.test = {"NONE"};
    return check;
  }
  if (cmd.test.exec) {
    check.test = {"CMD"};
    check.test.insert(check.test.end(), cmd.test.exec->begin(), cmd.test.exec->end());
  } else {
    check.test = {"CMD-SHELL", cmd.test.shell};
  }
  auto nanos = [](const auto& d) -> std::optional<std::int64_t> {
    if (!d) return std::nullopt;
    return d->count();
  };
  check.interval = nanos(cmd.interval);
  check.timeout = nanos(cmd.timeout);
  check.start_period = nanos(cmd.start_period);
  check.start_interval = nanos(cmd.start_interval);
  check.retries = cmd.retries;
  return check;
}

}  // namespace

bool is_metadata(const df::Command& command) {
  return !std::holds_alternative<df::FromCommand>(command) && !std::holds_alternative<df::RunCommand>(command) &&
         !std::holds_alternative<df::CopyCommand>(command) && !std::holds_alternative<df::ArgCommand>(command);
}

std::string resolve_workdir(std::string_view working_dir, std::string_view path) {
  std::string joined = path.starts_with('/') ? std::string(path)
                                             : std::string(working_dir.empty() ? "/" : working_dir) + "/" + std::string(path);
  std::vector<std::string_view> parts;
  std::string_view rest = joined;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    auto part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string clean;
  for (auto part : parts) clean.append("/").append(part);
  return clean.empty() ? "/" : clean;
}

void apply_metadata(ContainerConfig& config, StageMetadata& stage, const df::Command& command) {
  std::visit(
      [&](const auto& cmd) {
        using T = std::decay_t<decltype(cmd)>;
        if constexpr (std::is_same_v<T, df::EnvCommand>) {
          for (const auto& var : cmd.vars) config.set_env(var.key, var.value);
        } else if constexpr (std::is_same_v<T, df::LabelCommand>) {
          for (const auto& label : cmd.labels) config.labels[label.key] = label.value;
        } else if constexpr (std::is_same_v<T, df::ExposeCommand>) {
          for (const auto& port : cmd.ports) add_exposed(config.exposed_ports, port);
        } else if constexpr (std::is_same_v<T, df::VolumeCommand>) {
          config.volumes.insert(cmd.paths.begin(), cmd.paths.end());
        } else if constexpr (std::is_same_v<T, df::StopSignalCommand>) {
          config.stop_signal = cmd.signal;
        } else if constexpr (std::is_same_v<T, df::HealthcheckCommand>) {
          config.healthcheck = healthcheck_of(cmd);
        } else if constexpr (std::is_same_v<T, df::CmdCommand>) {
          config.cmd = program_args(config, cmd.command);
          stage.cmd_set = true;
        } else if constexpr (std::is_same_v<T, df::EntrypointCommand>) {
          config.entrypoint = program_args(config, cmd.command);
          if (!stage.cmd_set) config.cmd.reset();
        } else if constexpr (std::is_same_v<T, df::ShellCommand>) {
          config.shell = cmd.shell;
        } else if constexpr (std::is_same_v<T, df::OnbuildCommand>) {
          config.on_build.push_back(cmd.instruction);
        } else if constexpr (std::is_same_v<T, df::UserCommand>) {
          config.user = cmd.user;
        } else if constexpr (std::is_same_v<T, df::WorkdirCommand>) {
          config.working_dir = resolve_workdir(config.working_dir, cmd.path);
        }
      },
      command);
}

}  // namespace strata::engine::image
