// Writing a file so that readers only ever see the old or the complete new content:
// write a temporary file next to it, fsync, rename over the target, fsync the directory.
#pragma once

#include <filesystem>
#include <string_view>

namespace visrl {

// What a commit waits for. durable: the content and the rename are on disk (fsync of the file
// and of its directory). rename_only: readers still see the old or the complete new content,
// but a power loss may lose the new file; for caches of derived data, where two fsyncs per
// small file would cost more than remaking it (the images extracted from Parquet files).
enum class Durability { durable, rename_only };

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path target);  // creates "<target>.tmp.<pid>"
  ~AtomicFile();                                      // removes the temporary unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  void write(std::string_view text) { write(text.data(), text.size()); }
  // fsync (durable), rename onto the target, fsync the directory (durable)
  void commit(Durability durability = Durability::durable);

 private:
  std::filesystem::path target_, temp_;
  int fd_ = -1;
  bool committed_ = false;
};

// fsync of a directory: makes the creation, rename or removal of its entries durable.
// Throws Error(io) when the directory cannot be opened.
void sync_directory(const std::filesystem::path& dir);
// fsync of every file and directory under `dir` (and `dir` itself): makes a tree written by
// plain copies durable before something declares it complete.
void sync_tree(const std::filesystem::path& dir);

// Replaces `path` with `text` atomically.
void write_file_atomically(const std::filesystem::path& path, std::string_view text,
                           Durability durability = Durability::durable);

}  // namespace visrl
