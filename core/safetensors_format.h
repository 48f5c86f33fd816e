// The safetensors file format without any tensor library: dtypes, header parsing with full
// validation, and header serialisation. Layout (little-endian):
//   [u64 N][N bytes of JSON header, space-padded][data buffer]
// The header maps each tensor name to {dtype, shape, data_offsets: [begin, end)} relative
// to the data buffer, plus an optional "__metadata__" map of strings. Offsets must tile the
// buffer exactly: no holes, no overlaps, nothing after the last tensor.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace visrl::safetensors {

enum class Dtype : uint8_t { BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64, F8_E4M3, F8_E5M2 };

std::string_view dtype_name(Dtype dtype);  // "BF16"
std::optional<Dtype> dtype_from_name(std::string_view name);
size_t dtype_size(Dtype dtype);  // bytes per element

struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // [begin, end): byte range within the data buffer
  uint64_t end = 0;

  uint64_t nbytes() const { return end - begin; }
};

struct Header {
  std::vector<TensorInfo> tensors;  // sorted by begin offset
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;  // file offset of the data buffer: 8 + N

  const TensorInfo* find(std::string_view name) const;

  std::unordered_map<std::string, size_t> index;  // name -> position in `tensors`
};

// Limits that keep a hostile file from costing unbounded memory.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's bound
constexpr size_t kMaxRank = 64;

// Parses and validates the header of the safetensors file whose complete contents are
// `file`. `source` names the file in errors. Throws Error(ErrorKind::format) saying what is
// wrong, e.g. "model.safetensors: tensor \"w\": shape [2, 3] of F32 needs 24 bytes, data_offsets give 20".
Header parse_header(std::span<const uint8_t> file, std::string_view source);

// One tensor to write: its raw little-endian, row-major bytes.
struct TensorBytes {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<int64_t> shape;
  std::span<const uint8_t> data;
};

// The 8-byte length prefix plus the JSON header, padded with spaces to a multiple of 8 so
// the data buffer starts aligned. Offsets follow the order of `tensors`. Throws
// Error(ErrorKind::format) on duplicate names or a byte count that does not match a shape.
std::string serialize_header(const std::vector<TensorBytes>& tensors,
                             const std::map<std::string, std::string>& metadata);
// The same from names, dtypes and shapes alone (begin/end are ignored: the tensors are laid
// out in order), for writers that produce the bytes only after the header.
std::string serialize_header(const std::vector<TensorInfo>& tensors,
                             const std::map<std::string, std::string>& metadata);

}  // namespace visrl::safetensors
