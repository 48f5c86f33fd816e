// The chat-completions wire format the critic speaks (OpenAI, vLLM, SGLang, LMDeploy): the
// request body, the answer's text and the server's error messages. No networking here.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "render/render_types.h"
#include "reward/prompts/critic_prompts.h"

namespace visrl::reward {

// "data:image/png;base64,..." of `image` downscaled so that its longer side is <= max_side.
std::string png_data_url(const render::RgbImage& image, int64_t max_side);

// The JSON body of POST {base}/chat/completions: one user turn holding the reference image,
// the render and the prompt, in that order (the Visual-ERM input order). top_k and
// repetition_penalty are vLLM extensions, sent only when they differ from "off" (top_k <= 0,
// repetition_penalty == 1) so that strict OpenAI servers are not sent unknown keys needlessly.
std::string chat_request_body(std::string_view model, std::string reference_url, std::string rendered_url,
                              std::string_view prompt, const CriticSampling& sampling);

// choices[0].message.content of a 2xx response: a string, or a list of {type: text, text}
// parts joined. `error` says what is missing when the body is not such a response.
struct ChatReply {
  bool ok = false;
  std::string content;
  std::string error;
};
ChatReply parse_chat_reply(std::string_view body);

// What the server says about a failed request: error.message, message or detail of a JSON
// body, else the body itself; whitespace collapsed, valid UTF-8, at most `max_bytes`.
std::string server_message(std::string_view body, size_t max_bytes = 300);

// Seconds to wait from a Retry-After header: delta-seconds or an HTTP date. nullopt when the
// value is neither.
std::optional<double> parse_retry_after(std::string_view value);

}  // namespace visrl::reward
