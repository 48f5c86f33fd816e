#include "trainer/distributed/flat_buckets.h"

#include <algorithm>

namespace visrl::trainer {

std::vector<FlatBucket> plan_flat_buckets(const std::vector<at::Tensor>& tensors, int64_t cap_bytes) {
  std::vector<FlatBucket> buckets;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const at::Tensor& t = tensors[i];
    const int64_t cap = std::max<int64_t>(1, cap_bytes / static_cast<int64_t>(t.element_size()));
    int64_t offset = 0;
    while (offset < t.numel()) {
      bool fits = !buckets.empty() && buckets.back().dtype == t.scalar_type() && buckets.back().device == t.device() &&
                  buckets.back().numel < cap;
      if (!fits) {
        FlatBucket bucket;
        bucket.dtype = t.scalar_type();
        bucket.device = t.device();
        buckets.push_back(bucket);
      }
      FlatBucket& b = buckets.back();
      const int64_t n = std::min(t.numel() - offset, cap - b.numel);
      FlatSegment segment;
      segment.tensor = i;
      segment.offset = offset;
      segment.numel = n;
      segment.bucket_offset = b.numel;
      b.segments.push_back(segment);
      b.numel += n;
      offset += n;
    }
  }
  return buckets;
}

at::Tensor pack_bucket(const FlatBucket& bucket, const std::vector<at::Tensor>& tensors) {
  at::Tensor buffer = at::empty({bucket.numel}, at::TensorOptions().dtype(bucket.dtype).device(bucket.device));
  for (const FlatSegment& s : bucket.segments) {
    at::Tensor dst = buffer.slice(0, s.bucket_offset, s.bucket_offset + s.numel);
    const at::Tensor& src = tensors[s.tensor];
    if (src.defined())
      dst.copy_(src.view({-1}).slice(0, s.offset, s.offset + s.numel));
    else
      dst.zero_();
  }
  return buffer;
}

void unpack_bucket(const FlatBucket& bucket, const at::Tensor& buffer, const std::vector<at::Tensor>& tensors) {
  for (const FlatSegment& s : bucket.segments) {
    tensors[s.tensor]
        .view({-1})
        .slice(0, s.offset, s.offset + s.numel)
        .copy_(buffer.slice(0, s.bucket_offset, s.bucket_offset + s.numel));
  }
}

}  // namespace visrl::trainer
