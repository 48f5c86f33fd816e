// The configuration schema: every key, its meaning and its allowed values. Defaults are the
// member initialisers in config.h.
#include "core/config_schema.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>

#include <fmt/format.h>

#include "core/algorithm_choice.h"
#include "core/config.h"

namespace visrl::config_detail {

// ---------------------------------------------------------------------------------------
// Scalars and their YAML spelling.

namespace {

bool scalar_text(const YAML::Node& node, std::string& out) {
  if (!node.IsScalar()) return false;
  out = node.Scalar();
  return true;
}

// The whole of `text` as a number of type T (an optional leading '+' allowed).
template <typename T>
bool parse_number(std::string text, T& out) {
  if (!text.empty() && text[0] == '+') text.erase(0, 1);
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && !text.empty();
}

std::string format_double(double v) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  std::string s(buf, ptr);
  // Keep a decimal point so the value reads as a float ("1.0", not "1").
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

YAML::Node flow_sequence() {
  YAML::Node node(YAML::NodeType::Sequence);
  node.SetStyle(YAML::EmitterStyle::Flow);
  return node;
}

}  // namespace

std::string describe_node(const YAML::Node& node, bool plain) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  return plain ? node.Scalar() : "\"" + node.Scalar() + "\"";
}

template <>
std::string ValueCodec<bool>::name() {
  return "true or false";
}
template <>
bool ValueCodec<bool>::parse(const YAML::Node& node, bool& out) {
  std::string s;
  if (!scalar_text(node, s)) return false;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "true" || s == "yes" || s == "on") return out = true, true;
  if (s == "false" || s == "no" || s == "off") return out = false, true;
  return false;
}
template <>
YAML::Node ValueCodec<bool>::emit(const bool& v) {
  return YAML::Node(v ? "true" : "false");
}

template <>
std::string ValueCodec<int64_t>::name() {
  return "an integer";
}
template <>
bool ValueCodec<int64_t>::parse(const YAML::Node& node, int64_t& out) {
  std::string s;
  return scalar_text(node, s) && parse_number(s, out);
}
template <>
YAML::Node ValueCodec<int64_t>::emit(const int64_t& v) {
  return YAML::Node(std::to_string(v));
}

template <>
std::string ValueCodec<uint64_t>::name() {
  return "an integer >= 0";
}
template <>
bool ValueCodec<uint64_t>::parse(const YAML::Node& node, uint64_t& out) {
  std::string s;
  return scalar_text(node, s) && !s.empty() && s[0] != '-' && parse_number(s, out);
}
template <>
YAML::Node ValueCodec<uint64_t>::emit(const uint64_t& v) {
  return YAML::Node(std::to_string(v));
}

template <>
std::string ValueCodec<double>::name() {
  return "a number";
}
template <>
bool ValueCodec<double>::parse(const YAML::Node& node, double& out) {
  std::string s;
  return scalar_text(node, s) && parse_number(s, out) && std::isfinite(out);
}
template <>
YAML::Node ValueCodec<double>::emit(const double& v) {
  return YAML::Node(format_double(v));
}

template <>
std::string ValueCodec<std::string>::name() {
  return "a string";
}
template <>
bool ValueCodec<std::string>::parse(const YAML::Node& node, std::string& out) {
  if (node.IsNull()) return out.clear(), true;  // `key:` and `key: ~` mean empty
  return scalar_text(node, out);
}
template <>
YAML::Node ValueCodec<std::string>::emit(const std::string& v) {
  return YAML::Node(v);
}

using StringList = std::vector<std::string>;
template <>
std::string ValueCodec<StringList>::name() {
  return "a list of strings";
}
template <>
bool ValueCodec<StringList>::parse(const YAML::Node& node, StringList& out) {
  out.clear();
  if (node.IsNull()) return true;
  if (node.IsScalar()) return out.push_back(node.Scalar()), true;  // one item needs no brackets
  if (!node.IsSequence()) return false;
  for (const auto& item : node) {
    if (!item.IsScalar()) return false;
    out.push_back(item.Scalar());
  }
  return true;
}
template <>
YAML::Node ValueCodec<StringList>::emit(const StringList& v) {
  YAML::Node node = flow_sequence();
  for (const auto& s : v) node.push_back(s);
  return node;
}

using NumberMap = std::map<std::string, double>;
template <>
std::string ValueCodec<NumberMap>::name() {
  return "a mapping of names to numbers";
}
template <>
bool ValueCodec<NumberMap>::parse(const YAML::Node& node, NumberMap& out) {
  out.clear();
  if (node.IsNull()) return true;
  if (!node.IsMap()) return false;
  for (const auto& kv : node) {
    double v;
    if (!kv.first.IsScalar() || !ValueCodec<double>::parse(kv.second, v)) return false;
    if (!out.emplace(kv.first.Scalar(), v).second) return false;  // duplicate name
  }
  return true;
}
template <>
YAML::Node ValueCodec<NumberMap>::emit(const NumberMap& v) {
  YAML::Node node(YAML::NodeType::Map);
  node.SetStyle(YAML::EmitterStyle::Flow);
  for (const auto& [k, x] : v) node[k] = format_double(x);
  return node;
}

// ---------------------------------------------------------------------------------------
// Rules.

namespace {

template <typename T>
Rule<T> gt(T bound) {
  return {fmt::format("> {}", bound), [bound](const T& v) { return v > bound; }};
}
template <typename T>
Rule<T> ge(T bound) {
  return {fmt::format(">= {}", bound), [bound](const T& v) { return v >= bound; }};
}
template <typename T>
Rule<T> between(T lo, T hi) {  // closed interval
  return {fmt::format("in [{}, {}]", lo, hi), [lo, hi](const T& v) { return v >= lo && v <= hi; }};
}
Rule<double> open_closed(double lo, double hi) {
  return {fmt::format("in ({}, {}]", lo, hi), [lo, hi](const double& v) { return v > lo && v <= hi; }};
}
Rule<double> open_open(double lo, double hi) {
  return {fmt::format("in ({}, {})", lo, hi), [lo, hi](const double& v) { return v > lo && v < hi; }};
}
Rule<std::string> one_of(std::vector<std::string> choices) {
  std::string text = "one of " + fmt::format("{}", fmt::join(choices, ", "));
  return {text,
          [choices](const std::string& v) { return std::find(choices.begin(), choices.end(), v) != choices.end(); },
          true};
}
std::vector<std::string> with_auto(std::vector<std::string> choices) {
  choices.insert(choices.begin(), "auto");
  return choices;
}
Rule<std::string> not_empty() {
  return {"a non-empty string", [](const std::string& v) { return !v.empty(); }, true};
}
Rule<std::string> device_name() {
  return {"auto, cpu, cuda or cuda:N",
          [](const std::string& v) {
            if (v == "auto" || v == "cpu" || v == "cuda") return true;
            int64_t index;
            return v.rfind("cuda:", 0) == 0 && parse_number(v.substr(5), index) && index >= 0;
          },
          true};
}
// A failure reward: "" (the preset decides), a number, batch_mean or formula.
Rule<std::string> failure_reward() {
  return {"a number, batch_mean, formula or \"\" (the formula preset decides)",
          [](const std::string& v) {
            double x;
            return v.empty() || v == "batch_mean" || v == "formula" || ValueCodec<double>::parse(YAML::Node(v), x);
          },
          true};
}
Rule<NumberMap> extra_term_names() {
  static const std::set<std::string> known = {"code_similarity", "teds", "teds_s", "ssim"};
  return {"with names from code_similarity, teds, teds_s, ssim", [](const NumberMap& m) {
            return std::all_of(m.begin(), m.end(), [](const auto& kv) { return known.count(kv.first) > 0; });
          }};
}

Rule<std::vector<std::string>> module_names() {
  return {"a non-empty list of module names",
          [](const std::vector<std::string>& v) {
            return !v.empty() && std::none_of(v.begin(), v.end(), [](const std::string& s) { return s.empty(); });
          },
          true};
}

Rule<std::vector<std::string>> logging_backends() {
  return {"a list of jsonl, tensorboard, wandb",
          [](const std::vector<std::string>& v) {
            return std::all_of(v.begin(), v.end(),
                               [](const std::string& s) { return s == "jsonl" || s == "tensorboard" || s == "wandb"; });
          },
          true};
}

// ---------------------------------------------------------------------------------------
// The schema.

Field make_schema() {
  Field root;
  root.child = [](void* p) { return p; };
  root.child_const = [](const void* p) { return p; };
  root.fields = {
      leaf("seed", &Config::seed, "Seed of every random stream of the run (data order, sampling, init)."),
      section(
          "model", &Config::model, "The policy being trained.",
          {
              leaf("path", &ModelConfig::path, "Hugging Face Qwen3-VL checkpoint directory of the policy."),
              leaf("dtype", &ModelConfig::dtype, "Parameter dtype: auto means bf16 on CUDA, fp32 on CPU.",
                   one_of({"auto", "bf16", "fp16", "fp32"})),
              leaf("device", &ModelConfig::device, "Where the policy runs.", device_name()),
              leaf("freeze_vision", &ModelConfig::freeze_vision,
                   "Keep the vision encoder fixed; train the merger and the language model."),
              leaf("gradient_checkpointing", &ModelConfig::gradient_checkpointing,
                   "Recompute decoder-layer activations in backward to save memory."),
              leaf("logprob_chunk_tokens", &ModelConfig::logprob_chunk_tokens,
                   "Scored positions per log-softmax chunk: the training forward holds one [chunk, vocab] "
                   "block of logits at a time and recomputes it in backward; 0 = all positions at once.",
                   ge<int64_t>(0)),
              leaf("min_pixels", &ModelConfig::min_pixels,
                   "Image processor lower pixel budget; 0 takes the checkpoint's.", ge<int64_t>(0)),
              leaf("max_pixels", &ModelConfig::max_pixels,
                   "Image processor upper pixel budget; 0 takes the checkpoint's.", ge<int64_t>(0)),
              section(
                  "lora", &ModelConfig::lora,
                  "LoRA adapters (PEFT's LoraConfig): the base is frozen in its dtype, the float32 adapters "
                  "train, and checkpoints hold the adapters in PEFT's layout.",
                  {
                      leaf("rank", &LoraConfig::rank, "Adapter rank r; 0 = no LoRA (train every parameter).",
                           ge<int64_t>(0)),
                      leaf("alpha", &LoraConfig::alpha, "lora_alpha: the adapter's output is scaled by alpha / r.",
                           gt<double>(0.0)),
                      leaf("dropout", &LoraConfig::dropout,
                           "Dropout on the adapters' input in the training forwards (not with gradient_checkpointing).",
                           between(0.0, 0.9)),
                      leaf("target_modules", &LoraConfig::target_modules,
                           "Linear layers that get adapters, in PEFT's spelling: module names (q_proj, k_proj, "
                           "v_proj, o_proj, gate_proj, up_proj, down_proj, ...) or [all-linear].",
                           module_names()),
                      leaf("vision", &LoraConfig::vision,
                           "Adapters in the vision tower and mergers too; false leaves them frozen."),
                      leaf("init", &LoraConfig::init,
                           "Adapter init: default (A kaiming-uniform, B zero) or gaussian (A ~ N(0, 1/r)).",
                           one_of({"default", "gaussian"})),
                      leaf("path", &LoraConfig::path,
                           "A PEFT adapter directory to start from (its adapter_config.json decides rank, alpha "
                           "and targets; dropout is model.lora.dropout); empty = fresh adapters."),
                  }),
          }),
      section("data", &Config::data, "Prompts: images with optional ground-truth code.",
              {
                  leaf("train", &DataConfig::train,
                       "Training items: JSONL manifests, Parquet files (verl's layout, Hugging Face datasets) "
                       "and folders; \"chart:path\" fixes the task of a folder or Parquet file."),
                  leaf("val", &DataConfig::val, "Held-out items for validation, as data.train."),
                  section("columns", &DataConfig::columns,
                          "Parquet columns of an item's fields: \"a.b\" is field b of struct column a, \"\" "
                          "looks for the defaults, \"none\" reads nothing.",
                          {
                              leaf("id", &DataColumns::id, "Item id; defaults: id, extra_info.id, extra_info.index."),
                              leaf("task", &DataColumns::task,
                                   "chart, table or svg; defaults: task, ability, data_source."),
                              leaf("image", &DataColumns::image,
                                   "Reference image ({bytes, path} struct, bytes, a path, or a list of one); "
                                   "defaults: images, image."),
                              leaf("ground_truth", &DataColumns::ground_truth,
                                   "Reference code; defaults: ground_truth, reward_model.ground_truth, code."),
                              leaf("prompt", &DataColumns::prompt,
                                   "Instruction text or chat messages (the last user turn, <image> removed); "
                                   "default: prompt."),
                          }),
                  leaf("pdf_dpi", &DataConfig::pdf_dpi, "Resolution at which PDF reference images are rasterised.",
                       between<int64_t>(10, 1200)),
                  leaf("prompt_dir", &DataConfig::prompt_dir,
                       "Directory with chart.txt, table.txt, svg.txt task instructions; empty = built-in."),
                  leaf("max_prompt_tokens", &DataConfig::max_prompt_tokens,
                       "Prompts longer than this (image tokens included) are rejected.", gt<int64_t>(0)),
                  leaf("epochs", &DataConfig::epochs, "Passes over the training data.", gt<int64_t>(0)),
                  leaf("shuffle", &DataConfig::shuffle, "Shuffle the training items every epoch."),
                  leaf("invalid_rows", &DataConfig::invalid_rows,
                       "What a malformed manifest row does: stop the run or skip it with a warning.",
                       one_of({"error", "skip"})),
              }),
      section("rollout", &Config::rollout, "Sampling answers from the policy.",
              {
                  leaf("group_size", &RolloutConfig::group_size, "G: answers sampled per prompt.", gt<int64_t>(0)),
                  leaf("prompts_per_step", &RolloutConfig::prompts_per_step,
                       "Prompts per training step across all ranks.", gt<int64_t>(0)),
                  leaf("max_new_tokens", &RolloutConfig::max_new_tokens, "Longest answer in tokens.", gt<int64_t>(0)),
                  leaf("temperature", &RolloutConfig::temperature, "Sampling temperature.", gt(0.0)),
                  leaf("top_p", &RolloutConfig::top_p, "Nucleus sampling mass; 1 = off.", open_closed(0, 1)),
                  leaf("top_k", &RolloutConfig::top_k, "Keep the k most likely tokens; 0 = off.", ge<int64_t>(0)),
                  leaf("min_p", &RolloutConfig::min_p, "Drop tokens below min_p x the top probability; 0 = off.",
                       between(0.0, 1.0)),
                  leaf("repetition_penalty", &RolloutConfig::repetition_penalty,
                       "Divide logits of tokens already present (HF convention); 1 = off.", gt(0.0)),
                  leaf("presence_penalty", &RolloutConfig::presence_penalty,
                       "Subtract from logits of tokens already generated; 0 = off.", between(-2.0, 2.0)),
                  leaf("stop", &RolloutConfig::stop, "Stop strings besides the end-of-turn tokens."),
                  leaf("batch_size", &RolloutConfig::batch_size,
                       "Decode slots on one rank: answers decoded together; a finished answer's slot takes the next "
                       "one at once (continuous batching).",
                       gt<int64_t>(0)),
                  leaf("batch_invariant", &RolloutConfig::batch_invariant,
                       "Batch-invariant numerics: every answer bitwise the same whatever the slots, the other answers "
                       "and the number of ranks, so a run resumed on another world size continues the same "
                       "trajectory; slower decoding."),
              }),
      section(
          "render", &Config::render, "Sandboxed rendering of answers.",
          {
              leaf("workers", &RenderConfig::workers, "Render worker processes.", gt<int64_t>(0)),
              leaf("sandbox", &RenderConfig::sandbox,
                   "Isolation: auto = the strongest the kernel allows, running chart code only under "
                   "namespaces or under seccomp with Landlock ABI 6, strict = refuse to run without namespaces, "
                   "unsafe = run chart code at whatever level the kernel allows.",
                   one_of({"auto", "strict", "unsafe"})),
              leaf("timeout_s", &RenderConfig::timeout_s, "Wall-clock deadline of one render.", gt(0.0)),
              leaf("cpu_limit_s", &RenderConfig::cpu_limit_s, "CPU seconds one render may use.", gt(0.0)),
              leaf("memory_limit_mb", &RenderConfig::memory_limit_mb, "Address-space limit of one render.",
                   ge<int64_t>(64)),
              leaf("max_output_kb", &RenderConfig::max_output_kb, "Captured stdout + stderr per render.",
                   gt<int64_t>(0)),
              section("chart", &RenderConfig::chart, "matplotlib charts.",
                      {
                          leaf("python", &ChartRenderConfig::python, "Python interpreter with matplotlib and numpy.",
                               not_empty()),
                          leaf("width_in", &ChartRenderConfig::width_in, "Figure width in inches.", gt(0.0)),
                          leaf("height_in", &ChartRenderConfig::height_in, "Figure height in inches.", gt(0.0)),
                          leaf("dpi", &ChartRenderConfig::dpi, "Dots per inch of the saved figure.",
                               between<int64_t>(10, 600)),
                      }),
              section(
                  "svg", &RenderConfig::svg, "SVG drawings (librsvg).",
                  {
                      leaf("width", &SvgRenderConfig::width, "Output width in pixels.", between<int64_t>(1, 8192)),
                      leaf("height", &SvgRenderConfig::height, "Output height in pixels.", between<int64_t>(1, 8192)),
                      leaf("max_elements", &SvgRenderConfig::max_elements, "Documents with more elements are rejected.",
                           gt<int64_t>(0)),
                  }),
              section("table", &RenderConfig::table, "Markdown and HTML tables (Pango + cairo).",
                      {
                          leaf("font", &TableRenderConfig::font, "Pango font family list.", not_empty()),
                          leaf("font_size", &TableRenderConfig::font_size, "Font size in points.", gt(0.0)),
                          leaf("margin_px", &TableRenderConfig::margin_px, "White margin around the table.",
                               ge<int64_t>(0)),
                          leaf("max_cells", &TableRenderConfig::max_cells, "Tables with more cells are rejected.",
                               gt<int64_t>(0)),
                      }),
          }),
      section(
          "reward", &Config::reward, "Critic and reward formula.",
          {
              leaf("critic", &RewardConfig::critic,
                   "visual_erm: a Qwen3-VL critic in process; openai: chat-completions servers; pixel: the "
                   "built-in deterministic critic.",
                   one_of({"visual_erm", "openai", "pixel"})),
              leaf("formula", &RewardConfig::formula,
                   "A preset (paper, paper_no_rsr, released_chart_svg, released_table) or a muparser "
                   "expression over the per-sample variables.",
                   not_empty()),
              leaf("parse_retries", &RewardConfig::parse_retries,
                   "Critic calls per item when its output cannot be parsed.", ge<int64_t>(1)),
              leaf("prompt_dir", &RewardConfig::prompt_dir,
                   "Directory with chart.txt, table.txt, svg.txt critic prompts (for example the official "
                   "Visual-ERM ones); empty = the built-in configs/prompts."),
              leaf("max_image_side", &RewardConfig::max_image_side,
                   "Images sent to the critic are downscaled to this longest side; 0 = the task default "
                   "(1024 chart and svg, 768 table).",
                   ge<int64_t>(0)),
              leaf("max_new_tokens", &RewardConfig::max_new_tokens, "Longest critic answer in tokens.", gt<int64_t>(0)),
              section("on_failure", &RewardConfig::on_failure, "Rewards that replace the formula on failures.",
                      {
                          leaf("no_code", &FailureRewards::no_code, "The answer holds no code.", failure_reward()),
                          leaf("render_failure", &FailureRewards::render_failure, "The code did not render.",
                               failure_reward()),
                          leaf("blank_image", &FailureRewards::blank_image, "The render is blank.", failure_reward()),
                          leaf("parse_failure", &FailureRewards::parse_failure,
                               "The critic's output could not be parsed.", failure_reward()),
                          leaf("critic_unavailable", &FailureRewards::critic_unavailable, "No critic answered.",
                               failure_reward()),
                      }),
              leaf("extra_terms", &RewardConfig::extra_terms, "Extra reward terms and their weights.",
                   extra_term_names()),
              section("visual_erm", &RewardConfig::visual_erm, "The in-process critic.",
                      {
                          leaf("model_path", &VisualErmConfig::model_path,
                               "Qwen3-VL checkpoint directory of the critic (Visual-ERM)."),
                          leaf("device", &VisualErmConfig::device, "Where the critic runs.", device_name()),
                          leaf("dtype", &VisualErmConfig::dtype, "Critic dtype: auto means bf16 on CUDA, fp32 on CPU.",
                               one_of({"auto", "bf16", "fp16", "fp32"})),
                          leaf("batch_size", &VisualErmConfig::batch_size, "Items decoded together.", gt<int64_t>(0)),
                      }),
              section(
                  "openai", &RewardConfig::openai, "OpenAI-compatible critic servers (vLLM, SGLang, ...).",
                  {
                      leaf("endpoints", &OpenAiCriticConfig::endpoints,
                           "Base URLs such as http://host:8000/v1; items are spread across them."),
                      leaf("model", &OpenAiCriticConfig::model, "Model name sent with each request.", not_empty()),
                      leaf("api_key_env", &OpenAiCriticConfig::api_key_env,
                           "Environment variable holding the API key; empty = none. The key is never logged."),
                      leaf("timeout_s", &OpenAiCriticConfig::timeout_s, "Per-request timeout.", gt(0.0)),
                      leaf("max_retries", &OpenAiCriticConfig::max_retries,
                           "Retries on connection errors, 429 and 5xx.", ge<int64_t>(0)),
                      leaf("max_concurrency", &OpenAiCriticConfig::max_concurrency, "Requests in flight at once.",
                           gt<int64_t>(0)),
                      leaf("backoff_s", &OpenAiCriticConfig::backoff_s,
                           "First retry delay; it doubles on every retry, with jitter.", gt(0.0)),
                      leaf("max_backoff_s", &OpenAiCriticConfig::max_backoff_s, "Longest single retry delay.", gt(0.0)),
                      leaf("when_all_down", &OpenAiCriticConfig::when_all_down,
                           "What to do when no endpoint answers: wait for one, skip the training step, or "
                           "score the items as critic_unavailable.",
                           one_of({"wait", "skip_step", "fail_items"})),
                      leaf("wait_max_s", &OpenAiCriticConfig::wait_max_s,
                           "With wait: give up and skip the step after this long; 0 = wait forever.", ge(0.0)),
                  }),
          }),
      section(
          "algorithm", &Config::algorithm, "The GRPO-family update.",
          {
              leaf("adv_estimator", &AlgorithmConfig::adv_estimator, "Advantage estimator.",
                   one_of(choice_names<AdvEstimator>())),
              leaf("adv_eps", &AlgorithmConfig::adv_eps, "Added to the group std before dividing.", gt(0.0)),
              leaf("policy_loss", &AlgorithmConfig::policy_loss,
                   "ppo_clip: token-level PPO clip (with dual clip); gspo: GSPO's sequence-level ratio; cispo: "
                   "REINFORCE weighted by the clipped ratio, without its gradient; sapo: a soft sigmoid gate "
                   "instead of the clip; gpg: plain policy gradient.",
                   one_of(choice_names<PolicyLossKind>())),
              leaf("clip_ratio_low", &AlgorithmConfig::clip_ratio_low, "Ratio clip below: 1 - low.", open_open(0, 1)),
              leaf("clip_ratio_high", &AlgorithmConfig::clip_ratio_high, "Ratio clip above: 1 + high.", gt(0.0)),
              leaf("dual_clip_c", &AlgorithmConfig::dual_clip_c,
                   "Dual-clip bound for negative advantages (> 1); 0 = off.",
                   {"0 or > 1", [](const double& c) { return c == 0 || c > 1; }}),
              leaf("sapo_tau_pos", &AlgorithmConfig::sapo_tau_pos,
                   "SAPO: temperature of the gate for positive advantages.", gt(0.0)),
              leaf("sapo_tau_neg", &AlgorithmConfig::sapo_tau_neg,
                   "SAPO: temperature of the gate for zero or negative advantages.", gt(0.0)),
              leaf("loss_agg_mode", &AlgorithmConfig::loss_agg_mode,
                   "How token losses become one number, over the global mini-batch. auto: token-mean, except "
                   "the policy term of gspo and sapo, which is defined seq-mean-token-mean (they accept no "
                   "other explicit mode). seq-mean-token-sum-norm divides by sequences x rollout.max_new_tokens "
                   "(Dr. GRPO).",
                   one_of(with_auto(choice_names<LossAgg>()))),
              leaf("kl_coef", &AlgorithmConfig::kl_coef, "Weight of the KL to the reference model; 0 = none.", ge(0.0)),
              leaf("kl_estimator", &AlgorithmConfig::kl_estimator, "KL estimator.",
                   one_of(choice_names<KlEstimator>())),
              leaf("kl_in_reward", &AlgorithmConfig::kl_in_reward,
                   "Subtract the KL from the reward instead of adding it to the loss."),
              leaf("entropy_coef", &AlgorithmConfig::entropy_coef, "Entropy bonus weight.", ge(0.0)),
              leaf("ppo_epochs", &AlgorithmConfig::ppo_epochs, "Passes over each step's rollouts.", gt<int64_t>(0)),
              leaf("mini_batch_prompts", &AlgorithmConfig::mini_batch_prompts,
                   "Prompts (with their groups) per optimizer step; divides rollout.prompts_per_step.", gt<int64_t>(0)),
              leaf("micro_batch_size", &AlgorithmConfig::micro_batch_size,
                   "Sequences per forward/backward on one rank (gradient accumulation).", gt<int64_t>(0)),
              leaf("max_tokens_per_micro_batch", &AlgorithmConfig::max_tokens_per_micro_batch,
                   "Token budget of a micro-batch instead of micro_batch_size: sequences sorted by length are "
                   "packed while rows x the longest sequence (prompt + answer) fit and at most 10% of the "
                   "positions are padding; a longer sequence goes alone. 0 = micro_batch_size sequences.",
                   ge<int64_t>(0)),
              leaf("dynamic_sampling", &AlgorithmConfig::dynamic_sampling,
                   "DAPO: drop groups whose rewards are all equal and sample more prompts."),
              leaf("max_resample_rounds", &AlgorithmConfig::max_resample_rounds,
                   "Extra sampling rounds allowed by dynamic sampling.", ge<int64_t>(0)),
              leaf("overlong_buffer", &AlgorithmConfig::overlong_buffer,
                   "DAPO soft overlong penalty: tokens before max_new_tokens where it starts; 0 = off.",
                   ge<int64_t>(0)),
              leaf("overlong_penalty", &AlgorithmConfig::overlong_penalty, "Penalty reached at max_new_tokens.",
                   ge(0.0)),
              leaf("rollout_is", &AlgorithmConfig::rollout_is,
                   "Rollout correction: weigh the policy loss by pi_old / pi_sampler per token or per sequence "
                   "(truncated importance sampling, for when generation and training numerics differ; "
                   "rollout/logprob_diff_* measures how much).",
                   one_of(choice_names<RolloutIs>())),
              leaf("rollout_is_threshold", &AlgorithmConfig::rollout_is_threshold,
                   "Importance weights are truncated above at this.", gt(0.0)),
          }),
      section("optim", &Config::optim, "AdamW and the learning-rate schedule.",
              {
                  leaf("lr", &OptimConfig::lr, "Peak learning rate.", gt(0.0)),
                  leaf("weight_decay", &OptimConfig::weight_decay, "Decoupled weight decay.", ge(0.0)),
                  leaf("beta1", &OptimConfig::beta1, "Adam beta1.",
                       {"in [0, 1)", [](const double& b) { return b >= 0 && b < 1; }}),
                  leaf("beta2", &OptimConfig::beta2, "Adam beta2.",
                       {"in [0, 1)", [](const double& b) { return b >= 0 && b < 1; }}),
                  leaf("eps", &OptimConfig::eps, "Adam epsilon.", gt(0.0)),
                  leaf("grad_clip", &OptimConfig::grad_clip, "Global gradient-norm clip; 0 = off.", ge(0.0)),
                  leaf("grad_dtype", &OptimConfig::grad_dtype,
                       "Dtype gradients accumulate over micro-batches and are all-reduced in: fp32 (as verl and "
                       "FSDP keep them), or param, the parameters' own (bf16 for a bf16 policy: half the "
                       "memory, but the sum of 32 micro-batches is off by about 0.6 %).",
                       one_of(choice_names<GradDtype>())),
                  leaf("schedule", &OptimConfig::schedule, "Learning-rate schedule after warmup.",
                       one_of({"constant", "cosine", "linear"})),
                  leaf("warmup_steps", &OptimConfig::warmup_steps, "Linear warmup steps.", ge<int64_t>(0)),
                  leaf("min_lr_ratio", &OptimConfig::min_lr_ratio,
                       "Final learning rate of cosine and linear schedules, as a fraction of lr.", between(0.0, 1.0)),
                  leaf("total_steps", &OptimConfig::total_steps, "Training steps; 0 = as many as data.epochs give.",
                       ge<int64_t>(0)),
                  leaf("max_bad_steps", &OptimConfig::max_bad_steps,
                       "A step whose loss or gradient is NaN/inf on any rank is not applied (metrics: bad_step); "
                       "after this many in a row the run saves a checkpoint (the last good weights) and stops.",
                       gt<int64_t>(0)),
              }),
      section(
          "distributed", &Config::distributed, "Data-parallel training over c10d.",
          {
              leaf("backend", &DistributedConfig::backend, "Process-group backend.", one_of({"auto", "nccl", "gloo"})),
              leaf("timeout_s", &DistributedConfig::timeout_s,
                   "A collective waiting longer fails the run instead of hanging.", gt(0.0)),
              leaf("bucket_mb", &DistributedConfig::bucket_mb, "Gradient all-reduce bucket size.", gt<int64_t>(0)),
              leaf("shard_optimizer", &DistributedConfig::shard_optimizer, "Shard AdamW state across ranks (ZeRO-1)."),
          }),
      section(
          "checkpoint", &Config::checkpoint, "Saving and resuming.",
          {
              leaf("every_steps", &CheckpointConfig::every_steps,
                   "Save every N steps; 0 = only at the end and on SIGTERM/SIGUSR1.", ge<int64_t>(0)),
              leaf("keep_last", &CheckpointConfig::keep_last, "Checkpoints kept besides milestones.", gt<int64_t>(0)),
              leaf("milestone_every", &CheckpointConfig::milestone_every, "Also keep every Mth step for good; 0 = off.",
                   ge<int64_t>(0)),
              leaf("model_only", &CheckpointConfig::model_only,
                   "Save weights only (no optimizer state: cannot resume exactly)."),
              leaf("max_shard_mb", &CheckpointConfig::max_shard_mb, "Largest safetensors shard.", gt<int64_t>(0)),
              leaf("on_save_error", &CheckpointConfig::on_save_error,
                   "A save that fails (a full disk, a lost mount) is removed and reported with the free space; "
                   "continue trains on (the previous checkpoint stays the newest), stop ends the run.",
                   one_of({"continue", "stop"})),
          }),
      section("validation", &Config::validation, "Greedy answers to the held-out prompts of data.val.",
              {
                  leaf("before_and_after", &ValidationConfig::before_and_after,
                       "Validate before the first step and after the last; both go to <run_dir>/summary.json."),
                  leaf("max_items", &ValidationConfig::max_items, "Held-out items used; 0 = all.", ge<int64_t>(0)),
                  leaf("max_new_tokens", &ValidationConfig::max_new_tokens,
                       "Longest validation answer; 0 = rollout.max_new_tokens.", ge<int64_t>(0)),
                  leaf("every_steps", &ValidationConfig::every_steps,
                       "Also validate every N steps (and at the last); 0 = only before and after.", ge<int64_t>(0)),
                  leaf("best_metric", &ValidationConfig::best_metric,
                       "Validation metric that picks <run_dir>/best/ (e.g. reward_mean, ssim_mean, teds, "
                       "table/teds, edit_distance); empty = keep no best policy."),
                  leaf("best_mode", &ValidationConfig::best_mode, "Whether a larger or smaller best_metric is better.",
                       one_of({"max", "min"})),
              }),
      section(
          "logging", &Config::logging, "Console, metrics and rollout logs.",
          {
              leaf("level", &LoggingConfig::level, "Console log level.",
                   one_of({"trace", "debug", "info", "warn", "error"})),
              leaf("run_dir", &LoggingConfig::run_dir,
                   "Run directory; --run-dir overrides it; empty = runs/<config name>-<date>-<time>."),
              leaf("log_every", &LoggingConfig::log_every, "Console metrics every N steps.", gt<int64_t>(0)),
              leaf("log_rollouts", &LoggingConfig::log_rollouts,
                   "Write every sample to <run_dir>/rollouts/step_<N>.jsonl."),
              leaf("images_every", &LoggingConfig::images_every,
                   "Save rendered images (and send them to TensorBoard and W&B) every K steps; 0 = never.",
                   ge<int64_t>(0)),
              leaf("progress_bar", &LoggingConfig::progress_bar, "Progress bar; auto = on a terminal.",
                   one_of({"auto", "on", "off"})),
              leaf("backends", &LoggingConfig::backends,
                   "Where step metrics go besides metrics.jsonl (always written): tensorboard = event files in "
                   "<run_dir>/tensorboard (scalars, histograms, every images_every steps renders and critic "
                   "findings); `tensorboard --logdir runs/` shows them. wandb = the same through Weights & "
                   "Biases' client in a sidecar process (logging.wandb).",
                   logging_backends()),
              section("wandb", &LoggingConfig::wandb,
                      "Weights & Biases (with backends: [..., wandb]): a Python sidecar process running the wandb "
                      "package, fed by rank 0 through a pipe; files in <run_dir>/wandb, the run id kept there so a "
                      "resume continues the same run.",
                      {
                          leaf("project", &WandbConfig::project, "W&B project.", not_empty()),
                          leaf("entity", &WandbConfig::entity, "W&B entity (user or team); empty = the default."),
                          leaf("name", &WandbConfig::name, "Run name; empty = the run directory's name."),
                          leaf("group", &WandbConfig::group, "Run group (e.g. an ablation); empty = none."),
                          leaf("tags", &WandbConfig::tags, "Run tags."),
                          leaf("mode", &WandbConfig::mode,
                               "auto = $WANDB_MODE, else online; offline = write <run_dir>/wandb/offline-run-* "
                               "only (the usual cluster flow), uploaded later with wandb's sync command.",
                               one_of({"auto", "online", "offline"})),
                          leaf("python", &WandbConfig::python,
                               "Python interpreter with the wandb package; empty = scripts/setup's tools venv "
                               "(~/.cache/visrl/venv) when present, else python3."),
                          leaf("queue_mib", &WandbConfig::queue_mib,
                               "Messages waiting for the sidecar; beyond this new ones are dropped, counted and warned "
                               "about, never waited for.",
                               gt<int64_t>(0)),
                          leaf("max_restarts", &WandbConfig::max_restarts,
                               "A sidecar that dies is started again this many times in a run, then given up on.",
                               ge<int64_t>(0)),
                      }),
          }),
  };
  return root;
}

}  // namespace

const Field* Field::find(const std::string& name) const {
  for (const auto& f : fields)
    if (f.key == name) return &f;
  return nullptr;
}

const Field& config_schema() {
  static const Field schema = make_schema();
  return schema;
}

}  // namespace visrl::config_detail
