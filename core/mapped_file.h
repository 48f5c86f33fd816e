// A whole file mapped into memory, copy-on-write: tensors that view it may be modified in
// place without touching the file.
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

 private:
  std::filesystem::path path_;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace visrl
