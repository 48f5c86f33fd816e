// A whole file mapped into memory, copy-on-write: tensors that view it may be modified in
// place without touching the file. The file stays open as well, so that its bytes can also be
// read with pread (fd()): reading a large range that way does not add its pages to the
// process's resident set, as touching the mapping would.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

namespace visrl {

class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);  // throws Error(io)
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  uint8_t* mutable_data() const { return data_; }  // private copy-on-write pages
  const std::filesystem::path& path() const { return path_; }
  int fd() const { return fd_; }  // the mapped file (the same inode even if the path was replaced since)

 private:
  std::filesystem::path path_;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  int fd_ = -1;
};

}  // namespace visrl
