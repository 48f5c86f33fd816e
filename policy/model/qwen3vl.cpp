#include "policy/model/qwen3vl.h"

#include "core/error.h"

namespace visrl::policy {

Qwen3VLImpl::Qwen3VLImpl(const Qwen3VLConfig& c) : config(c) {
  auto model = register_module("model", std::make_shared<torch::nn::Module>());
  visual = model->register_module("visual", VisionEncoder(c.vision));
  language_model = model->register_module("language_model", TextDecoder(c.text));
  if (!c.tie_word_embeddings) {
    lm_head = register_module("lm_head", Linear(c.text.hidden_size, c.text.vocab_size, /*bias=*/false));
  }
}

const at::Tensor& Qwen3VLImpl::lm_head_weight() const {
  return config.tie_word_embeddings ? language_model->embed_tokens->weight : lm_head->weight;
}

at::ScalarType Qwen3VLImpl::dtype() const {
  return language_model->embed_tokens->weight.scalar_type();
}
at::Device Qwen3VLImpl::device() const {
  return language_model->embed_tokens->weight.device();
}

std::pair<at::Tensor, DeepStackInputs> Qwen3VLImpl::embed(const ModelInputs& in) {
  const auto& ids = in.input_ids;
  if (ids.dim() != 2) fail(ErrorKind::runtime, "input_ids: expected [batch, tokens], got {}", c10::str(ids.sizes()));
  const int64_t B = ids.size(0), T = ids.size(1), H = config.text.hidden_size;
  auto embeds = language_model->embed_tokens(ids);  // [B, T, H]
  DeepStackInputs deepstack;
  auto image_positions = (ids.view(-1) == config.image_token_id).nonzero().squeeze(1);  // [V]
  const int64_t n_tokens = image_positions.size(0);
  if (!in.pixel_values.defined()) {
    if (n_tokens > 0) fail(ErrorKind::runtime, "input_ids hold {} image tokens but no image was given", n_tokens);
    return {embeds, deepstack};
  }
  auto features = encode_images(in.pixel_values, in.image_grid_thw);
  if (features.embeds.size(0) != n_tokens) {
    fail(ErrorKind::runtime, "image tokens and image features do not match: {} <|image_pad|> tokens, {} features",
         n_tokens, features.embeds.size(0));
  }
  // Rows of the flattened sequence at the image tokens take the image features, in order.
  embeds = embeds.reshape({B * T, H}).index_copy(0, image_positions, features.embeds.to(embeds.scalar_type()));
  deepstack.flat_index = image_positions;
  deepstack.features = std::move(features.deepstack);
  return {embeds.view({B, T, H}), deepstack};
}

VisionFeatures Qwen3VLImpl::encode_images(const at::Tensor& pixel_values, const at::Tensor& grid_thw) {
  // The G rows of a GRPO group repeat their prompt's image: encode each distinct image once
  // and hand its features to every row (autograd sums the rows' gradients, as if separate).
  auto grid = grid_thw.to(at::kCPU, at::kLong).contiguous();  // [N, 3]
  const int64_t n = grid.size(0);
  const int64_t merge = config.vision.spatial_merge_size * config.vision.spatial_merge_size;
  std::vector<int64_t> patch_start(n + 1, 0);
  for (int64_t i = 0; i < n; ++i) patch_start[i + 1] = patch_start[i] + grid[i].prod().item<int64_t>();
  if (n < 2 || patch_start[n] != pixel_values.size(0)) return visual(pixel_values, grid_thw);
  std::vector<at::Tensor> images;  // [patches_i, C*T*P*P] each
  for (int64_t i = 0; i < n; ++i) {
    images.push_back(pixel_values.narrow(0, patch_start[i], patch_start[i + 1] - patch_start[i]));
  }
  // A cheap signature (the pixel sum) first; the exact comparison only when it agrees.
  std::vector<double> sums(n);
  for (int64_t i = 0; i < n; ++i) sums[i] = images[i].sum().item<double>();
  std::vector<int64_t> unique;        // image index of each distinct image
  std::vector<int64_t> unique_of(n);  // image -> position in `unique`
  for (int64_t i = 0; i < n; ++i) {
    unique_of[i] = -1;
    for (size_t u = 0; u < unique.size() && unique_of[i] < 0; ++u) {
      const int64_t j = unique[u];
      if (sums[i] == sums[j] && at::equal(grid[i], grid[j]) && at::equal(images[i], images[j])) unique_of[i] = u;
    }
    if (unique_of[i] < 0) {
      unique_of[i] = static_cast<int64_t>(unique.size());
      unique.push_back(i);
    }
  }
  if (static_cast<int64_t>(unique.size()) == n) return visual(pixel_values, grid_thw);
  std::vector<at::Tensor> unique_pixels, unique_grids;
  for (int64_t j : unique) {
    unique_pixels.push_back(images[j]);
    unique_grids.push_back(grid[j]);
  }
  auto features = visual(at::cat(unique_pixels), at::stack(unique_grids));
  // Rows of the unique features for every image, in the original order.
  std::vector<int64_t> token_start(unique.size() + 1, 0);
  for (size_t u = 0; u < unique.size(); ++u) {
    token_start[u + 1] = token_start[u] + (patch_start[unique[u] + 1] - patch_start[unique[u]]) / merge;
  }
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t r = token_start[unique_of[i]]; r < token_start[unique_of[i] + 1]; ++r) rows.push_back(r);
  }
  auto index = at::tensor(rows, at::kLong).to(features.embeds.device());
  features.embeds = features.embeds.index_select(0, index);
  for (auto& level : features.deepstack) level = level.index_select(0, index);
  return features;
}

at::Tensor Qwen3VLImpl::hidden_states(const ModelInputs& in, const AttentionContext& ctx) {
  auto [embeds, deepstack] = embed(in);
  if (!in.position_ids.defined() || in.position_ids.dim() != 3 || in.position_ids.size(0) != 3 ||
      in.position_ids.size(1) != embeds.size(0) || in.position_ids.size(2) != embeds.size(1)) {
    fail(ErrorKind::runtime, "position_ids: expected [3, {}, {}]", embeds.size(0), embeds.size(1));
  }
  return language_model(embeds, in.position_ids, ctx, deepstack.features.empty() ? nullptr : &deepstack);
}

at::Tensor Qwen3VLImpl::logits(const at::Tensor& hidden) {
  return linear_forward(hidden, lm_head_weight(), {});
}

at::Tensor Qwen3VLImpl::forward(const ModelInputs& in) {
  return logits(hidden_states(in, AttentionContext{}));
}

}  // namespace visrl::policy
