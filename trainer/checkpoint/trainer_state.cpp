#include "trainer/checkpoint/trainer_state.h"

#include "core/error.h"

namespace visrl::trainer {
namespace {

template <typename T>
T field(const nlohmann::json& j, const char* key, const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end()) fail(ErrorKind::format, "{}: missing key \"{}\"", where, key);
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(ErrorKind::format, "{}: \"{}\" has the wrong type ({})", where, key, it->dump());
  }
}

const nlohmann::json& object(const nlohmann::json& j, const char* key, const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_object()) fail(ErrorKind::format, "{}: \"{}\" must be an object", where, key);
  return *it;
}

}  // namespace

nlohmann::json to_json(const TrainerState& s) {
  return {
      {"step", s.step},
      {"seed", s.seed},
      {"sampler",
       {{"epoch", s.sampler.epoch}, {"cursor", s.sampler.cursor}, {"num_items", s.num_items}, {"shuffle", s.shuffle}}},
      {"lr_schedule",
       {{"lr", s.schedule.lr},
        {"kind", s.schedule.kind},
        {"warmup_steps", s.schedule.warmup_steps},
        {"total_steps", s.schedule.total_steps},
        {"min_lr_ratio", s.schedule.min_lr_ratio}}},
      {"metrics_offset", s.metrics_offset},
      {"world_size", s.world_size},
      {"has_optimizer", s.has_optimizer},
      {"formula", s.formula},
  };
}

TrainerState trainer_state_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) fail(ErrorKind::format, "{}: not a JSON object", where);
  TrainerState s;
  s.step = field<int64_t>(j, "step", where);
  s.seed = field<uint64_t>(j, "seed", where);
  const auto& sampler = object(j, "sampler", where);
  const auto sw = where + ": sampler";
  s.sampler.epoch = field<int64_t>(sampler, "epoch", sw);
  s.sampler.cursor = field<int64_t>(sampler, "cursor", sw);
  s.num_items = field<int64_t>(sampler, "num_items", sw);
  s.shuffle = field<bool>(sampler, "shuffle", sw);
  const auto& lr = object(j, "lr_schedule", where);
  const auto lw = where + ": lr_schedule";
  s.schedule.lr = field<double>(lr, "lr", lw);
  s.schedule.kind = field<std::string>(lr, "kind", lw);
  s.schedule.warmup_steps = field<int64_t>(lr, "warmup_steps", lw);
  s.schedule.total_steps = field<int64_t>(lr, "total_steps", lw);
  s.schedule.min_lr_ratio = field<double>(lr, "min_lr_ratio", lw);
  s.metrics_offset = field<int64_t>(j, "metrics_offset", where);
  s.world_size = field<int>(j, "world_size", where);
  s.has_optimizer = field<bool>(j, "has_optimizer", where);
  s.formula = j.value("formula", nlohmann::json::object());
  if (s.step < 0 || s.sampler.epoch < 0 || s.sampler.cursor < 0 || s.metrics_offset < 0 || s.world_size < 1) {
    fail(ErrorKind::format, "{}: negative step, sampler position or metrics offset, or world_size < 1", where);
  }
  return s;
}

}  // namespace visrl::trainer
