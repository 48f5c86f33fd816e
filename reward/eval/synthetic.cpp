#include "reward/eval/synthetic.h"

#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "render/png_io.h"
#include "render/svg/svg_renderer.h"
#include "render/table/table_renderer.h"
#include "reward/eval/scenes.h"

namespace visrl::reward::eval {

namespace {

render::RgbImage draw(Task task, const std::string& code, const SyntheticOptions& options, const std::string& id) {
  render::RenderResult result;
  if (task == Task::table) {
    result = render::render_table(code, render::TableRenderOptions{});
  } else {
    render::SvgRenderOptions svg;
    svg.width = task == Task::chart ? options.chart_width : options.svg_size;
    svg.height = task == Task::chart ? options.chart_height : options.svg_size;
    result = render::render_svg(code, svg);
  }
  if (!result.ok())
    fail(ErrorKind::runtime, "synthetic triple {}: the scene did not render ({}: {})", id,
         render::to_string(result.status), result.reason);
  return std::move(result.image);
}

SyntheticImage image_of(Task task, std::string code, std::vector<InjectedError> errors, const SyntheticOptions& options,
                        const std::string& id) {
  SyntheticImage out;
  out.image = draw(task, code, options, id);
  out.code = std::move(code);
  out.errors = std::move(errors);
  return out;
}

}  // namespace

std::vector<SyntheticTriple> generate_triples(Task task, int count, uint64_t seed, const SyntheticOptions& options,
                                              int first) {
  std::vector<SyntheticTriple> out;
  for (int i = first; i < first + count; ++i) {
    Random random(triple_seed(seed, static_cast<int>(task), i));
    SceneSources sources;
    switch (task) {
      case Task::svg:
        sources = svg_triple(random, options);
        break;
      case Task::chart:
        sources = chart_triple(random, options);
        break;
      case Task::table:
        sources = table_triple(random);
        break;
    }
    SyntheticTriple t;
    t.id = fmt::format("{}-{}-{:04d}", render::to_string(task), seed, i);
    t.task = task;
    t.reference = image_of(task, std::move(sources.reference), {}, options, t.id);
    t.clean = image_of(task, std::move(sources.clean), {}, options, t.id);
    t.light = image_of(task, std::move(sources.light), std::move(sources.light_errors), options, t.id);
    t.heavy = image_of(task, std::move(sources.heavy), std::move(sources.heavy_errors), options, t.id);
    out.push_back(std::move(t));
  }
  return out;
}

std::filesystem::path write_triples(const std::filesystem::path& dir, const std::vector<SyntheticTriple>& triples,
                                    const TripleWriteOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir / "images", ec);
  if (ec) fail(ErrorKind::io, "{}: cannot create the directory: {}", (dir / "images").string(), ec.message());
  const std::filesystem::path jsonl = dir / "triples.jsonl";
  std::ofstream out(jsonl, std::ios::binary | (options.append ? std::ios::app : std::ios::trunc));
  if (!out) fail(ErrorKind::io, "{}: cannot open for writing", jsonl.string());
  for (const SyntheticTriple& t : triples) {
    const std::string ref_path = fmt::format("images/{}_ref.png", t.id);
    render::write_png(dir / ref_path, t.reference.image);
    std::vector<std::pair<const char*, const SyntheticImage*>> items;
    if (options.include_clean) items.emplace_back("clean", &t.clean);
    items.emplace_back("light", &t.light);
    items.emplace_back("heavy", &t.heavy);
    for (const auto& [level, image] : items) {
      const std::string pred_path = fmt::format("images/{}_{}.png", t.id, level);
      render::write_png(dir / pred_path, image->image);
      nlohmann::json errors = nlohmann::json::array();
      for (const InjectedError& e : image->errors)
        errors.push_back({{"type", e.category}, {"severity", e.severity}, {"description", e.description}});
      nlohmann::json line = {{"id", fmt::format("{}-{}", t.id, level)},
                             {"triple", t.id},
                             {"level", level},
                             {"category", render::to_string(t.task)},
                             {"gt_img_path", ref_path},
                             {"pred_img_path", pred_path},
                             {"human_errors", errors}};
      if (options.include_code) {
        line["gt_code"] = t.reference.code;
        line["pred_code"] = image->code;
      }
      out << line.dump() << '\n';
    }
  }
  out.flush();
  if (!out) fail(ErrorKind::io, "{}: write failed", jsonl.string());
  return jsonl;
}

}  // namespace visrl::reward::eval
