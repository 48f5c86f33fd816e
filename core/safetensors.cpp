#include "core/safetensors.h"

#include <fstream>
#include <cstring>

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

Dtype dtype_of(const at::Tensor& tensor, const std::string& name) {
  for (const auto& p : kPairs)
    if (p.scalar == tensor.scalar_type()) return p.dtype;
  fail(ErrorKind::format, "tensor \"{}\": dtype {} cannot be stored in safetensors", name,
       c10::toString(tensor.scalar_type()));
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

// ---------------------------------------------------------------------------------------
// Writing.

namespace {

struct Prepared {
  std::vector<at::Tensor> cpu;  // keeps the contiguous CPU copies alive
  std::vector<TensorBytes> bytes;
};

Prepared prepare(const NamedTensors& tensors) {
  Prepared p;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) fail(ErrorKind::format, "cannot write tensor \"{}\": undefined", name);
    at::Tensor cpu = tensor.detach().to(at::kCPU).contiguous();
    auto* data = static_cast<const uint8_t*>(cpu.data_ptr());
    p.bytes.push_back({name, dtype_of(cpu, name), cpu.sizes().vec(), {data, cpu.nbytes()}});
    p.cpu.push_back(std::move(cpu));
  }
  return p;
}

void write_prepared(const fs::path& path, const std::vector<TensorBytes>& tensors,
                    const std::map<std::string, std::string>& metadata) {
  const std::string header = serialize_header(tensors, metadata);
  AtomicFile file(path);
  file.write(header);
  for (const auto& t : tensors) file.write(t.data.data(), t.data.size());
  file.commit();
}

}  // namespace

void save_file(const fs::path& path, const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  Prepared p = prepare(tensors);
  write_prepared(path, p.bytes, metadata);
}

void save_sharded(const fs::path& dir, const NamedTensors& tensors, uint64_t max_shard_bytes,
                  const std::map<std::string, std::string>& metadata) {
  if (max_shard_bytes == 0) fail(ErrorKind::config, "save_sharded: max_shard_bytes must be > 0");
  Prepared p = prepare(tensors);
  std::vector<std::vector<TensorBytes>> shards(1);
  uint64_t shard_bytes = 0;
  for (const auto& t : p.bytes) {
    if (!shards.back().empty() && shard_bytes + t.data.size() > max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(t);
    shard_bytes += t.data.size();
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(ErrorKind::io, "{}: cannot create directory: {}", dir.string(), ec.message());
  // transformers prefers model.safetensors over an index, so the layout not written now is
  // removed afterwards: a stale file of the other layout would shadow the new weights.
  if (shards.size() == 1) {
    write_prepared(dir / kSingleName, shards[0], metadata);
    fs::remove(dir / kIndexName, ec);
    return;
  }
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  uint64_t total = 0;
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string name = fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
    write_prepared(dir / name, shards[i], metadata);
    for (const auto& t : shards[i]) {
      weight_map[t.name] = name;
      total += t.data.size();
    }
  }
  nlohmann::ordered_json index_metadata = {{"total_size", total}};
  for (const auto& [k, v] : metadata) index_metadata[k] = v;
  nlohmann::ordered_json index = {{"metadata", index_metadata}, {"weight_map", weight_map}};
  write_file_atomically(dir / kIndexName, index.dump(2) + "\n");
  fs::remove(dir / kSingleName, ec);
}

}  // namespace visrl::safetensors
