// TensorBoard's record framing and protobuf encoding against known values (the whole files are
// read back by TensorBoard itself in tests/trainer/loop/train_tensorboard_test.cpp).
#include <algorithm>
#include <cstring>

#include <gtest/gtest.h>

#include "trainer/report/tb_event_file.h"

namespace visrl::trainer::tb {
namespace {

TEST(TbEventFile, Crc32cAndTheRecordFrame) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);  // the CRC-32C check value
  EXPECT_EQ(crc32c(""), 0u);
  const std::string data = "abc";
  const std::string r = record(data);
  ASSERT_EQ(r.size(), 8 + 4 + data.size() + 4);
  uint64_t length = 0;
  std::memcpy(&length, r.data(), 8);  // little-endian on this machine, as the format is
  EXPECT_EQ(length, 3u);
  uint32_t length_crc = 0, data_crc = 0;
  std::memcpy(&length_crc, r.data() + 8, 4);
  std::memcpy(&data_crc, r.data() + 15, 4);
  EXPECT_EQ(length_crc, masked_crc32c(r.substr(0, 8)));
  EXPECT_EQ(data_crc, masked_crc32c(data));
  const uint32_t c = crc32c(data);
  EXPECT_EQ(masked_crc32c(data), ((c >> 15) | (c << 17)) + 0xa282ead8u);
}

TEST(TbEventFile, ProtobufWireFormat) {
  // Field 1 varint 150 is the protobuf documentation's example: 08 96 01.
  EXPECT_EQ(Message().varint(1, 150).str(), std::string("\x08\x96\x01", 3));
  EXPECT_EQ(Message().bytes(2, "testing").str(), std::string("\x12\x07testing", 9));
  EXPECT_EQ(Message().fixed32_float(2, 1.0f).str(), std::string("\x15\x00\x00\x80\x3f", 5));
  // tag "a" = 0a 01 61, simple_value 0.5 = 15 00 00 00 3f
  EXPECT_EQ(scalar_value("a", 0.5f), std::string("\x0a\x01\x61\x15\x00\x00\x00\x3f", 8));
}

TEST(TbEventFile, HistogramBuckets) {
  const auto h = histogram_of({0.0, 1.0, 1.0, 3.0});
  EXPECT_EQ(h.num, 4);
  EXPECT_EQ(h.min, 0.0);
  EXPECT_EQ(h.max, 3.0);
  EXPECT_EQ(h.sum, 5.0);
  EXPECT_EQ(h.sum_squares, 11.0);
  ASSERT_EQ(h.bucket.size(), 30u);
  ASSERT_EQ(h.bucket_limit.size(), 30u);
  double total = 0;
  for (double b : h.bucket) total += b;
  EXPECT_EQ(total, 4);
  EXPECT_EQ(h.bucket.front(), 1);                                               // 0.0
  EXPECT_NE(std::find(h.bucket.begin(), h.bucket.end(), 2.0), h.bucket.end());  // both 1.0 in one bucket
  EXPECT_EQ(h.bucket.back(), 1);  // 3.0, the right edge, in the last bucket
  const auto one = histogram_of({2.5, 2.5});
  EXPECT_EQ(one.bucket, (std::vector<double>{2, 0}));
  EXPECT_EQ(histogram_of({}).num, 0);
}

}  // namespace
}  // namespace visrl::trainer::tb
