// Loading (extends, --set), printing and describing the configuration; see config.h.
#include "core/config.h"

#include <algorithm>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "core/algorithm_choice.h"
#include "core/config_schema.h"
#include "core/error.h"
#include "core/text.h"

namespace visrl {

namespace fs = std::filesystem;
using config_detail::Field;

namespace {

constexpr int kMaxExtendsDepth = 16;
constexpr const char* kCommandLine = "--set";  // the "file" of values given with --set

// "file:line"; values from the command line have no meaningful line.
std::string line_of(const std::string& file, const YAML::Mark& mark) {
  return mark.line >= 0 && file != kCommandLine ? fmt::format("{}:{}", file, mark.line + 1) : file;
}

std::string join_key(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

std::string unknown_key_message(const Field& section, const std::string& key) {
  std::vector<std::string> names;
  for (const auto& f : section.fields) names.push_back(f.key);
  if (auto suggestion = closest_match(key, names)) {
    return fmt::format("unknown key; did you mean \"{}\"?", *suggestion);
  }
  return fmt::format("unknown key; expected one of: {}", fmt::join(names, ", "));
}

class Loader {
 public:
  Loader(Config& config, ConfigOrigins& origins) : config_(config), origins_(origins) {}

  void apply_file(const fs::path& path, std::vector<fs::path>& chain);
  void apply_override(const std::string& assignment);
  void check_relations();

  // Every problem found, one "where: key: what" line each; throws when there is any.
  void throw_if_problems() const {
    if (!problems_.empty()) {
      throw Error(ErrorKind::config, fmt::format("{}", fmt::join(problems_, "\n")));
    }
  }

 private:
  void apply_section(const Field& section, void* object, const YAML::Node& map, const std::string& prefix,
                     const std::string& file, bool is_root);
  void apply_leaf(const Field& leaf, void* section, const YAML::Node& value, const std::string& key,
                  const std::string& where);
  void problem(const std::string& where, const std::string& key, const std::string& what) {
    problems_.push_back(key.empty() ? fmt::format("{}: {}", where, what) : fmt::format("{}: {}: {}", where, key, what));
  }
  // The problem at `key` as set by the user, or "(default)".
  void relation_problem(const std::string& key, const std::string& what) {
    auto it = origins_.find(key);
    problem(it == origins_.end() ? "(default)" : it->second, key, what);
  }

  Config& config_;
  ConfigOrigins& origins_;
  std::vector<std::string> problems_;
};

void Loader::apply_file(const fs::path& path, std::vector<fs::path>& chain) {
  const std::string file = path.string();
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(path, ec);
  if (std::find(chain.begin(), chain.end(), canonical) != chain.end()) {
    std::vector<std::string> names;
    for (const auto& p : chain) names.push_back(p.string());
    names.push_back(canonical.string());
    problem(file, "extends", fmt::format("cycle: {}", fmt::join(names, " -> ")));
    return;
  }
  if (static_cast<int>(chain.size()) >= kMaxExtendsDepth) {
    problem(file, "extends", fmt::format("more than {} levels of extends", kMaxExtendsDepth));
    return;
  }
  if (!fs::is_regular_file(path, ec)) {
    problem(file, "", fs::exists(path, ec) ? "not a regular file" : "no such config file");
    return;
  }

  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::ParserException& e) {
    problem(line_of(file, e.mark), "", "invalid YAML: " + e.msg);
    return;
  } catch (const YAML::Exception& e) {
    problem(file, "", std::string("cannot read: ") + e.what());
    return;
  }
  if (root.IsNull()) return;  // an empty file changes nothing
  if (!root.IsMap()) {
    problem(line_of(file, root.Mark()), "", "expected a mapping of sections at the top level");
    return;
  }

  chain.push_back(canonical);
  if (const YAML::Node extends = root["extends"]) {
    std::vector<std::string> bases;
    if (extends.IsScalar()) {
      bases.push_back(extends.Scalar());
    } else if (extends.IsSequence() &&
               std::all_of(extends.begin(), extends.end(), [](const YAML::Node& n) { return n.IsScalar(); })) {
      for (const auto& n : extends) bases.push_back(n.Scalar());
    } else {
      problem(line_of(file, extends.Mark()), "extends", "expected a file name or a list of file names");
    }
    for (const auto& base : bases) {
      fs::path base_path = fs::path(base).is_absolute() ? fs::path(base) : path.parent_path() / base;
      apply_file(base_path.lexically_normal(), chain);
    }
  }
  apply_section(config_detail::config_schema(), &config_, root, "", file, /*is_root=*/true);
  chain.pop_back();
}

void Loader::apply_section(const Field& section, void* object, const YAML::Node& map, const std::string& prefix,
                           const std::string& file, bool is_root) {
  std::map<std::string, int> seen;  // key -> line, to report duplicates
  for (const auto& kv : map) {
    const YAML::Node& key_node = kv.first;
    const YAML::Node& value = kv.second;
    const std::string where = line_of(file, key_node.Mark());
    if (!key_node.IsScalar()) {
      problem(where, prefix, "keys must be plain names");
      continue;
    }
    const std::string name = key_node.Scalar();
    const std::string key = join_key(prefix, name);
    auto [it, fresh] = seen.emplace(name, key_node.Mark().line + 1);
    if (!fresh) {
      problem(where, key, fmt::format("duplicate key (first set on line {})", it->second));
      continue;
    }
    if (is_root && name == "extends") continue;  // handled by apply_file
    const Field* field = section.find(name);
    if (!field) {
      problem(where, key, unknown_key_message(section, name));
      continue;
    }
    if (field->is_section()) {
      if (value.IsNull()) continue;  // `section:` with nothing under it
      if (!value.IsMap()) {
        problem(where, key, "expected a mapping of keys, got " + config_detail::describe_node(value, false));
        continue;
      }
      apply_section(*field, field->child(object), value, key, file, false);
    } else {
      apply_leaf(*field, object, value, key, value.Mark().line >= 0 ? line_of(file, value.Mark()) : where);
    }
  }
}

void Loader::apply_leaf(const Field& leaf, void* section, const YAML::Node& value, const std::string& key,
                        const std::string& where) {
  if (auto error = leaf.assign(section, value)) {
    problem(where, key, *error);
  } else {
    origins_[key] = where;
  }
}

void Loader::apply_override(const std::string& assignment) {
  const std::string where = kCommandLine;
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    problem(where, assignment, "expected key.path=value");
    return;
  }
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);

  const Field* field = &config_detail::config_schema();
  void* object = &config_;
  std::string walked;
  std::stringstream parts(key);
  for (std::string part; std::getline(parts, part, '.');) {
    if (!field->is_section()) {
      problem(where, key, fmt::format("{} is a value, not a section", walked));
      return;
    }
    const Field* next = field->find(part);
    if (!next) {
      problem(where, join_key(walked, part), unknown_key_message(*field, part));
      return;
    }
    object = field->child(object);
    field = next;
    walked = join_key(walked, part);
  }

  YAML::Node value;
  if (field->takes_raw_text) {
    value = YAML::Node(text);  // strings are taken verbatim: formulas contain ':' and ','
  } else {
    try {
      value = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      problem(where, key, "invalid YAML value: " + e.msg);
      return;
    }
  }
  if (field->is_section()) {
    if (!value.IsMap()) {
      problem(where, key, "is a section; set its keys one by one, or give a {key: value} mapping");
      return;
    }
    apply_section(*field, field->child(object), value, key, where, false);
    return;
  }
  apply_leaf(*field, object, value, key, where);
}

void Loader::check_relations() {
  const Config& c = config_;
  if (c.rollout.prompts_per_step % c.algorithm.mini_batch_prompts != 0) {
    relation_problem("algorithm.mini_batch_prompts",
                     fmt::format("must divide rollout.prompts_per_step ({}), got {}", c.rollout.prompts_per_step,
                                 c.algorithm.mini_batch_prompts));
  }
  const auto est = find_choice<AdvEstimator>(c.algorithm.adv_estimator);
  if (est && *est != AdvEstimator::reinforce_pp && c.rollout.group_size < 2) {  // the others compare within a group
    relation_problem("rollout.group_size", fmt::format("{} compares answers within a group: needs at least 2, got {}",
                                                       choice_name(*est), c.rollout.group_size));
  }
  if (const auto loss = find_choice<PolicyLossKind>(c.algorithm.policy_loss)) {
    const auto problem = loss_agg_problem(*loss, c.algorithm.loss_agg_mode);
    if (!problem.empty()) relation_problem("algorithm.loss_agg_mode", problem);
  }
  if (c.algorithm.kl_in_reward && c.algorithm.kl_coef == 0) {
    relation_problem("algorithm.kl_in_reward", "needs algorithm.kl_coef > 0");
  }
  if (c.reward.critic == "openai" && c.reward.openai.endpoints.empty()) {
    relation_problem("reward.openai.endpoints", "critic openai needs at least one endpoint");
  }
  if (c.reward.critic == "visual_erm" && c.reward.visual_erm.model_path.empty()) {
    relation_problem("reward.visual_erm.model_path", "critic visual_erm needs a checkpoint directory");
  }
  if (c.optim.total_steps > 0 && c.optim.warmup_steps > c.optim.total_steps) {
    relation_problem("optim.warmup_steps",
                     fmt::format("exceeds optim.total_steps ({}), got {}", c.optim.total_steps, c.optim.warmup_steps));
  }
  if (c.algorithm.overlong_buffer >= c.rollout.max_new_tokens) {
    relation_problem("algorithm.overlong_buffer", fmt::format("must be below rollout.max_new_tokens ({}), got {}",
                                                              c.rollout.max_new_tokens, c.algorithm.overlong_buffer));
  }
}

// ---------------------------------------------------------------------------------------
// Writing.

std::string flow(const YAML::Node& node) {
  YAML::Emitter out;
  out.SetMapFormat(YAML::Flow);
  out.SetSeqFormat(YAML::Flow);
  out << node;
  return out.c_str();
}

void write_section(std::string& out, const Field& section, const void* object, int depth, bool docs) {
  const std::string indent(2 * depth, ' ');
  for (const auto& f : section.fields) {
    if (docs) {
      if (f.is_section() && depth == 0) out += "\n";
      out += indent + "# " + f.doc + (f.is_section() ? "" : " Expects " + f.expects + ".") + "\n";
    }
    if (f.is_section()) {
      out += indent + f.key + ":\n";
      write_section(out, f, f.child_const(object), depth + 1, docs);
    } else {
      out += indent + f.key + ": " + flow(f.emit(object)) + "\n";
    }
  }
}

}  // namespace

LoadedConfig load_config(const fs::path& path, const std::vector<std::string>& overrides) {
  LoadedConfig loaded;
  loaded.source = path;
  Loader loader(loaded.config, loaded.origins);
  if (!path.empty()) {
    std::vector<fs::path> chain;
    loader.apply_file(path, chain);
  }
  for (const auto& assignment : overrides) loader.apply_override(assignment);
  loader.throw_if_problems();  // relations are only meaningful between values that parsed
  loader.check_relations();
  loader.throw_if_problems();
  return loaded;
}

std::string to_yaml(const Config& config) {
  std::string out;
  write_section(out, config_detail::config_schema(), &config, 0, /*docs=*/false);
  return out;
}

std::string describe_config() {
  std::string out =
      "# visrl configuration: every key with its default, what it means and what it accepts.\n"
      "# Generated by `build/bin/train --describe-config`; a config file sets only what it changes\n"
      "# and may start with `extends: other.yaml`.\n";
  Config defaults;
  write_section(out, config_detail::config_schema(), &defaults, 0, /*docs=*/true);
  return out;
}

}  // namespace visrl
