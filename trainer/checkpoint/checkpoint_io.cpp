#include "trainer/checkpoint/checkpoint_io.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_crc32.h"
#include "core/json_file.h"
#include "core/safetensors.h"
#include "core/text_file.h"
#include "policy/model/hf_checkpoint.h"
#include "policy/model/lora.h"
#include "policy/model/lora_checkpoint.h"
#include "trainer/checkpoint/checkpoint_dir.h"
#include "trainer/distributed/rank_errors.h"

namespace visrl::trainer {
namespace fs = std::filesystem;

namespace {

constexpr const char* kOptimizerIndex = "optimizer.safetensors.index.json";

// The optimizer state this rank owns, as named tensors (sorted by name).
safetensors::NamedTensors owned_state(const ShardedAdamW& optimizer, int rank) {
  safetensors::NamedTensors out;
  for (const auto& [name, st] : optimizer.state_dict()) {
    if (optimizer.owner_of(name) != rank) continue;  // unsharded: every rank holds it, rank 0 writes it
    out.emplace_back(name + ".exp_avg", st.exp_avg.detach().cpu().contiguous());
    out.emplace_back(name + ".exp_avg_sq", st.exp_avg_sq.detach().cpu().contiguous());
    if (st.master.defined()) out.emplace_back(name + ".master", st.master.detach().cpu().contiguous());
    out.emplace_back(name + ".step", at::full({1}, st.step, at::kLong));
  }
  return out;
}

}  // namespace

fs::path save_checkpoint(const fs::path& checkpoints_dir, const CheckpointContents& contents, Communicator& comm) {
  const int64_t step = contents.state.step;
  const auto final_dir = checkpoint_path(checkpoints_dir, step);
  auto tmp = final_dir;
  tmp += ".tmp";
  on_every_rank(
      comm, "saving the checkpoint: preparing the directory",
      [&] {
        if (!comm.is_main()) return;
        fs::remove_all(tmp);  // a save that was killed earlier
        fs::create_directories(tmp / "optimizer");
        sync_directory(checkpoints_dir);
      },
      ErrorKind::io);

  // Rank 0 writes the weights while every rank writes (and checksums) its share of the
  // optimizer state: {"file", "crc32", "keys"}.
  nlohmann::json part = {{"file", ""}, {"crc32", 0}, {"keys", nlohmann::json::array()}};
  on_every_rank(
      comm, "saving the checkpoint: writing the weights and optimizer state",
      [&] {
        if (comm.is_main()) {
          policy::SaveOptions save;
          save.max_shard_bytes = contents.max_shard_bytes;
          save.copy_assets_from = contents.assets_from;
          save_policy(*contents.policy, tmp / "model", save);
          write_file_atomically(tmp / "config.yaml", contents.config_yaml);
          write_file_atomically(tmp / "trainer_state.json", to_json(contents.state).dump(2) + "\n");
        }
        if (contents.optimizer == nullptr) return;
        const auto tensors = owned_state(*contents.optimizer, comm.rank());
        if (tensors.empty()) return;
        const auto file = fmt::format("optimizer-{:05d}-of-{:05d}.safetensors", comm.rank() + 1, comm.world_size());
        safetensors::save_file(tmp / "optimizer" / file, tensors, {{"format", "visrl-adamw"}});
        part["file"] = file;
        part["crc32"] = file_crc32(tmp / "optimizer" / file);
        for (const auto& [key, tensor] : tensors) part["keys"].push_back(key);
      },
      ErrorKind::io);

  const auto parts = comm.gather_strings(part.dump());  // every rank's files are on disk past this point
  on_every_rank(
      comm, "saving the checkpoint: committing",
      [&] {
        if (!comm.is_main()) return;
        std::map<std::string, uint32_t> known_crc32;
        if (contents.optimizer != nullptr) {
          nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
          for (const auto& text : parts) {
            const auto p = nlohmann::json::parse(text);
            const auto file = p["file"].get<std::string>();
            if (file.empty()) continue;
            known_crc32["optimizer/" + file] = p["crc32"].get<uint32_t>();
            for (const auto& key : p["keys"]) weight_map[key.get<std::string>()] = file;
          }
          const nlohmann::ordered_json index = {{"metadata", {{"world_size", comm.world_size()}}},
                                                {"weight_map", weight_map}};
          write_file_atomically(tmp / "optimizer" / kOptimizerIndex, index.dump(1) + "\n");
        } else {
          fs::remove(tmp / "optimizer");
        }
        sync_tree(tmp);  // also the tokenizer and config files save_pretrained copied
        write_manifest(tmp, step, known_crc32);
        // The same step saved again (a resume from elsewhere into this run): the old one is moved
        // out of the way first, so that a kill never leaves a half-deleted step_<N>.
        auto old = final_dir;
        old += ".deleting";
        std::error_code ec;
        if (fs::exists(final_dir, ec)) {
          fs::remove_all(old);
          fs::rename(final_dir, old);
        }
        fs::rename(tmp, final_dir);
        sync_directory(checkpoints_dir);
        write_latest(checkpoints_dir, step);
        fs::remove_all(old);
      },
      ErrorKind::io);
  return final_dir;
}

void save_policy(policy::Qwen3VLImpl& policy, const fs::path& dir, const policy::SaveOptions& options) {
  if (!policy::has_lora(policy)) {
    policy::save_pretrained(policy, dir, options);
    return;
  }
  policy::AdapterSaveOptions adapter;
  adapter.base_model = policy.loaded_from.string();
  adapter.copy_assets_from = options.copy_assets_from;
  policy::save_adapter(policy, dir, adapter);
}

void save_policy_atomically(policy::Qwen3VLImpl& policy, const fs::path& dir, const policy::SaveOptions& options,
                            const std::map<std::string, std::string>& extra_files) {
  auto tmp = dir;
  tmp += ".tmp";
  fs::remove_all(tmp);
  save_policy(policy, tmp, options);
  for (const auto& [name, content] : extra_files) write_file_atomically(tmp / name, content);
  sync_tree(tmp);
  fs::remove_all(dir);
  fs::rename(tmp, dir);
  sync_directory(dir.parent_path().empty() ? fs::path(".") : dir.parent_path());
}

OpenedCheckpoint open_checkpoint(const fs::path& dir) {
  verify_checkpoint(dir);
  return read_checkpoint(dir);
}

OpenedCheckpoint read_checkpoint(const fs::path& dir) {
  OpenedCheckpoint out;
  out.dir = dir;
  const auto state_path = dir / "trainer_state.json";
  out.state = trainer_state_from_json(read_json_file(state_path, "trainer state"), state_path.string());
  out.config_yaml = read_text_file(dir / "config.yaml", "checkpoint config");
  return out;
}

void load_optimizer_state(const fs::path& dir, ShardedAdamW& optimizer) {
  const auto index = dir / "optimizer" / kOptimizerIndex;
  std::error_code ec;
  if (!fs::is_regular_file(index, ec)) {
    fail(ErrorKind::format, "checkpoint {}: no optimizer state ({} is missing)", dir.string(),
         index.lexically_relative(dir).string());
  }
  const auto file = safetensors::Checkpoint::open(index);
  std::map<std::string, AdamWState> states;
  for (const auto& name : optimizer.held_names()) {
    if (!file.contains(name + ".exp_avg") || !file.contains(name + ".exp_avg_sq") || !file.contains(name + ".step")) {
      fail(ErrorKind::format,
           "checkpoint {}: no optimizer state for the trainable parameter {} (did the trainable parameters change, "
           "e.g. model.freeze_vision?)",
           dir.string(), name);
    }
    AdamWState st;
    st.exp_avg = file.tensor(name + ".exp_avg");
    st.exp_avg_sq = file.tensor(name + ".exp_avg_sq");
    if (file.contains(name + ".master")) st.master = file.tensor(name + ".master");
    st.step = file.tensor(name + ".step").item<int64_t>();
    states.emplace(name, std::move(st));
  }
  try {
    optimizer.load_state_dict(states);
  } catch (const Error& e) {
    throw e.with_context(fmt::format("checkpoint {}", dir.string()));
  }
}

}  // namespace visrl::trainer
