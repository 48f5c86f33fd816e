// Internal to core/config: the schema that maps YAML keys onto the structs of config.h.
//
// A Field is either a section (a struct with named fields) or a leaf (one typed value with
// a rule). Leaves know how to parse themselves from a YAML node, check their rule and
// write themselves back, so loading, printing and describing all walk the same tree.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace visrl::config_detail {

struct Field {
  std::string key;
  std::string doc;
  std::string expects;  // leaf: "a number > 0", "one of grpo, rloo"; used in errors and docs

  // Leaf: parse `node` into the leaf inside `section`; returns an error message such as
  // `expected a number > 0, got "abc"`, or nothing on success.
  std::function<std::optional<std::string>(void* section, const YAML::Node& node)> assign;
  // Leaf: the value inside `section` as YAML (flow style for lists and maps).
  std::function<YAML::Node(const void* section)> emit;
  // Leaf: whether the value is a string (so that `--set k=v` takes v verbatim).
  bool takes_raw_text = false;

  // Section: the sub-struct inside the parent struct, and its fields.
  std::function<void*(void* parent)> child;
  std::function<const void*(const void* parent)> child_const;
  std::vector<Field> fields;

  bool is_section() const { return static_cast<bool>(child); }
  const Field* find(const std::string& name) const;
};

// The root section; its `child` maps the Config itself.
const Field& config_schema();

// A constraint on a parsed value. `expects` describes the allowed values; when `replaces`
// is set it replaces the type's own description ("one of a, b" instead of "a string").
template <typename T>
struct Rule {
  std::string expects;
  std::function<bool(const T&)> ok;
  bool replaces = false;
};

// How a value of type T looks in YAML. Specialised in config_schema.cpp.
template <typename T>
struct ValueCodec {
  static std::string name();                          // "a number"
  static bool parse(const YAML::Node& node, T& out);  // false: wrong type or syntax
  static YAML::Node emit(const T& value);
};

// "a mapping", "a list", "nothing", or the scalar itself, quoted unless `plain`.
std::string describe_node(const YAML::Node& node, bool plain);

template <typename S, typename T>
Field leaf(std::string key, T S::*member, std::string doc, Rule<T> rule = {}) {
  Field f;
  f.key = std::move(key);
  f.doc = std::move(doc);
  f.expects = rule.replaces ? rule.expects : ValueCodec<T>::name() + (rule.expects.empty() ? "" : " " + rule.expects);
  f.takes_raw_text = std::is_same_v<T, std::string>;
  f.assign = [member, rule, expects = f.expects](void* section, const YAML::Node& node) -> std::optional<std::string> {
    T value{};
    bool parsed = ValueCodec<T>::parse(node, value);
    if (parsed && (!rule.ok || rule.ok(value))) {
      static_cast<S*>(section)->*member = std::move(value);
      return std::nullopt;
    }
    // A number that parsed but broke the rule reads better unquoted; text is always quoted.
    return "expected " + expects + ", got " + describe_node(node, parsed && !std::is_same_v<T, std::string>);
  };
  f.emit = [member](const void* section) { return ValueCodec<T>::emit(static_cast<const S*>(section)->*member); };
  return f;
}

template <typename P, typename S>
Field section(std::string key, S P::*member, std::string doc, std::vector<Field> fields) {
  Field f;
  f.key = std::move(key);
  f.doc = std::move(doc);
  f.child = [member](void* parent) -> void* { return &(static_cast<P*>(parent)->*member); };
  f.child_const = [member](const void* parent) -> const void* { return &(static_cast<const P*>(parent)->*member); };
  f.fields = std::move(fields);
  return f;
}

}  // namespace visrl::config_detail
