// POST /builds: the multipart form turned into a validated, authorised
// BuildRequest — the one place that knows the form's fields and their rules
// (notes/builds-contract.md):
//
//   source            file part, the context archive (required)
//   dockerfile        Dockerfile text (else dockerfile_path in the context)
//   dockerfile_path   relative path in the context, no ".." (default Dockerfile)
//   cache_scope       a cache scope (cache_names.h: one repository path
//                     component, 2-63 characters, not "global"); a tenant may
//                     give only its own id (the default), the operator any
//   global_cache_key  a global cache key (cache_names.h: one repository path
//                     component, 1-64 characters)
//   is_admin_build    true|1|false|0; true needs the operator role
//   build_args        JSON object of strings, keys [A-Za-z_][A-Za-z0-9_]*
//   target            stage name [A-Za-z0-9_][A-Za-z0-9._-]{0,127}
//   secrets           JSON list of {"id", "env_var"?}, ids known to the store
//   timeout_seconds   1..86400 (default 3600)
//   network_mode      isolated|egress (default isolated)
//
// Errors carry the offending field name in Error::detail: FIELD_INVALID (the
// API answers 400; also for an unknown or repeated field, or a missing
// source), FORBIDDEN (403: the caller's role may not ask for this),
// MULTIPART_INVALID (400: the body is not a readable form). Checking the
// archive's content is the manager's job (it unpacks it); reading the form
// only stores the upload in a staging file and hashes it.
//
// Thread-safe: free functions; a StagedSource is owned by one caller.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "auth/principal.h"
#include "builds/build_record.h"
#include "builds/field_error.h"
#include "builds/secret_store.h"
#include "builds/source_archive.h"
#include "common/error.h"
#include "http/message.h"
#include "oci/digest.h"

namespace strata::builds {

// An uploaded archive in a staging file, removed when the owner goes away
// unless it was moved elsewhere first (take_file()).
class StagedSource {
 public:
  StagedSource(std::filesystem::path file, oci::Digest digest, std::uint64_t size)
      : file_(std::move(file)), digest_(std::move(digest)), size_(size) {}
  ~StagedSource();
  StagedSource(StagedSource&& other) noexcept;
  StagedSource& operator=(StagedSource&&) = delete;
  StagedSource(const StagedSource&) = delete;
  StagedSource& operator=(const StagedSource&) = delete;

  const std::filesystem::path& file() const { return file_; }
  const oci::Digest& digest() const { return digest_; }
  std::uint64_t size() const { return size_; }

 private:
  std::filesystem::path file_;
  oci::Digest digest_;
  std::uint64_t size_;
};

using FormFields = std::map<std::string, std::string, std::less<>>;

struct ReceivedForm {
  FormFields fields;  // every text field, by name
  StagedSource source;
};

struct FormLimits {
  std::filesystem::path staging_dir;  // where uploads are written; must exist
  std::uint64_t max_source_bytes = std::uint64_t{1} << 30;  // the archive as uploaded
};

// Reads the whole form: text fields into memory (1 MiB for dockerfile, 64 KiB
// for the others), the source part into a staging file.
Result<ReceivedForm> receive_build_form(http::BodyReader& body, std::string_view content_type,
                                        const FormLimits& limits);

struct ValidatedForm {
  BuildRequest request;                       // dockerfile_digest not yet known
  std::optional<std::string> dockerfile_text; // given inline
};

// Checks every field and the caller's right to it; fills the defaults.
Result<ValidatedForm> validate_build_form(const FormFields& fields, const oci::Digest& source_digest,
                                          std::uint64_t source_size, const auth::Principal& caller,
                                          const SecretStore& secrets);

}  // namespace strata::builds
