// Qwen3VLForConditionalGeneration in LibTorch: the vision encoder, the text decoder and the
// lm_head (tied to the embedding or separate). Module names follow transformers, so
// named_parameters() yields exactly the checkpoint's tensor names:
//   model.visual.*, model.language_model.*, lm_head.weight (absent when tied).
#pragma once

#include <filesystem>
#include <memory>

#include <torch/nn/module.h>

#include "policy/model/linear.h"
#include "policy/model/qwen3vl_config.h"
#include "policy/model/text_decoder.h"
#include "policy/model/vision_encoder.h"

namespace visrl::policy {

// One forward's inputs. Position ids are computed by the caller (policy/image/mrope.h) since
// they depend on the images' grids and on padding.
struct ModelInputs {
  at::Tensor input_ids;       // [B, T] int64
  at::Tensor position_ids;    // [3, B, T] int64 (T, H, W positions)
  at::Tensor pixel_values;    // [patches, C*T*P*P] or undefined when there is no image
  at::Tensor image_grid_thw;  // [images, 3] int64, images in the order their tokens appear
};

class Qwen3VLImpl : public torch::nn::Module {
 public:
  explicit Qwen3VLImpl(const Qwen3VLConfig& config);

  // Final-normed hidden states [B, T, H] under the given attention mode (see AttentionContext).
  at::Tensor hidden_states(const ModelInputs& inputs, const AttentionContext& ctx);
  // hidden [.., H] -> logits [.., vocab]
  at::Tensor logits(const at::Tensor& hidden);
  // logits [B, T, vocab] with plain causal attention: the transformers forward.
  at::Tensor forward(const ModelInputs& inputs);

  // The embeddings of `input_ids` [B, T] with image features written at the image tokens,
  // plus the DeepStack inputs for the decoder. Throws when the image tokens and the image
  // features do not match in number (naming both counts).
  std::pair<at::Tensor, DeepStackInputs> embed(const ModelInputs& inputs);

  // The vision encoder over every image, encoding identical images (same grid and pixels)
  // only once: features come back one row per image token, in image order.
  VisionFeatures encode_images(const at::Tensor& pixel_values, const at::Tensor& grid_thw);

  const at::Tensor& lm_head_weight() const;
  at::ScalarType dtype() const;
  at::Device device() const;

  Qwen3VLConfig config;
  VisionEncoder visual{nullptr};        // model.visual
  TextDecoder language_model{nullptr};  // model.language_model
  Linear lm_head{nullptr};              // lm_head, only when not tied

  // The checkpoint directory load_pretrained filled the weights from (empty for a model built
  // in memory): merged LoRA generation restores the base weights from it (lora.h).
  std::filesystem::path loaded_from;
  // The adapters' spec once add_lora attached some (lora.h); nullptr: none.
  std::shared_ptr<const LoraSpec> lora;
};
TORCH_MODULE(Qwen3VL);

}  // namespace visrl::policy
