#include "core/safetensors.h"

#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/mapped_file.h"

namespace visrl::safetensors {

namespace fs = std::filesystem;

namespace {

constexpr const char* kIndexName = "model.safetensors.index.json";
constexpr const char* kSingleName = "model.safetensors";

struct DtypePair {
  Dtype dtype;
  at::ScalarType scalar;
};
constexpr DtypePair kPairs[] = {
    {Dtype::BOOL, at::kBool},
    {Dtype::U8, at::kByte},
    {Dtype::I8, at::kChar},
    {Dtype::I16, at::kShort},
    {Dtype::U16, at::kUInt16},
    {Dtype::F16, at::kHalf},
    {Dtype::BF16, at::kBFloat16},
    {Dtype::I32, at::kInt},
    {Dtype::U32, at::kUInt32},
    {Dtype::F32, at::kFloat},
    {Dtype::F64, at::kDouble},
    {Dtype::I64, at::kLong},
    {Dtype::U64, at::kUInt64},
    {Dtype::F8_E4M3, at::kFloat8_e4m3fn},
    {Dtype::F8_E5M2, at::kFloat8_e5m2},
};

}  // namespace

at::ScalarType scalar_type_of(Dtype dtype) {
  for (const auto& p : kPairs)
    if (p.dtype == dtype) return p.scalar;
  fail(ErrorKind::format, "no LibTorch dtype for {}", dtype_name(dtype));
}

Dtype dtype_of(at::ScalarType dtype, const std::string& name) {
  for (const auto& p : kPairs)
    if (p.scalar == dtype) return p.dtype;
  fail(ErrorKind::format, "tensor \"{}\": dtype {} cannot be stored in safetensors", name, c10::toString(dtype));
}

Dtype dtype_of(const at::Tensor& tensor, const std::string& name) {
  return dtype_of(tensor.scalar_type(), name);
}

uint64_t TensorSpec::nbytes() const {
  uint64_t n = c10::elementSize(dtype);
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

// ---------------------------------------------------------------------------------------
// Reading.

File::File(std::shared_ptr<MappedFile> mapping, Header header)
    : mapping_(std::move(mapping)), header_(std::move(header)) {}

const fs::path& File::path() const {
  return mapping_->path();
}

std::shared_ptr<const File> File::open(const fs::path& path) {
  auto mapping = std::make_shared<MappedFile>(path);
  Header header = parse_header(mapping->bytes(), path.string());
  return std::shared_ptr<const File>(new File(std::move(mapping), std::move(header)));
}

at::Tensor File::tensor(const std::string& name) const {
  const TensorInfo* info = header_.find(name);
  if (!info) fail(ErrorKind::format, "{}: no tensor named \"{}\"", path().string(), name);
  auto options = at::TensorOptions().dtype(scalar_type_of(info->dtype)).device(at::kCPU);
  uint8_t* data = mapping_->mutable_data() + header_.data_start + info->begin;
  if (info->nbytes() == 0) return at::empty(info->shape, options);
  if (reinterpret_cast<uintptr_t>(data) % dtype_size(info->dtype) != 0) {
    // Misaligned elements: copy into an aligned tensor rather than view them.
    at::Tensor copy = at::empty(info->shape, options);
    std::memcpy(copy.data_ptr(), data, info->nbytes());
    return copy;
  }
  std::shared_ptr<MappedFile> keep_alive = mapping_;
  return at::from_blob(
      data, info->shape, [keep_alive](void*) mutable { keep_alive.reset(); }, options);
}

namespace {

// Reads exactly `size` bytes at `offset` of the open file `fd`.
void read_exactly(int fd, uint8_t* out, uint64_t size, uint64_t offset, const fs::path& path) {
  while (size > 0) {
    const ssize_t n = ::pread(fd, out, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(ErrorKind::io, "{}: read failed: {}", path.string(), std::strerror(errno));
    if (n == 0) fail(ErrorKind::io, "{}: unexpected end of file", path.string());
    out += n;
    offset += static_cast<uint64_t>(n);
    size -= static_cast<uint64_t>(n);
  }
}

}  // namespace

void File::copy_into(const std::string& name, const at::Tensor& dst, const CopyOptions& options) const {
  const TensorInfo* info = header_.find(name);
  if (!info) fail(ErrorKind::format, "{}: no tensor named \"{}\"", path().string(), name);
  if (!dst.defined() || at::IntArrayRef(info->shape) != dst.sizes()) {
    fail(ErrorKind::format, "{}: tensor \"{}\" is {} but the destination is {}", path().string(), name,
         c10::str(at::IntArrayRef(info->shape)), dst.defined() ? c10::str(dst.sizes()) : "undefined");
  }
  if (info->nbytes() == 0) return;
  at::Tensor target = dst.detach();
  if (!target.is_contiguous()) {
    at::Tensor contiguous = at::empty(target.sizes(), target.options());
    copy_into(name, contiguous, options);
    target.copy_(contiguous);
    return;
  }
  const at::ScalarType source_type = scalar_type_of(info->dtype);
  const uint64_t element = dtype_size(info->dtype);
  const uint64_t start = header_.data_start + info->begin;
  const uint64_t per_slice = std::max<uint64_t>(1, options.slice_bytes / element);  // elements
  const uint64_t total = info->nbytes() / element;
  const int fd = mapping_->fd();
  if (target.device().is_cpu() && target.scalar_type() == source_type) {
    auto* out = static_cast<uint8_t*>(target.data_ptr());
    for (uint64_t e = 0; e < total; e += per_slice) {
      const uint64_t count = std::min(per_slice, total - e);
      read_exactly(fd, out + e * element, count * element, start + e * element, path());
    }
    return;
  }
  // A cast or another device: each slice is read into a CPU buffer and copied from there.
  const bool pinned = target.is_cuda();
  const uint64_t buffer_bytes = std::min(per_slice, total) * element;
  at::Tensor local;
  at::Tensor& staging = options.staging ? *options.staging : local;
  if (!staging.defined() || static_cast<uint64_t>(staging.nbytes()) < buffer_bytes ||
      (pinned && !staging.is_pinned())) {
    staging = at::Tensor();  // free the old buffer first
    staging =
        at::empty({static_cast<int64_t>(buffer_bytes)}, at::TensorOptions().dtype(at::kByte).pinned_memory(pinned));
  }
  auto flat = target.view({-1});
  auto* buffer = static_cast<uint8_t*>(staging.data_ptr());
  for (uint64_t e = 0; e < total; e += per_slice) {
    const uint64_t count = std::min(per_slice, total - e);
    read_exactly(fd, buffer, count * element, start + e * element, path());
    auto slice = at::from_blob(buffer, {static_cast<int64_t>(count)}, at::TensorOptions().dtype(source_type));
    // Synchronous, so the buffer may be overwritten by the next slice.
    flat.narrow(0, static_cast<int64_t>(e), static_cast<int64_t>(count)).copy_(slice);
  }
}

Checkpoint Checkpoint::open(const fs::path& path) {
  Checkpoint ckpt;
  ckpt.source_ = path.string();
  std::error_code ec;
  fs::path index_path;
  fs::path single_path;
  if (fs::is_directory(path, ec)) {
    if (fs::exists(path / kIndexName, ec)) {
      index_path = path / kIndexName;
    } else if (fs::exists(path / kSingleName, ec)) {
      single_path = path / kSingleName;
    } else {
      fail(ErrorKind::io, "{}: no {} or {} in this directory", path.string(), kIndexName, kSingleName);
    }
  } else if (path.string().ends_with(".json")) {
    index_path = path;
  } else {
    single_path = path;
  }

  if (!single_path.empty()) {
    ckpt.files_.push_back(File::open(single_path));
    for (const auto& t : ckpt.files_[0]->header().tensors) ckpt.owner_[t.name] = 0;
    ckpt.metadata_ = ckpt.files_[0]->header().metadata;
    return ckpt;
  }

  const std::string where = index_path.string();
  std::ifstream in(index_path);
  if (!in) fail(ErrorKind::io, "{}: cannot open", where);
  nlohmann::json index = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (index.is_discarded() || !index.is_object()) fail(ErrorKind::format, "{}: not a JSON object", where);
  if (!index.contains("weight_map") || !index["weight_map"].is_object()) {
    fail(ErrorKind::format, "{}: missing \"weight_map\" object", where);
  }
  if (index.contains("metadata") && index["metadata"].is_object()) {
    for (const auto& [k, v] : index["metadata"].items()) {
      ckpt.metadata_[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
  }
  std::map<std::string, size_t> file_slot;  // shard file name -> index into files_
  for (const auto& [name, file] : index["weight_map"].items()) {
    if (!file.is_string()) fail(ErrorKind::format, "{}: weight_map[\"{}\"] must be a file name", where, name);
    const std::string shard = file.get<std::string>();
    // Shards must sit next to the index: refuse paths that could point elsewhere.
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..") {
      fail(ErrorKind::format, "{}: weight_map[\"{}\"]: \"{}\" is not a plain file name", where, name, shard);
    }
    auto [it, fresh] = file_slot.emplace(shard, ckpt.files_.size());
    if (fresh) ckpt.files_.push_back(File::open(index_path.parent_path() / shard));
    const File& f = *ckpt.files_[it->second];
    if (!f.header().find(name)) {
      fail(ErrorKind::format, "{}: tensor \"{}\" is mapped to {} but that file does not hold it", where, name, shard);
    }
    ckpt.owner_[name] = it->second;
  }
  for (const auto& [shard, slot] : file_slot) {
    for (const auto& t : ckpt.files_[slot]->header().tensors) {
      auto owner = ckpt.owner_.find(t.name);
      if (owner == ckpt.owner_.end() || owner->second != slot) {
        fail(ErrorKind::format, "{}: {} holds tensor \"{}\" that the weight_map does not assign to it", where, shard,
             t.name);
      }
    }
  }
  return ckpt;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : owner_) out.push_back(name);
  return out;
}

const File& Checkpoint::file_of(const std::string& name) const {
  auto it = owner_.find(name);
  if (it == owner_.end()) fail(ErrorKind::format, "{}: no tensor named \"{}\"", source_, name);
  return *files_[it->second];
}

const TensorInfo& Checkpoint::info(const std::string& name) const {
  return *file_of(name).header().find(name);
}

at::Tensor Checkpoint::tensor(const std::string& name) const {
  return file_of(name).tensor(name);
}

void Checkpoint::copy_into(const std::string& name, const at::Tensor& dst, const CopyOptions& options) const {
  file_of(name).copy_into(name, dst, options);
}

// ---------------------------------------------------------------------------------------
// Writing.

namespace {

std::vector<TensorInfo> infos_of(const std::vector<TensorSpec>& specs, size_t first, size_t last) {
  std::vector<TensorInfo> infos;
  for (size_t i = first; i < last; ++i)
    infos.push_back({specs[i].name, dtype_of(specs[i].dtype, specs[i].name), specs[i].shape, 0, 0});
  return infos;
}

// Writes specs[first, last) as one file: the header, then each produced tensor's bytes.
void write_streamed(const fs::path& path, const std::vector<TensorSpec>& specs, size_t first, size_t last,
                    const TensorProducer& produce, const std::map<std::string, std::string>& metadata) {
  const std::string header = serialize_header(infos_of(specs, first, last), metadata);
  AtomicFile file(path);
  file.write(header);
  for (size_t i = first; i < last; ++i) {
    const TensorSpec& spec = specs[i];
    // Released at the end of the iteration, before the next tensor is produced.
    at::Tensor tensor = produce(i);
    if (!tensor.defined()) fail(ErrorKind::format, "cannot write tensor \"{}\": undefined", spec.name);
    if (tensor.sizes() != at::IntArrayRef(spec.shape)) {
      fail(ErrorKind::format, "cannot write tensor \"{}\": produced {} but the header says {}", spec.name,
           c10::str(tensor.sizes()), c10::str(at::IntArrayRef(spec.shape)));
    }
    tensor = tensor.detach().to(at::kCPU, spec.dtype).contiguous();
    file.write(tensor.data_ptr(), tensor.nbytes());
  }
  file.commit();
}

std::vector<TensorSpec> specs_of(const NamedTensors& tensors) {
  std::vector<TensorSpec> specs;
  specs.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) fail(ErrorKind::format, "cannot write tensor \"{}\": undefined", name);
    dtype_of(tensor, name);  // throws for dtypes safetensors cannot hold
    specs.push_back({name, tensor.scalar_type(), tensor.sizes().vec()});
  }
  return specs;
}

TensorProducer producer_of(const NamedTensors& tensors) {
  return [&tensors](size_t i) { return tensors[i].second; };
}

}  // namespace

void save_file_streamed(const fs::path& path, const std::vector<TensorSpec>& specs, const TensorProducer& produce,
                        const std::map<std::string, std::string>& metadata) {
  write_streamed(path, specs, 0, specs.size(), produce, metadata);
}

void save_file(const fs::path& path, const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  save_file_streamed(path, specs_of(tensors), producer_of(tensors), metadata);
}

void save_sharded_streamed(const fs::path& dir, const std::vector<TensorSpec>& specs, const TensorProducer& produce,
                           uint64_t max_shard_bytes, const std::map<std::string, std::string>& metadata) {
  if (max_shard_bytes == 0) fail(ErrorKind::config, "save_sharded: max_shard_bytes must be > 0");
  for (const auto& spec : specs) dtype_of(spec.dtype, spec.name);  // before anything is written
  // Shards as [first, last) ranges of the specs.
  std::vector<std::pair<size_t, size_t>> shards = {{0, 0}};
  uint64_t shard_bytes = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    const uint64_t bytes = specs[i].nbytes();
    if (shards.back().second > shards.back().first && shard_bytes + bytes > max_shard_bytes) {
      shards.emplace_back(i, i);
      shard_bytes = 0;
    }
    shards.back().second = i + 1;
    shard_bytes += bytes;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(ErrorKind::io, "{}: cannot create directory: {}", dir.string(), ec.message());
  // transformers prefers model.safetensors over an index, so the layout not written now is
  // removed afterwards: a stale file of the other layout would shadow the new weights.
  if (shards.size() == 1) {
    write_streamed(dir / kSingleName, specs, shards[0].first, shards[0].second, produce, metadata);
    fs::remove(dir / kIndexName, ec);
    return;
  }
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  uint64_t total = 0;
  for (size_t k = 0; k < shards.size(); ++k) {
    const std::string name = fmt::format("model-{:05d}-of-{:05d}.safetensors", k + 1, shards.size());
    write_streamed(dir / name, specs, shards[k].first, shards[k].second, produce, metadata);
    for (size_t i = shards[k].first; i < shards[k].second; ++i) {
      weight_map[specs[i].name] = name;
      total += specs[i].nbytes();
    }
  }
  nlohmann::ordered_json index_metadata = {{"total_size", total}};
  for (const auto& [k, v] : metadata) index_metadata[k] = v;
  nlohmann::ordered_json index = {{"metadata", index_metadata}, {"weight_map", weight_map}};
  write_file_atomically(dir / kIndexName, index.dump(2) + "\n");
  fs::remove(dir / kSingleName, ec);
}

void save_sharded(const fs::path& dir, const NamedTensors& tensors, uint64_t max_shard_bytes,
                  const std::map<std::string, std::string>& metadata) {
  save_sharded_streamed(dir, specs_of(tensors), producer_of(tensors), max_shard_bytes, metadata);
}

}  // namespace visrl::safetensors
