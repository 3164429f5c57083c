// Writes the nodes COPY and ADD produce (directories, regular files,
// symlinks, hard links, fifos and devices) into a root filesystem with the
// attributes the caller decided, replacing what is in the way as BuildKit's
// copier does: a non-directory replaces anything (a directory in the way is
// removed with its contents); a directory merges into an existing directory
// or a symlink that leads to one inside the root, and is COPY_INVALID over
// any other non-directory.
//
// Every parent is looked up through ImageRoot, so symlinks in the image
// resolve as inside the container and nothing lands outside the root;
// missing parents are created (0755, owned by the writer's parents_owner).
// Attributes go on in the order that keeps them: owner, then mode (chown
// clears setuid/setgid), then xattrs (chown clears security.capability),
// then times; directory times are set by finish(), after their contents.
//
// Contract: not thread-safe; one writer per COPY. On error the root is
// partly written and the caller must discard the step. Errors: COPY_INVALID,
// IO.
#pragma once

#include <sys/stat.h>  // UTIME_NOW
#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"
#include "engine/fs/copy.h"
#include "engine/fs/image_root.h"

namespace strata::engine::fs {

struct NodeAttributes {
  std::uint32_t mode = 0644;  // permission bits with setuid/setgid/sticky; ignored for symlinks
  Owner owner;
  timespec mtime{0, UTIME_NOW};
  std::vector<std::pair<std::string, std::string>> xattrs;  // overlayfs' own are never written
};

// Fills a freshly created, empty file open for writing at `fd`.
using ContentWriter = std::function<Result<void>(int fd, std::string_view path)>;

// The bytes of `fd` from its current position to its end.
ContentWriter contents_of_fd(int fd);
// Exactly `bytes`; the view must outlive the write.
ContentWriter contents_of_bytes(std::string_view bytes);

class NodeWriter {
 public:
  NodeWriter(const ImageRoot& root, Owner parents_owner) : root_(root), parents_owner_(parents_owner) {}

  // What an existing directory at the target keeps: the top of a COPY keeps
  // its metadata (BuildKit), directories below it take the source's.
  enum class ExistingDir { keep_metadata, take_metadata };

  // `rel` "" (the root) always exists and is kept as it is.
  Result<void> directory(const std::string& rel, const NodeAttributes& attrs, ExistingDir existing);
  Result<void> file(const std::string& rel, const NodeAttributes& attrs, const ContentWriter& content);
  Result<void> symlink(const std::string& rel, const std::string& target, const NodeAttributes& attrs);
  // A fifo or character/block device (`type` is S_IFIFO, S_IFCHR or S_IFBLK).
  Result<void> special(const std::string& rel, mode_t type, dev_t device, const NodeAttributes& attrs);
  // A second name for the non-directory already written at `existing_rel`.
  Result<void> hard_link(const std::string& rel, const std::string& existing_rel);

  // Sets the times of the directories written, deepest first.
  Result<void> finish();

 private:
  // The parent directory of `rel` (created when missing) with whatever was
  // at `rel` removed.
  Result<UniqueFd> clear_way(const std::string& rel, const std::string& name);
  Result<void> apply(int dir_fd, const std::string& name, const std::string& rel, bool is_symlink,
                     bool is_dir, const NodeAttributes& attrs);

  const ImageRoot& root_;
  Owner parents_owner_;
  std::vector<std::pair<std::string, timespec>> dir_times_;
};

}  // namespace strata::engine::fs
