#include "core/safetensors_format.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace visrl::safetensors {

namespace {

struct DtypeEntry {
  Dtype dtype;
  std::string_view name;
  size_t size;
};
constexpr std::array<DtypeEntry, 15> kDtypes = {{
    {Dtype::BOOL, "BOOL", 1},
    {Dtype::U8, "U8", 1},
    {Dtype::I8, "I8", 1},
    {Dtype::I16, "I16", 2},
    {Dtype::U16, "U16", 2},
    {Dtype::F16, "F16", 2},
    {Dtype::BF16, "BF16", 2},
    {Dtype::I32, "I32", 4},
    {Dtype::U32, "U32", 4},
    {Dtype::F32, "F32", 4},
    {Dtype::F64, "F64", 8},
    {Dtype::I64, "I64", 8},
    {Dtype::U64, "U64", 8},
    {Dtype::F8_E4M3, "F8_E4M3", 1},
    {Dtype::F8_E5M2, "F8_E5M2", 1},
}};

const DtypeEntry& entry(Dtype dtype) {
  return kDtypes[static_cast<size_t>(dtype)];
}

[[noreturn]] void bad(std::string_view source, const std::string& what) {
  throw Error(ErrorKind::format, fmt::format("{}: {}", source, what));
}

// Bytes needed by `shape` elements of `size` bytes, or nothing on overflow.
std::optional<uint64_t> byte_count(const std::vector<int64_t>& shape, size_t size) {
  uint64_t total = size;
  for (int64_t dim : shape) {
    if (dim < 0 || __builtin_mul_overflow(total, static_cast<uint64_t>(dim), &total)) return std::nullopt;
  }
  return total;
}

// SAX handler for the header: builds TensorInfo entries directly, so a hostile header never
// becomes a DOM, nesting deeper than the format allows is refused at once, and duplicate
// names are caught (a DOM would silently keep the last one).
class HeaderHandler {
 public:
  using json = nlohmann::json;
  explicit HeaderHandler(Header& header) : header_(header) {}

  std::string error;

  // Values sit at a level: 0 the whole header, 1 an entry, 2 a field of a tensor or a
  // metadata value, 3 an element of shape or data_offsets.
  bool null() { return reject_value("null"); }
  bool boolean(bool) { return reject_value("a boolean"); }
  bool number_integer(json::number_integer_t v) {
    if (v < 0) return reject_value(fmt::format("the negative number {}", v));
    return number_unsigned(static_cast<uint64_t>(v));
  }
  bool number_unsigned(json::number_unsigned_t v) {
    if (level_ != 3 || in_metadata_) return reject_value(fmt::format("the number {}", v));
    if (v > static_cast<uint64_t>(INT64_MAX)) return fail_entry(fmt::format("{} value {} is too large", field_, v));
    if (field_ == "shape") {
      if (current_.shape.size() >= kMaxRank) return fail_entry(fmt::format("more than {} dimensions", kMaxRank));
      current_.shape.push_back(static_cast<int64_t>(v));
    } else {
      if (++offsets_seen_ > 2) return fail_entry("data_offsets must have exactly 2 values");
      (offsets_seen_ == 1 ? current_.begin : current_.end) = v;
    }
    return true;
  }
  bool number_float(json::number_float_t v, const json::string_t&) {
    return reject_value(fmt::format("the non-integer number {}", v));
  }
  bool string(json::string_t& v) {
    if (level_ == 2 && in_metadata_) {
      header_.metadata[key_] = v;
      return true;
    }
    if (level_ == 2 && field_ == "dtype") {
      auto dtype = dtype_from_name(v);
      if (!dtype) return fail_entry(fmt::format("unknown dtype \"{}\"", v));
      current_.dtype = *dtype;
      seen_.insert(field_);
      return true;
    }
    return reject_value(fmt::format("the string \"{}\"", v));
  }
  bool binary(json::binary_t&) { return reject_value("binary data"); }

  bool start_object(std::size_t) {
    if (level_ == 1) {
      in_metadata_ = name_ == "__metadata__";
      current_ = TensorInfo{};
      current_.name = name_;
      seen_.clear();
    } else if (level_ != 0) {
      return reject_value("an object");
    }
    ++level_;
    return true;
  }
  bool key(json::string_t& k) {
    if (level_ == 1) {
      if (!names_.insert(k).second) return fail(fmt::format("duplicate entry \"{}\"", k));
      name_ = k;
    } else if (in_metadata_) {
      if (header_.metadata.count(k)) return fail(fmt::format("duplicate __metadata__ key \"{}\"", k));
      key_ = k;
    } else {
      if (k != "dtype" && k != "shape" && k != "data_offsets") {
        return fail_entry(fmt::format("unexpected field \"{}\"", k));
      }
      if (seen_.count(k)) return fail_entry(fmt::format("duplicate field \"{}\"", k));
      field_ = k;
    }
    return true;
  }
  bool end_object() {
    --level_;
    if (level_ == 1 && !in_metadata_) {
      for (const char* required : {"dtype", "shape", "data_offsets"}) {
        if (!seen_.count(required)) return fail_entry(fmt::format("missing \"{}\"", required));
      }
      header_.tensors.push_back(std::move(current_));
    }
    if (level_ == 1) in_metadata_ = false;
    return true;
  }
  bool start_array(std::size_t) {
    if (level_ != 2 || in_metadata_ || (field_ != "shape" && field_ != "data_offsets")) return reject_value("a list");
    seen_.insert(field_);
    offsets_seen_ = 0;
    ++level_;
    return true;
  }
  bool end_array() {
    if (field_ == "data_offsets" && offsets_seen_ != 2) return fail_entry("data_offsets must have exactly 2 values");
    --level_;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    // e.what() repeats the position; keep the part after the last ": " for a short message.
    std::string what = e.what();
    auto colon = what.rfind(": ");
    return fail(fmt::format("header is not valid JSON at byte {}: {}", position,
                            colon == std::string::npos ? what : what.substr(colon + 2)));
  }

 private:
  bool reject_value(const std::string& what) {
    if (level_ == 0) return fail("header must be a JSON object, got " + what);
    if (level_ == 1) return fail(fmt::format("entry \"{}\" must be an object, got {}", name_, what));
    if (in_metadata_) return fail(fmt::format("__metadata__ \"{}\" must be a string, got {}", key_, what));
    return fail_entry(fmt::format("unexpected {} in \"{}\"", what, field_));
  }
  bool fail_entry(const std::string& what) { return fail(fmt::format("tensor \"{}\": {}", name_, what)); }
  bool fail(std::string what) {
    if (error.empty()) error = std::move(what);
    return false;
  }

  Header& header_;
  int level_ = 0;  // number of open objects and arrays
  std::string name_, key_, field_;
  bool in_metadata_ = false;
  TensorInfo current_;
  std::set<std::string> seen_;   // fields of the current tensor
  std::set<std::string> names_;  // top-level entries
  int offsets_seen_ = 0;
};

}  // namespace

std::string_view dtype_name(Dtype dtype) {
  return entry(dtype).name;
}

size_t dtype_size(Dtype dtype) {
  return entry(dtype).size;
}

std::optional<Dtype> dtype_from_name(std::string_view name) {
  for (const auto& e : kDtypes)
    if (e.name == name) return e.dtype;
  return std::nullopt;
}

const TensorInfo* Header::find(std::string_view name) const {
  auto it = index.find(std::string(name));
  return it == index.end() ? nullptr : &tensors[it->second];
}

Header parse_header(std::span<const uint8_t> file, std::string_view source) {
  if (file.size() < 8) bad(source, fmt::format("file is {} bytes, too short for a safetensors header", file.size()));
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  if (n > kMaxHeaderBytes)
    bad(source, fmt::format("header length {} exceeds the limit of {} bytes", n, kMaxHeaderBytes));
  if (n > file.size() - 8) {
    bad(source, fmt::format("header length {} runs past the end of the file ({} bytes): truncated?", n, file.size()));
  }
  const auto* json_begin = reinterpret_cast<const char*>(file.data() + 8);
  if (n == 0 || json_begin[0] != '{') bad(source, "header must start with '{'");

  Header header;
  header.data_start = 8 + n;
  HeaderHandler handler(header);
  bool ok = nlohmann::json::sax_parse(json_begin, json_begin + n, &handler);
  if (!ok || !handler.error.empty()) bad(source, handler.error.empty() ? "header is not valid JSON" : handler.error);

  const uint64_t buffer_size = file.size() - header.data_start;
  for (const auto& t : header.tensors) {
    if (t.begin > t.end)
      bad(source, fmt::format("tensor \"{}\": data_offsets [{}, {}] are reversed", t.name, t.begin, t.end));
    auto needed = byte_count(t.shape, dtype_size(t.dtype));
    if (!needed) bad(source, fmt::format("tensor \"{}\": shape [{}] overflows", t.name, fmt::join(t.shape, ", ")));
    if (*needed != t.nbytes()) {
      bad(source, fmt::format("tensor \"{}\": shape [{}] of {} needs {} bytes, data_offsets give {}", t.name,
                              fmt::join(t.shape, ", "), dtype_name(t.dtype), *needed, t.nbytes()));
    }
  }
  std::sort(header.tensors.begin(), header.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t cursor = 0;
  for (const auto& t : header.tensors) {
    if (t.begin != cursor) {
      bad(source, fmt::format("tensor \"{}\": data starts at byte {} but the previous tensor ends at {} ({})", t.name,
                              t.begin, cursor, t.begin < cursor ? "overlap" : "hole"));
    }
    cursor = t.end;
  }
  if (cursor != buffer_size) {
    bad(source, fmt::format("tensors cover {} bytes of data but the file holds {} ({})", cursor, buffer_size,
                            cursor < buffer_size ? "trailing bytes" : "truncated"));
  }
  for (size_t i = 0; i < header.tensors.size(); ++i) {
    const auto& t = header.tensors[i];
    header.index.emplace(t.name, i);
    if (t.dtype == Dtype::BOOL) {
      const uint8_t* p = file.data() + header.data_start + t.begin;
      if (std::any_of(p, p + t.nbytes(), [](uint8_t b) { return b > 1; })) {
        bad(source, fmt::format("tensor \"{}\": BOOL values must be 0 or 1", t.name));
      }
    }
  }
  return header;
}

std::string serialize_header(const std::vector<TensorInfo>& tensors,
                             const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  if (!metadata.empty()) json["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    if (t.name == "__metadata__" || json.contains(t.name)) {
      fail(ErrorKind::format, "cannot write tensor \"{}\": duplicate or reserved name", t.name);
    }
    auto needed = byte_count(t.shape, dtype_size(t.dtype));
    if (!needed) {
      fail(ErrorKind::format, "cannot write tensor \"{}\": shape [{}] of {} is too large", t.name,
           fmt::join(t.shape, ", "), dtype_name(t.dtype));
    }
    json[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + *needed}}};
    offset += *needed;
  }
  std::string text = json.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data buffer starts 8-byte aligned
  const uint64_t n = text.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + text;
}

std::string serialize_header(const std::vector<TensorBytes>& tensors,
                             const std::map<std::string, std::string>& metadata) {
  std::vector<TensorInfo> infos;
  infos.reserve(tensors.size());
  for (const auto& t : tensors) {
    auto needed = byte_count(t.shape, dtype_size(t.dtype));
    if (!needed || *needed != t.data.size()) {
      fail(ErrorKind::format, "cannot write tensor \"{}\": shape [{}] of {} does not match {} bytes", t.name,
           fmt::join(t.shape, ", "), dtype_name(t.dtype), t.data.size());
    }
    infos.push_back({t.name, t.dtype, t.shape, 0, 0});
  }
  return serialize_header(infos, metadata);
}

}  // namespace visrl::safetensors
