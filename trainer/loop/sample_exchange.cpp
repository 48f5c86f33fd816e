#include "trainer/loop/sample_exchange.h"

#include <algorithm>
#include <sstream>

#include "core/error.h"

namespace visrl::trainer {

std::string encode_sample(const RolloutSample& s) {
  nlohmann::json j;
  j["slot"] = s.prompt_slot;
  j["sample"] = s.sample;
  j["finish"] = policy::finish_reason_name(s.finish);
  j["response_ids"] = s.response_ids;
  j["response_logprobs"] = s.response_logprobs;  // floats survive JSON exactly (as doubles)
  j["record"] = reward::to_json(s.record);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

RolloutSample decode_sample(const std::string& line, const std::string& where) {
  try {
    const auto j = nlohmann::json::parse(line);
    RolloutSample s;
    s.prompt_slot = j.at("slot").get<int64_t>();
    s.sample = j.at("sample").get<int64_t>();
    s.finish = j.at("finish").get<std::string>() == "stop" ? policy::FinishReason::stop : policy::FinishReason::length;
    s.response_ids = j.at("response_ids").get<std::vector<int64_t>>();
    if (j.contains("response_logprobs")) s.response_logprobs = j.at("response_logprobs").get<std::vector<float>>();
    s.record = reward::rollout_record_from_json(j.at("record"), where);
    return s;
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::format, "{}: not a rollout sample: {}", where, e.what());
  }
}

std::vector<RolloutSample> gather_samples(Communicator& comm, std::vector<RolloutSample> local) {
  if (comm.world_size() > 1) {
    std::string mine;
    for (const auto& s : local) {
      mine += encode_sample(s);
      mine += '\n';
    }
    // Renders stay local: keep them to put back on this rank's own samples.
    std::vector<std::shared_ptr<const render::RgbImage>> renders;
    for (const auto& s : local) renders.push_back(s.rendered);
    const auto all = comm.gather_strings(mine);
    std::vector<RolloutSample> out;
    for (size_t r = 0; r < all.size(); ++r) {
      std::istringstream in(all[r]);
      std::string line;
      for (int64_t n = 0; std::getline(in, line); ++n) {
        out.push_back(decode_sample(line, fmt::format("sample {} from rank {}", n, r)));
        if (static_cast<int>(r) == comm.rank()) out.back().rendered = renders[static_cast<size_t>(n)];
      }
    }
    local = std::move(out);
  }
  std::stable_sort(local.begin(), local.end(), [](const RolloutSample& a, const RolloutSample& b) {
    return a.prompt_slot != b.prompt_slot ? a.prompt_slot < b.prompt_slot : a.sample < b.sample;
  });
  return local;
}

}  // namespace visrl::trainer
