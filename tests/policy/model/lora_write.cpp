// Test helper for peft_loads_test.sh: what visrl writes for a LoRA policy, for PEFT and
// transformers to load. Loads ADAPTER_DIR (a PEFT adapter on its base), moves every adapter
// weight by a fixed amount (so that what PEFT reads back can only be visrl's), then writes
//   OUT/adapter       save_adapter, base_model_name_or_path = the absolute base directory
//   OUT/logits.safetensors  "visrl.logits": the adapted model's float32 logits on PREFIX of INPUTS
//   OUT/merged        merge_lora_into_base + save_pretrained: a plain model
// Usage: lora_write ADAPTER_DIR INPUTS_SAFETENSORS PREFIX OUT
#include <cstdio>
#include <string>

#include "core/program.h"
#include "core/safetensors.h"
#include "policy/model/hf_checkpoint.h"
#include "policy/model/lora.h"
#include "policy/model/lora_checkpoint.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s ADAPTER_DIR INPUTS_SAFETENSORS PREFIX OUT\n", argv[0]);
    return 2;
  }
  using namespace visrl;
  return run_program([&] {
    const std::filesystem::path out = argv[4];
    const std::string prefix = argv[3];
    auto model = policy::load_pretrained(argv[1]);
    {
      at::NoGradGuard no_grad;
      for (auto& [name, t] : policy::lora_parameters(*model)) {
        t.add_(at::sin(at::arange(t.numel(), at::kFloat)).view(t.sizes()) * 0.01);
      }
    }
    const auto inputs = safetensors::File::open(argv[2]);
    policy::ModelInputs in;
    in.input_ids = inputs->tensor(prefix + ".input_ids");
    in.position_ids = inputs->tensor(prefix + ".position_ids");
    if (inputs->header().index.count(prefix + ".pixel_values")) {
      in.pixel_values = inputs->tensor(prefix + ".pixel_values");
      in.image_grid_thw = inputs->tensor(prefix + ".image_grid_thw");
    }
    at::NoGradGuard no_grad;
    policy::save_adapter(*model, out / "adapter", {model->loaded_from.string(), model->loaded_from});
    safetensors::save_file(out / "logits.safetensors", {{"visrl.logits", model->forward(in).contiguous()}});
    policy::merge_lora_into_base(*model);
    policy::SaveOptions save;
    save.copy_assets_from = model->loaded_from;
    policy::save_pretrained(*model, out / "merged", save);
    return 0;
  });
}
