// safetensors files as LibTorch tensors: memory-mapped reading (zero-copy where the data is
// aligned), Hugging Face sharded checkpoints (model.safetensors.index.json) and atomic writing.
#pragma once

#include <filesystem>
#include <functional>
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

// How copy_into reads a tensor: the slice read at once, and an optional buffer reused across
// calls (so that copying a whole checkpoint does not allocate a slice per tensor).
struct CopyOptions {
  uint64_t slice_bytes = 64ull << 20;
  // A CPU uint8 tensor, (re)allocated when smaller than a slice (pinned when the destination is
  // on CUDA). Unused when the file's bytes can be read straight into the destination.
  at::Tensor* staging = nullptr;
};

// One .safetensors file, mapped and validated when opened.
class File {
 public:
  static std::shared_ptr<const File> open(const std::filesystem::path& path);  // throws Error

  const Header& header() const { return header_; }
  const std::filesystem::path& path() const;

  // A CPU tensor viewing the mapped data when it is aligned to the element size, a copy
  // otherwise. The mapping lives as long as any tensor viewing it. Throws if absent.
  at::Tensor tensor(const std::string& name) const;

  // Fills `dst` (the tensor's shape; any dtype, cast on the way; any device) with tensor
  // `name`, read from the file with pread, options.slice_bytes at a time: straight into `dst`
  // when it is a contiguous CPU tensor of the file's dtype, otherwise through a CPU slice.
  // Unlike tensor(), the file's pages never join the process's resident set, so filling
  // preallocated parameters from a checkpoint costs the parameters' memory alone. Writes
  // through dst.detach() (no autograd). Throws Error (format: absent or another shape; io).
  void copy_into(const std::string& name, const at::Tensor& dst, const CopyOptions& options = {}) const;

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
  void copy_into(const std::string& name, const at::Tensor& dst,
                 const CopyOptions& options = {}) const;  // File::copy_into
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
Dtype dtype_of(at::ScalarType dtype, const std::string& name);
at::ScalarType scalar_type_of(Dtype dtype);

// A tensor to write, known by name, dtype and shape before its bytes exist.
struct TensorSpec {
  std::string name;
  at::ScalarType dtype = at::kFloat;
  std::vector<int64_t> shape;

  uint64_t nbytes() const;
};

// Produces the tensor of specs[index] for a streamed save: its values in the spec's dtype and
// shape (any device, strides or dtype are accepted and converted: `.to(kCPU, dtype).contiguous()`,
// a no-op for a contiguous CPU tensor of that dtype). Called once per tensor, in the order of
// the specs; the writer releases each tensor before asking for the next, so a save holds one
// produced tensor at a time.
using TensorProducer = std::function<at::Tensor(size_t index)>;

// Writes one file atomically (temporary file, fsync, rename). Tensors may live on any device
// and have any strides; they are written contiguous, in the order given.
void save_file(const std::filesystem::path& path, const NamedTensors& tensors,
               const std::map<std::string, std::string>& metadata = {});

// Writes a Hugging Face sharded checkpoint into `dir`: model-0000K-of-0000N.safetensors files
// of at most `max_shard_bytes` (a larger single tensor gets its own shard) plus
// model.safetensors.index.json, written last; a single shard is written as model.safetensors.
void save_sharded(const std::filesystem::path& dir, const NamedTensors& tensors, uint64_t max_shard_bytes,
                  const std::map<std::string, std::string>& metadata = {});

// save_file and save_sharded with the tensors produced one at a time while writing: the
// layout (headers, shards, index) is planned from the specs alone, so that writing never
// holds more than one produced tensor. The files are byte-identical to the NamedTensors
// versions (which are these, with the tensors themselves as producer).
void save_file_streamed(const std::filesystem::path& path, const std::vector<TensorSpec>& specs,
                        const TensorProducer& produce, const std::map<std::string, std::string>& metadata = {});
void save_sharded_streamed(const std::filesystem::path& dir, const std::vector<TensorSpec>& specs,
                           const TensorProducer& produce, uint64_t max_shard_bytes,
                           const std::map<std::string, std::string>& metadata = {});

}  // namespace visrl::safetensors
