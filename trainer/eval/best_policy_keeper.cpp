#include "trainer/eval/best_policy_keeper.h"

#include <spdlog/spdlog.h>

#include "policy/model/hf_checkpoint.h"
#include "trainer/checkpoint/checkpoint_io.h"
#include "trainer/distributed/rank_errors.h"

namespace visrl::trainer {

BestPolicyKeeper::BestPolicyKeeper(const Config& config, const RunDir& run_dir, Communicator& comm)
    : config_(config), run_dir_(run_dir), comm_(comm) {}

void BestPolicyKeeper::consider(int64_t step, const nlohmann::json& metrics, policy::Qwen3VLImpl& policy) {
  const auto& v = config_.validation;
  if (v.best_metric.empty() || metrics.contains("skipped")) return;
  const auto value = metric_value(metrics, v.best_metric);
  if (!value) {
    if (comm_.is_main() && !warned_missing_metric_) {
      spdlog::warn(
          "validation.best_metric \"{}\" is not among the validation metrics (validation/step_{}.json); "
          "no best policy is kept",
          v.best_metric, step);
    }
    warned_missing_metric_ = true;
    return;
  }
  if (!improves(v.best_mode, *value, best_)) return;
  const BestValidation best{v.best_metric, v.best_mode, step, *value};
  on_every_rank(
      comm_, "saving the best policy",
      [&] {
        if (!comm_.is_main()) return;
        policy::SaveOptions save;
        save.copy_assets_from = config_.model.path;
        save_policy_atomically(policy, run_dir_.root() / "best", save,
                               {{kBestValidationFile, to_json(best).dump(1) + "\n"}});
        spdlog::info("best policy so far ({} {:.4f} at step {}) saved to {}", best.metric, best.value, step,
                     (run_dir_.root() / "best").string());
      },
      ErrorKind::io);
  best_ = best;
}

void BestPolicyKeeper::restore(int64_t step) {
  const auto dir = run_dir_.root() / "best";
  // Rank 0 reads (and maybe moves) the record; every rank must then agree on it, because
  // whether a validation is the best decides whether the ranks enter consider's collective.
  std::string record;
  on_every_rank(
      comm_, "reading the best validation record",
      [&] {
        if (!comm_.is_main()) return;
        const auto saved = read_best_validation(dir);
        if (!saved) return;
        if (saved->step <= step) {
          record = to_json(*saved).dump();
          return;
        }
        // Chosen in a future the resume replaces: kept aside, like newer checkpoints.
        auto aside = dir;
        aside += fmt::format(".abandoned-step_{}", saved->step);
        for (int n = 2; std::filesystem::exists(aside); ++n) {
          aside = dir;
          aside += fmt::format(".abandoned-step_{}-{}", saved->step, n);
        }
        std::filesystem::rename(dir, aside);
        spdlog::warn("the best policy (step {}) is newer than the resumed checkpoint; moved to {}", saved->step,
                     aside.string());
      },
      ErrorKind::io);
  record = comm_.broadcast_string(record, 0);
  if (record.empty()) return;
  const auto saved = best_validation_from_json(nlohmann::json::parse(record), (dir / kBestValidationFile).string());
  const auto& v = config_.validation;
  if (saved.metric != v.best_metric || saved.mode != v.best_mode) {
    if (comm_.is_main())
      spdlog::warn("{} was chosen by {} ({}); this run chooses by {} ({}): the next validation replaces it",
                   dir.string(), saved.metric, saved.mode, v.best_metric, v.best_mode);
    return;
  }
  best_ = saved;
  if (comm_.is_main())
    spdlog::info("best policy so far: {} {:.4f} at step {} ({})", saved.metric, saved.value, saved.step, dir.string());
}

}  // namespace visrl::trainer
