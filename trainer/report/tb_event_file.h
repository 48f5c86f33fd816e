// TensorBoard's event file format, written by hand: the file is a sequence of records
//   uint64 length (little-endian) | uint32 masked CRC-32C of the length | data | uint32 masked CRC-32C of data
// and each record's data is a serialized tensorflow.Event protobuf (event.proto, summary.proto).
// The few messages visrl writes are encoded here with the protobuf wire format (varints,
// fixed32/64, length-delimited fields); tests read the files back with TensorBoard's own
// EventAccumulator (tests/trainer/report/tensorboard_test).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace visrl::trainer::tb {

// CRC-32C (Castagnoli), and TFRecord's mask of it: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t crc32c(std::string_view data);
uint32_t masked_crc32c(std::string_view data);

// One framed record of `data`.
std::string record(std::string_view data);

// Protobuf wire-format building blocks: field `number` with a value of the given kind.
class Message {
 public:
  Message& varint(int number, uint64_t value);
  Message& fixed32_float(int number, float value);
  Message& fixed64_double(int number, double value);
  Message& bytes(int number, std::string_view value);  // also strings and sub-messages
  Message& packed_doubles(int number, const std::vector<double>& values);
  const std::string& str() const { return out_; }

 private:
  void key(int number, int wire_type);
  void raw_varint(uint64_t value);
  std::string out_;
};

// The Summary.Value payloads visrl writes (summary.proto field numbers in the .cpp).
struct Histogram {
  double min = 0, max = 0, num = 0, sum = 0, sum_squares = 0;
  std::vector<double> bucket_limit;  // right edges; the last is +max double
  std::vector<double> bucket;        // counts
};
// Histogram of `values` in TensorBoard's layout (30 equal buckets over [min, max]).
Histogram histogram_of(const std::vector<double>& values);

std::string scalar_value(std::string_view tag, float value);
std::string histogram_value(std::string_view tag, const Histogram& h);
std::string image_value(std::string_view tag, int height, int width, std::string_view png);
// A text summary (the text plugin: a string tensor), rendered as markdown by TensorBoard.
std::string text_value(std::string_view tag, std::string_view text);

// tensorflow.Event with a summary holding `values` (each from the *_value functions).
std::string summary_event(double wall_time, int64_t step, const std::vector<std::string>& values);
// The first event of every file: file_version "brain.Event:2".
std::string file_version_event(double wall_time);
// SessionLog START at `step`: TensorBoard drops what earlier files logged at this step or later
// (a resumed run rewriting its future).
std::string session_start_event(double wall_time, int64_t step);

}  // namespace visrl::trainer::tb
