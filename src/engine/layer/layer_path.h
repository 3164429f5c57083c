// Relative paths inside a layer as the layer code handles them: cleaned,
// '/'-separated, no "." or ".." components, "" for the layer's root.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "common/error.h"

namespace strata::engine::layer {

// A tar entry name made relative and clean: "./a//b/" -> "a/b", "." -> "".
// LAYER_INVALID for absolute names and any ".." component.
Result<std::string> clean_layer_path(std::string_view name);

// Splits a clean, non-empty path into its parent ("" for top level) and name.
std::pair<std::string, std::string> split_parent(const std::string& path);

// dir + "/" + name, or just name when dir is the root ("").
std::string join_path(const std::string& dir, std::string_view name);

}  // namespace strata::engine::layer
