#include "trainer/report/tb_event_file.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

namespace visrl::trainer::tb {
namespace {

// Wire types of the protobuf encoding.
constexpr int kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;

std::array<uint32_t, 256> crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0x82f63b78u ^ (c >> 1) : c >> 1;  // reversed 0x1EDC6F41
    table[i] = c;
  }
  return table;
}

void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

}  // namespace

uint32_t crc32c(std::string_view data) {
  static const auto table = crc32c_table();
  uint32_t c = 0xffffffffu;
  for (unsigned char byte : data) c = table[(c ^ byte) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

uint32_t masked_crc32c(std::string_view data) {
  const uint32_t c = crc32c(data);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

std::string record(std::string_view data) {
  std::string out;
  std::string length;
  put_le(length, data.size(), 8);
  out += length;
  put_le(out, masked_crc32c(length), 4);
  out += data;
  put_le(out, masked_crc32c(data), 4);
  return out;
}

void Message::raw_varint(uint64_t value) {
  while (value >= 0x80) {
    out_.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out_.push_back(static_cast<char>(value));
}

void Message::key(int number, int wire_type) {
  raw_varint((static_cast<uint64_t>(number) << 3) | wire_type);
}

Message& Message::varint(int number, uint64_t value) {
  key(number, kVarint);
  raw_varint(value);
  return *this;
}

Message& Message::fixed32_float(int number, float value) {
  key(number, kFixed32);
  uint32_t bits = 0;
  std::memcpy(&bits, &value, 4);
  put_le(out_, bits, 4);
  return *this;
}

Message& Message::fixed64_double(int number, double value) {
  key(number, kFixed64);
  uint64_t bits = 0;
  std::memcpy(&bits, &value, 8);
  put_le(out_, bits, 8);
  return *this;
}

Message& Message::bytes(int number, std::string_view value) {
  key(number, kLengthDelimited);
  raw_varint(value.size());
  out_ += value;
  return *this;
}

Message& Message::packed_doubles(int number, const std::vector<double>& values) {
  std::string packed;
  for (double v : values) {
    uint64_t bits = 0;
    std::memcpy(&bits, &v, 8);
    put_le(packed, bits, 8);
  }
  return bytes(number, packed);
}

Histogram histogram_of(const std::vector<double>& values) {
  Histogram h;
  if (values.empty()) return h;
  h.min = *std::min_element(values.begin(), values.end());
  h.max = *std::max_element(values.begin(), values.end());
  h.num = static_cast<double>(values.size());
  for (double v : values) {
    h.sum += v;
    h.sum_squares += v * v;
  }
  constexpr int kBuckets = 30;
  const double width = (h.max - h.min) / kBuckets;
  if (!(width > 0)) {  // one value (or all equal): a single bucket
    h.bucket_limit = {h.max, std::numeric_limits<double>::max()};
    h.bucket = {h.num, 0.0};
    return h;
  }
  h.bucket.assign(kBuckets, 0.0);
  for (int i = 0; i < kBuckets; ++i) h.bucket_limit.push_back(i + 1 == kBuckets ? h.max : h.min + width * (i + 1));
  for (double v : values) {
    const int i = std::min(kBuckets - 1, static_cast<int>(std::floor((v - h.min) / width)));
    h.bucket[static_cast<size_t>(i)] += 1;
  }
  return h;
}

// summary.proto: Summary.Value { tag = 1; simple_value = 2; image = 4; histo = 5; tensor = 8;
// metadata = 9 }; Summary { repeated Value value = 1 }.
std::string scalar_value(std::string_view tag, float value) {
  return Message().bytes(1, tag).fixed32_float(2, value).str();
}

std::string histogram_value(std::string_view tag, const Histogram& h) {
  // HistogramProto { min = 1; max = 2; num = 3; sum = 4; sum_squares = 5; bucket_limit = 6; bucket = 7 }
  const auto histo = Message()
                         .fixed64_double(1, h.min)
                         .fixed64_double(2, h.max)
                         .fixed64_double(3, h.num)
                         .fixed64_double(4, h.sum)
                         .fixed64_double(5, h.sum_squares)
                         .packed_doubles(6, h.bucket_limit)
                         .packed_doubles(7, h.bucket)
                         .str();
  return Message().bytes(1, tag).bytes(5, histo).str();
}

std::string image_value(std::string_view tag, int height, int width, std::string_view png) {
  // Summary.Image { height = 1; width = 2; colorspace = 3 (3 = RGB); encoded_image_string = 4 }
  const auto image = Message()
                         .varint(1, static_cast<uint64_t>(height))
                         .varint(2, static_cast<uint64_t>(width))
                         .varint(3, 3)
                         .bytes(4, png)
                         .str();
  return Message().bytes(1, tag).bytes(4, image).str();
}

std::string text_value(std::string_view tag, std::string_view text) {
  // TensorProto { dtype = 1 (DT_STRING = 7); tensor_shape = 2 (a scalar: empty); string_val = 8 }
  const auto tensor = Message().varint(1, 7).bytes(2, "").bytes(8, text).str();
  // SummaryMetadata { plugin_data = 1 { plugin_name = 1 } }
  const auto metadata = Message().bytes(1, Message().bytes(1, "text").str()).str();
  return Message().bytes(1, tag).bytes(8, tensor).bytes(9, metadata).str();
}

// event.proto: Event { wall_time = 1; step = 2; file_version = 3; summary = 5; session_log = 7 }.
std::string summary_event(double wall_time, int64_t step, const std::vector<std::string>& values) {
  Message summary;
  for (const auto& v : values) summary.bytes(1, v);
  return Message().fixed64_double(1, wall_time).varint(2, static_cast<uint64_t>(step)).bytes(5, summary.str()).str();
}

std::string file_version_event(double wall_time) {
  return Message().fixed64_double(1, wall_time).bytes(3, "brain.Event:2").str();
}

std::string session_start_event(double wall_time, int64_t step) {
  // SessionLog { status = 1 (START = 1) }
  return Message()
      .fixed64_double(1, wall_time)
      .varint(2, static_cast<uint64_t>(step))
      .bytes(7, Message().varint(1, 1).str())
      .str();
}

}  // namespace visrl::trainer::tb
