// Layer creation throughput: times engine::layer::write_layer (deterministic
// tar + compression + digest and diff-id in one streaming pass, blob written
// to disk) on a prepared directory, as a build step's upper dir would be, and
// prints MB/s of file content per compression. bench/build_bench runs it on
// its build context (2,000 small files and a 100 MiB random file); it also
// runs on any directory by hand.
//
// Usage: layer_bench DIR [--compression gzip|zstd|none]... [--repeat N] [--out DIR]
// Each run writes the blob into --out (default: a temp dir), removed after the
// run. One untimed run first warms the page cache, so the figure is the
// writer's, not the disk's read speed. Output: a line per run on stderr and one
// line per compression on stdout,
//   compression=gzip content_bytes=... blob_bytes=... median_s=... mb_per_s=...
// (MB = 10^6 bytes of regular-file content). Exit 2 on bad usage or a failed write.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "engine/layer/layer_writer.h"

namespace strata::engine::layer {
namespace {

namespace fs = std::filesystem;

struct Options {
  fs::path dir;
  std::vector<LayerCompression> compressions;
  int repeat = 3;
  fs::path out;
};

[[noreturn]] void usage_error(std::string_view message) {
  std::fprintf(stderr,
               "layer_bench: %.*s\nusage: layer_bench DIR [--compression gzip|zstd|none]... "
               "[--repeat N] [--out DIR]\n",
               static_cast<int>(message.size()), message.data());
  std::exit(2);
}

std::string_view name_of(LayerCompression compression) {
  switch (compression) {
    case LayerCompression::gzip: return "gzip";
    case LayerCompression::zstd: return "zstd";
    case LayerCompression::none: break;
  }
  return "none";
}

LayerCompression parse_compression(std::string_view text) {
  for (auto c : {LayerCompression::gzip, LayerCompression::zstd, LayerCompression::none}) {
    if (text == name_of(c)) return c;
  }
  usage_error("unknown compression: " + std::string(text));
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) usage_error(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--compression") {
      options.compressions.push_back(parse_compression(value()));
    } else if (arg == "--repeat") {
      options.repeat = std::atoi(std::string(value()).c_str());
      if (options.repeat < 1) usage_error("--repeat must be positive");
    } else if (arg == "--out") {
      options.out = value();
    } else if (!arg.starts_with("-") && options.dir.empty()) {
      options.dir = arg;
    } else {
      usage_error("unexpected argument: " + std::string(arg));
    }
  }
  if (options.dir.empty()) usage_error("no directory given");
  if (!fs::is_directory(options.dir)) usage_error("not a directory: " + options.dir.string());
  if (options.compressions.empty()) {
    options.compressions = {LayerCompression::gzip, LayerCompression::zstd};
  }
  return options;
}

// Bytes of regular-file content under dir: what "MB/s" counts.
std::uint64_t content_bytes(const fs::path& dir) {
  std::uint64_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && !entry.is_symlink()) total += entry.file_size();
  }
  return total;
}

// One write_layer call; returns (seconds, blob size). The blob is removed.
std::pair<double, std::uint64_t> timed_write(const Options& options, const fs::path& out_dir,
                                             LayerCompression compression) {
  const fs::path blob = out_dir / "layer.blob";
  LayerWriteOptions write_options;
  write_options.compression = compression;
  const auto start = std::chrono::steady_clock::now();
  auto written = write_layer(options.dir, blob, write_options);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  if (!written) {
    std::fprintf(stderr, "layer_bench: write_layer failed: %s %s\n", written.error().code.c_str(),
                 written.error().message.c_str());
    std::exit(2);
  }
  if (!*written) usage_error("the directory is empty");
  const std::uint64_t size = (*written)->size;
  std::error_code ignored;
  fs::remove(blob, ignored);
  return {elapsed.count(), size};
}

int run(const Options& options) {
  fs::path out_dir = options.out;
  const bool own_out_dir = out_dir.empty();
  if (own_out_dir) {
    std::string pattern = (fs::temp_directory_path() / "strata-layer-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) usage_error("cannot create a temp dir");
    out_dir = pattern;
  }
  const std::uint64_t bytes = content_bytes(options.dir);
  timed_write(options, out_dir, LayerCompression::none);  // warms the page cache

  for (LayerCompression compression : options.compressions) {
    std::vector<double> seconds;
    std::uint64_t blob_bytes = 0;
    for (int i = 0; i < options.repeat; ++i) {
      auto [s, size] = timed_write(options, out_dir, compression);
      seconds.push_back(s);
      blob_bytes = size;
      std::fprintf(stderr, "layer_bench: %s run %d: %.3f s, %.1f MB/s\n",
                   std::string(name_of(compression)).c_str(), i + 1, s, bytes / s / 1e6);
    }
    std::sort(seconds.begin(), seconds.end());
    const double median = seconds.size() % 2 ? seconds[seconds.size() / 2]
                                             : (seconds[seconds.size() / 2 - 1] + seconds[seconds.size() / 2]) / 2;
    std::printf("compression=%s content_bytes=%llu blob_bytes=%llu median_s=%.4f mb_per_s=%.1f\n",
                std::string(name_of(compression)).c_str(), static_cast<unsigned long long>(bytes),
                static_cast<unsigned long long>(blob_bytes), median, bytes / median / 1e6);
    std::fflush(stdout);
  }
  if (own_out_dir) {
    std::error_code ignored;
    fs::remove_all(out_dir, ignored);
  }
  return 0;
}

}  // namespace
}  // namespace strata::engine::layer

int main(int argc, char** argv) {
  using namespace strata::engine::layer;
  return run(parse_options(argc, argv));
}
