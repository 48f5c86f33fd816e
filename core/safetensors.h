// safetensors files as LibTorch tensors: memory-mapped reading (zero-copy where the data is
// aligned), Hugging Face sharded checkpoints (model.safetensors.index.json) and atomic writing.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "core/safetensors_format.h"

namespace visrl {
class MappedFile;
}

namespace visrl::safetensors {

// One .safetensors file, mapped and validated when opened.
class File {
 public:
  static std::shared_ptr<const File> open(const std::filesystem::path& path);  // throws Error

  const Header& header() const { return header_; }
  const std::filesystem::path& path() const;

  // A CPU tensor viewing the mapped data when it is aligned to the element size, a copy
  // otherwise. The mapping lives as long as any tensor viewing it. Throws if absent.
  at::Tensor tensor(const std::string& name) const;

 private:
  File(std::shared_ptr<MappedFile> mapping, Header header);
  std::shared_ptr<MappedFile> mapping_;
  Header header_;
};

// The tensors of a checkpoint: a single file, or the shards listed by an index.
class Checkpoint {
 public:
  // `path` is a .safetensors file, a *.safetensors.index.json, or a directory holding
  // model.safetensors.index.json or model.safetensors.
  static Checkpoint open(const std::filesystem::path& path);

  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return owner_.count(name) > 0; }
  const TensorInfo& info(const std::string& name) const;
  at::Tensor tensor(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  const File& file_of(const std::string& name) const;
  std::vector<std::shared_ptr<const File>> files_;
  std::map<std::string, size_t> owner_;  // tensor name -> index into files_
  std::map<std::string, std::string> metadata_;
  std::string source_;
};

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

Dtype dtype_of(const at::Tensor& tensor, const std::string& name);  // throws for unsupported dtypes
at::ScalarType scalar_type_of(Dtype dtype);

// Writes one file atomically (temporary file, fsync, rename). Tensors may live on any device
// and have any strides; they are written contiguous, in the order given.
void save_file(const std::filesystem::path& path, const NamedTensors& tensors,
               const std::map<std::string, std::string>& metadata = {});

// Writes a Hugging Face sharded checkpoint into `dir`: model-0000K-of-0000N.safetensors files
// of at most `max_shard_bytes` (a larger single tensor gets its own shard) plus
// model.safetensors.index.json, written last; a single shard is written as model.safetensors.
void save_sharded(const std::filesystem::path& dir, const NamedTensors& tensors, uint64_t max_shard_bytes,
                  const std::map<std::string, std::string>& metadata = {});

}  // namespace visrl::safetensors
