// Flattened communication buckets, shared by the gradient all-reduce (grad_sync.h) and the
// ZeRO-1 parameter broadcast (sharded_adamw.h): a list of tensors, in a fixed order that is the
// same on every rank, is cut into buckets of at most `cap_bytes`, each holding one dtype and one
// device. A tensor bigger than a bucket is split across consecutive buckets, so a bucket's
// buffer never exceeds the cap (no 1.2 GB buffer for an embedding table). One collective per
// bucket instead of one per tensor.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

namespace visrl::trainer {

// Elements [offset, offset + numel) of tensors[tensor].view(-1) sit at
// [bucket_offset, bucket_offset + numel) of the bucket's buffer.
struct FlatSegment {
  size_t tensor = 0;
  int64_t offset = 0;
  int64_t numel = 0;
  int64_t bucket_offset = 0;
};

struct FlatBucket {
  at::ScalarType dtype = at::kFloat;
  at::Device device = at::kCPU;
  int64_t numel = 0;  // buffer length, elements
  std::vector<FlatSegment> segments;
};

// Plans buckets over `tensors` (dtype, device and numel are read; the contents are not).
std::vector<FlatBucket> plan_flat_buckets(const std::vector<at::Tensor>& tensors, int64_t cap_bytes);

// The bucket's buffer [numel] filled from `tensors` (contiguous; an undefined one counts as zeros).
at::Tensor pack_bucket(const FlatBucket& bucket, const std::vector<at::Tensor>& tensors);

// Writes `buffer` [numel] back into `tensors` (contiguous and defined), converting dtype and
// device where they differ.
void unpack_bucket(const FlatBucket& bucket, const at::Tensor& buffer, const std::vector<at::Tensor>& tensors);

}  // namespace visrl::trainer
