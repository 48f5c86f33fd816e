#include "policy/model/qwen3vl.h"

#include "core/error.h"

namespace visrl::policy {

Qwen3VLImpl::Qwen3VLImpl(const Qwen3VLConfig& c) : config(c) {
  auto model = register_module("model", std::make_shared<torch::nn::Module>());
  visual = model->register_module("visual", VisionEncoder(c.vision));
  language_model = model->register_module("language_model", TextDecoder(c.text));
  if (!c.tie_word_embeddings) {
    lm_head = register_module(
        "lm_head", torch::nn::Linear(torch::nn::LinearOptions(c.text.hidden_size, c.text.vocab_size).bias(false)));
  }
}

const at::Tensor& Qwen3VLImpl::lm_head_weight() const {
  return config.tie_word_embeddings ? language_model->embed_tokens->weight : lm_head->weight;
}

at::ScalarType Qwen3VLImpl::dtype() const { return language_model->embed_tokens->weight.scalar_type(); }
at::Device Qwen3VLImpl::device() const { return language_model->embed_tokens->weight.device(); }

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
  auto features = visual(in.pixel_values, in.image_grid_thw);
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

at::Tensor Qwen3VLImpl::hidden_states(const ModelInputs& in, const AttentionContext& ctx) {
  auto [embeds, deepstack] = embed(in);
  if (!in.position_ids.defined() || in.position_ids.dim() != 3 || in.position_ids.size(0) != 3 ||
      in.position_ids.size(1) != embeds.size(0) || in.position_ids.size(2) != embeds.size(1)) {
    fail(ErrorKind::runtime, "position_ids: expected [3, {}, {}]", embeds.size(0), embeds.size(1));
  }
  return language_model(embeds, in.position_ids, ctx, deepstack.features.empty() ? nullptr : &deepstack);
}

at::Tensor Qwen3VLImpl::logits(const at::Tensor& hidden) { return at::linear(hidden, lm_head_weight()); }

at::Tensor Qwen3VLImpl::forward(const ModelInputs& in) { return logits(hidden_states(in, AttentionContext{})); }

}  // namespace visrl::policy
