#include "trainer/loop/prepared_prompt.h"

#include "core/error.h"
#include "policy/image/image_processor.h"

namespace visrl::trainer {

PreparedPrompt prepare_prompt(const DataItem& item, const policy::PolicyAssets& assets,
                              const TaskInstructions& instructions, int64_t max_prompt_tokens) {
  const auto context = fmt::format("{} (item \"{}\")", item.where, item.id);
  try {
    auto pixels = policy::read_image(item.image);  // [H, W, 3] uint8
    auto reference = std::make_shared<render::RgbImage>();
    reference->height = static_cast<int>(pixels.size(0));
    reference->width = static_cast<int>(pixels.size(1));
    auto contiguous = pixels.contiguous();
    reference->rgb.assign(contiguous.data_ptr<uint8_t>(), contiguous.data_ptr<uint8_t>() + contiguous.numel());
    const auto& text = item.prompt ? *item.prompt : instructions.of(item.task);
    PreparedPrompt prepared{&item, policy::build_prompt(assets, text, {pixels}, item.id), std::move(reference)};
    const auto length = prepared.input.input_ids.numel();
    if (max_prompt_tokens > 0 && length > max_prompt_tokens) {
      fail(ErrorKind::format, "the prompt has {} tokens, more than data.max_prompt_tokens = {}", length,
           max_prompt_tokens);
    }
    return prepared;
  } catch (const Error& e) {
    throw e.with_context(context);
  }
}

}  // namespace visrl::trainer
