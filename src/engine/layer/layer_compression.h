// How a layer blob's tar stream is compressed, and the OCI media type that
// names each choice. Shared by the layer writer (which picks one) and the
// layer reader (which detects one from the blob's magic bytes).
#pragma once

#include <string_view>

#include "oci/media_types.h"

namespace strata::engine::layer {

enum class LayerCompression { none, gzip, zstd };

constexpr std::string_view media_type_of(LayerCompression compression) {
  switch (compression) {
    case LayerCompression::gzip: return oci::media_type::kOciLayerTarGzip;
    case LayerCompression::zstd: return oci::media_type::kOciLayerTarZstd;
    case LayerCompression::none: break;
  }
  return oci::media_type::kOciLayerTar;
}

}  // namespace strata::engine::layer
