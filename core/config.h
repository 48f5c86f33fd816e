// The typed configuration of a visrl run: one struct per YAML section.
//
// Defaults live here, as member initialisers, and nowhere else. What each key means, its
// allowed values and its default are listed by `train --describe-config` (generated from the
// schema in config_schema.cpp, committed as configs/defaults.yaml).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace visrl {

// LoRA adapters on the policy (PEFT's LoraConfig); rank 0 trains every parameter instead.
struct LoraConfig {
  int64_t rank = 0;
  double alpha = 32;
  double dropout = 0.0;
  std::vector<std::string> target_modules = {"all-linear"};  // PEFT's names, or all-linear
  bool vision = false;           // false: no adapters in the vision tower and mergers (they stay frozen)
  std::string init = "default";  // default (A kaiming-uniform, B zero) | gaussian (A ~ N(0, 1/r))
  std::string path;              // a PEFT adapter directory to start from; "" = fresh adapters
};

struct ModelConfig {
  std::string path;             // Hugging Face Qwen3-VL checkpoint directory of the policy
  std::string dtype = "auto";   // auto (bf16 on CUDA, fp32 on CPU) | bf16 | fp16 | fp32
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  bool freeze_vision = false;   // train only the language model and the merger
  bool gradient_checkpointing = false;
  int64_t logprob_chunk_tokens = 512;  // positions per log-softmax chunk ([chunk, vocab] at a time); 0 = all at once
  int64_t min_pixels = 0;  // image processor pixel budget; 0 = from the checkpoint
  int64_t max_pixels = 0;
  LoraConfig lora;
};

// Which Parquet columns hold an item's fields: "a.b" is field b of struct column a; "" looks
// for the defaults (trainer/data/parquet_dataset.h: verl's RL layout, then plain Hugging Face
// image datasets); "none" reads no column (the id becomes the row number, the prompt the task's).
struct DataColumns {
  std::string id;
  std::string task;
  std::string image;
  std::string ground_truth;
  std::string prompt;
};

struct DataConfig {
  std::vector<std::string> train;  // JSONL manifests, Parquet files, folders of training prompts
  std::vector<std::string> val;    // the same, held out
  DataColumns columns;             // Parquet column mapping
  int64_t pdf_dpi = 100;           // PDF reference images (ChartMimic) are rasterised at this DPI
  std::string prompt_dir;          // task instruction files; "" = built-in prompts
  int64_t max_prompt_tokens = 8192;
  int64_t epochs = 1;
  bool shuffle = true;
  std::string invalid_rows = "error";  // error | skip
};

struct RolloutConfig {
  int64_t group_size = 8;          // G: answers sampled per prompt
  int64_t prompts_per_step = 256;  // global, across all ranks
  int64_t max_new_tokens = 8192;
  double temperature = 1.0;
  double top_p = 1.0;
  int64_t top_k = 0;  // 0 = off
  double min_p = 0.0;
  double repetition_penalty = 1.0;
  double presence_penalty = 0.0;
  std::vector<std::string> stop;  // stop strings besides the end-of-turn tokens
  int64_t batch_size = 64;        // decode slots per rank: samples decoded together (continuous batching)
  bool batch_invariant = false;   // samples independent of batching, chunking and world size, bitwise
};

struct ChartRenderConfig {
  std::string python = "/usr/bin/python3";  // interpreter with matplotlib and numpy
  double width_in = 6.4;
  double height_in = 4.8;
  int64_t dpi = 100;
};

struct SvgRenderConfig {
  int64_t width = 336;
  int64_t height = 336;
  int64_t max_elements = 100000;
};

struct TableRenderConfig {
  std::string font = "DejaVu Sans, Noto Sans CJK SC";
  double font_size = 14.0;
  int64_t margin_px = 12;
  int64_t max_cells = 10000;
};

struct RenderConfig {
  int64_t workers = 2;
  std::string sandbox = "auto";  // auto | strict | unsafe
  double timeout_s = 15.0;       // wall-clock deadline per render
  double cpu_limit_s = 10.0;
  int64_t memory_limit_mb = 2048;
  int64_t max_output_kb = 256;  // captured stdout + stderr
  ChartRenderConfig chart;
  SvgRenderConfig svg;
  TableRenderConfig table;
};

struct FailureRewards {
  // A number, "batch_mean" (mean reward of the batch's scored samples of the task) or
  // "formula" (the expression evaluated with S = 0); "" keeps what the formula preset says.
  std::string no_code;
  std::string render_failure;
  std::string blank_image;
  std::string parse_failure;
  std::string critic_unavailable;
};

struct VisualErmConfig {
  std::string model_path;  // Qwen3-VL checkpoint of the critic (Visual-ERM)
  std::string device = "auto";
  std::string dtype = "auto";  // auto (bf16 on CUDA, fp32 on CPU) | bf16 | fp16 | fp32
  int64_t batch_size = 8;      // items decoded together
};

struct OpenAiCriticConfig {
  std::vector<std::string> endpoints;  // base URLs, e.g. http://host:8000/v1
  std::string model = "Visual-ERM";
  std::string api_key_env;  // name of the environment variable with the key
  double timeout_s = 120.0;
  int64_t max_retries = 4;
  int64_t max_concurrency = 32;
  double backoff_s = 1.0;              // first retry delay; doubles per retry, with jitter
  double max_backoff_s = 30.0;         // cap of one delay
  std::string when_all_down = "wait";  // wait | skip_step | fail_items
  double wait_max_s = 0.0;             // wait: give up (skip the step) after this long; 0 = never
};

struct RewardConfig {
  std::string critic = "pixel";                // visual_erm | openai | pixel
  std::string formula = "released_chart_svg";  // a preset name or a muparser expression
  int64_t parse_retries = 2;
  std::string prompt_dir;         // critic prompts chart.txt, table.txt, svg.txt; "" = built-in (configs/prompts)
  int64_t max_image_side = 0;     // images downscaled to this longest side; 0 = task default
  int64_t max_new_tokens = 4096;  // longest critic answer
  FailureRewards on_failure;
  std::map<std::string, double> extra_terms;  // term name -> weight, added to the formula
  VisualErmConfig visual_erm;
  OpenAiCriticConfig openai;
};

struct AlgorithmConfig {
  std::string adv_estimator = "grpo";  // grpo | dr_grpo | rloo | reinforce_pp
  double adv_eps = 1e-6;
  std::string policy_loss = "ppo_clip";  // ppo_clip | gspo | cispo | sapo | gpg
  double clip_ratio_low = 0.2;
  double clip_ratio_high = 0.2;
  double dual_clip_c = 3.0;  // 0 = off
  double sapo_tau_pos = 1.0;
  double sapo_tau_neg = 1.05;
  // auto: token-mean, and GSPO's and SAPO's policy term as they are defined (seq-mean-token-mean)
  std::string loss_agg_mode = "auto";
  double kl_coef = 0.0;             // 0 = no reference model
  std::string kl_estimator = "k3";  // k1 | k2 | k3
  bool kl_in_reward = false;
  double entropy_coef = 0.0;
  int64_t ppo_epochs = 1;
  int64_t mini_batch_prompts = 128;  // prompts per optimizer step
  int64_t micro_batch_size = 1;      // sequences per forward/backward per rank
  int64_t max_tokens_per_micro_batch = 0;  // token budget of a micro-batch (padded); 0 = micro_batch_size sequences
  bool dynamic_sampling = false;     // DAPO: drop groups whose rewards are all equal
  int64_t max_resample_rounds = 3;
  int64_t overlong_buffer = 0;  // DAPO soft overlong penalty length; 0 = off
  double overlong_penalty = 1.0;
  std::string rollout_is = "off";     // off | token | sequence
  double rollout_is_threshold = 2.0;  // importance weights truncated above at this
};

struct OptimConfig {
  double lr = 1e-6;
  double weight_decay = 0.01;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double grad_clip = 1.0;             // 0 = off
  std::string grad_dtype = "fp32";    // fp32 | param: dtype gradients accumulate and are all-reduced in
  std::string schedule = "constant";  // constant | cosine | linear
  int64_t warmup_steps = 0;
  double min_lr_ratio = 0.0;
  int64_t total_steps = 0;  // 0 = as many as the data epochs give
  int64_t max_bad_steps = 5;  // consecutive steps with a NaN/inf loss or gradient before the run stops
};

struct DistributedConfig {
  std::string backend = "auto";  // auto (nccl with CUDA, gloo on CPU) | nccl | gloo
  double timeout_s = 1800.0;     // a collective that waits longer is an error
  int64_t bucket_mb = 25;
  bool shard_optimizer = true;  // ZeRO-1
};

struct CheckpointConfig {
  int64_t every_steps = 50;  // 0 = only at the end and on signals
  int64_t keep_last = 3;
  int64_t milestone_every = 0;  // also keep every Mth step; 0 = off
  bool model_only = false;
  int64_t max_shard_mb = 5000;
  std::string on_save_error = "continue";  // continue | stop: after a failed save (e.g. a full disk)
};

struct ValidationConfig {
  bool before_and_after = true;             // greedy answers to data.val before the first step and after the last
  int64_t max_items = 0;                    // 0 = every held-out item
  int64_t max_new_tokens = 0;               // 0 = rollout.max_new_tokens
  int64_t every_steps = 0;                  // also validate every N steps; 0 = only before and after
  std::string best_metric = "reward_mean";  // a key of validation/step_<N>.json; "" = no best/
  std::string best_mode = "max";            // max | min: which way is better
};

// Weights & Biases through its own client: a Python sidecar process (the wandb package) that
// rank 0 feeds through a pipe; it never blocks or stops training.
struct WandbConfig {
  std::string project = "visrl";
  std::string entity;             // "" = the account's default entity
  std::string name;               // "" = the run directory's name
  std::string group;              // "" = none
  std::vector<std::string> tags;  // none
  std::string mode = "auto";      // auto ($WANDB_MODE, else online) | online | offline (sync later: wandb sync)
  std::string python;  // "" = scripts/setup's tools venv (~/.cache/visrl/venv, has wandb) when present, else python3
  int64_t queue_mib = 64;    // messages waiting for the sidecar; new ones beyond it are dropped (counted, warned)
  int64_t max_restarts = 3;  // a sidecar that dies is started again this many times, then given up on
};

struct LoggingConfig {
  std::string level = "info";
  std::string run_dir;  // "" = runs/<config name>-<time>
  int64_t log_every = 1;
  bool log_rollouts = true;
  int64_t images_every = 0;           // save rendered images every K steps; 0 = never
  std::string progress_bar = "auto";  // auto | on | off
  std::vector<std::string> backends = {"jsonl", "tensorboard"};  // jsonl is always written; also: wandb
  WandbConfig wandb;                                             // with backends: [..., wandb]
};

struct Config {
  uint64_t seed = 42;
  ModelConfig model;
  DataConfig data;
  RolloutConfig rollout;
  RenderConfig render;
  RewardConfig reward;
  AlgorithmConfig algorithm;
  OptimConfig optim;
  DistributedConfig distributed;
  CheckpointConfig checkpoint;
  ValidationConfig validation;
  LoggingConfig logging;
};

// Where each key got its value: "file.yaml:14", "--set" or absent for a default.
using ConfigOrigins = std::map<std::string, std::string>;

struct LoadedConfig {
  Config config;
  ConfigOrigins origins;
  std::filesystem::path source;  // the top-level file, empty for defaults only
};

// Loads `path` (empty: defaults only), following `extends:`, then applies `--set`
// overrides ("a.b.c=value", applied in order) and checks constraints between keys.
// Throws Error(ErrorKind::config) listing every problem as "where: key.path: what".
LoadedConfig load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides);

// The resolved configuration as YAML, keys in schema order. Loading it gives `config` back.
std::string to_yaml(const Config& config);

// Every key with its type, allowed values, default and meaning, as commented YAML.
std::string describe_config();

}  // namespace visrl
