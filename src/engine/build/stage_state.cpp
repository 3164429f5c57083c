#include "engine/build/stage_state.h"

namespace strata::engine::build {

dockerfile::Variables StageState::expansion_vars() const {
  dockerfile::Variables vars = args;
  for (const auto& entry : image.config.env) {
    auto eq = entry.find('=');
    vars[entry.substr(0, eq)] = eq == std::string::npos ? std::string() : entry.substr(eq + 1);
  }
  return vars;
}

std::vector<std::string> StageState::run_env() const {
  std::vector<std::string> env = image.config.env;
  for (const auto& [name, value] : args)
    if (!image.config.env_value(name)) env.push_back(name + "=" + value);
  return env;
}

}  // namespace strata::engine::build
