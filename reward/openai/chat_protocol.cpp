#include "reward/openai/chat_protocol.h"

#include <curl/curl.h>

#include <cctype>
#include <charconv>
#include <ctime>

#include <nlohmann/json.hpp>

#include "core/base64.h"
#include "render/png_io.h"
#include "reward/image_ops.h"

namespace visrl::reward {

using nlohmann::json;

std::string png_data_url(const render::RgbImage& image, int64_t max_side) {
  const std::string png = render::encode_png(downscale_to_max_side(image, max_side));
  return "data:image/png;base64," + base64_encode(png);
}

std::string chat_request_body(std::string_view model, std::string reference_url, std::string rendered_url,
                              std::string_view prompt, const CriticSampling& sampling) {
  json content = json::array();
  content.push_back({{"type", "image_url"}, {"image_url", {{"url", std::move(reference_url)}}}});
  content.push_back({{"type", "image_url"}, {"image_url", {{"url", std::move(rendered_url)}}}});
  content.push_back({{"type", "text"}, {"text", prompt}});
  json body = {
      {"model", model},
      {"messages", json::array({{{"role", "user"}, {"content", std::move(content)}}})},
      {"max_tokens", sampling.max_new_tokens},
      {"temperature", sampling.temperature},
      {"top_p", sampling.top_p},
      {"presence_penalty", sampling.presence_penalty},
  };
  if (sampling.top_k > 0) body["top_k"] = sampling.top_k;
  if (sampling.repetition_penalty != 1.0) body["repetition_penalty"] = sampling.repetition_penalty;
  // Replacing invalid UTF-8 keeps a prompt file with a stray byte from aborting the step.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

ChatReply parse_chat_reply(std::string_view body) {
  ChatReply reply;
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    reply.error = "the response body is not JSON";
    return reply;
  }
  if (!doc.is_object() || !doc.contains("choices") || !doc["choices"].is_array() || doc["choices"].empty()) {
    reply.error = "the response has no choices";
    return reply;
  }
  const json& choice = doc["choices"][0];
  if (!choice.is_object() || !choice.contains("message") || !choice["message"].is_object()) {
    reply.error = "choices[0] has no message";
    return reply;
  }
  const json& message = choice["message"];
  const auto it = message.find("content");
  if (it == message.end() || it->is_null()) {
    reply.error = "choices[0].message has no content";
    return reply;
  }
  if (it->is_string()) {
    reply.content = it->get<std::string>();
  } else if (it->is_array()) {
    for (const json& part : *it)
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") && part["text"].is_string())
        reply.content += part["text"].get<std::string>();
  } else {
    reply.error = "choices[0].message.content is neither text nor a list of parts";
    return reply;
  }
  reply.ok = true;
  return reply;
}

namespace {

std::string printable_prefix(std::string_view text, size_t max_bytes) {
  std::string out;
  bool pending_space = false;
  for (char c : text) {
    if (out.size() >= max_bytes) break;
    if (std::isspace(static_cast<unsigned char>(c))) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  if (out.size() > max_bytes) out.resize(max_bytes);
  // The cut may split a UTF-8 sequence; sanitising turns the stub into U+FFFD.
  return render::sanitize_utf8(out);
}

}  // namespace

std::string server_message(std::string_view body, size_t max_bytes) {
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object()) {
    const json* found = nullptr;
    if (doc.contains("error") && doc["error"].is_object() && doc["error"].contains("message"))
      found = &doc["error"]["message"];
    else if (doc.contains("error"))
      found = &doc["error"];
    else if (doc.contains("message"))
      found = &doc["message"];
    else if (doc.contains("detail"))
      found = &doc["detail"];
    if (found != nullptr)
      return printable_prefix(
          found->is_string() ? found->get<std::string>() : found->dump(-1, ' ', false, json::error_handler_t::replace),
          max_bytes);
  }
  return printable_prefix(body, max_bytes);
}

std::optional<double> parse_retry_after(std::string_view value) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.remove_prefix(1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  long long seconds = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && end == value.data() + value.size()) return seconds < 0 ? 0.0 : static_cast<double>(seconds);
  const std::string text(value);
  const time_t when = curl_getdate(text.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  const double delta = std::difftime(when, std::time(nullptr));
  return delta < 0 ? 0.0 : delta;
}

}  // namespace visrl::reward
