#include "trainer/report/gallery.h"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/base64.h"
#include "core/xml_escape.h"
#include "reward/formula/rollout_record.h"

namespace visrl::trainer {
namespace fs = std::filesystem;

namespace {

std::string image_cell(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "<td class=\"missing\">not saved</td>";
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return fmt::format("<td><img src=\"data:image/png;base64,{}\"></td>", base64_encode(bytes));
}

std::string errors_cell(const reward::RolloutRecord& r) {
  std::string out = fmt::format("<td><div class=\"status\">render {}, critic {}</div>",
                                render::to_string(r.sample.render_status), reward::to_string(r.sample.critic_status));
  if (r.sample.errors.empty()) return out + "<div class=\"none\">no errors listed</div></td>";
  out += "<ul>";
  for (const auto& e : r.sample.errors) {
    out += fmt::format("<li><b>{}</b> (severity {}){}: {}</li>", xml_escape(e.category), e.severity,
                       e.location.empty() ? "" : " at " + xml_escape(e.location), xml_escape(e.description));
  }
  return out + "</ul></td>";
}

}  // namespace

fs::path rollout_image_path(const fs::path& rollouts_dir, int64_t step, const std::string& sample_id) {
  std::string name = sample_id;
  for (auto& c : name) {
    if (c == '/' || c == '\\' || c == ' ') c = '_';
  }
  return rollouts_dir / "images" / fmt::format("step_{}", step) / (name + ".png");
}

fs::path write_gallery(const fs::path& run_dir, const std::map<std::string, fs::path>& references,
                       const GalleryOptions& options) {
  const auto rollouts_dir = run_dir / "rollouts";
  std::vector<reward::RolloutRecord> records;
  if (fs::is_directory(rollouts_dir)) records = reward::read_rollouts(rollouts_dir);
  // Prefer the samples whose renders were saved, newest step first.
  std::stable_sort(records.begin(), records.end(), [&](const auto& a, const auto& b) {
    const bool ia = fs::exists(rollout_image_path(rollouts_dir, a.step, a.sample.id));
    const bool ib = fs::exists(rollout_image_path(rollouts_dir, b.step, b.sample.id));
    return ia != ib ? ia : a.step > b.step;
  });
  std::vector<const reward::RolloutRecord*> shown;
  const auto n = static_cast<int64_t>(records.size());
  const auto take = std::min<int64_t>(n, options.max_samples);
  const int64_t pool = std::min<int64_t>(n, take * 4);  // spread over the first few steps' worth
  for (int64_t i = 0; i < take; ++i)
    shown.push_back(&records[static_cast<size_t>(i * pool / std::max<int64_t>(take, 1))]);

  std::string html = R"(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>visrl gallery</title><style>
body { font-family: sans-serif; margin: 1em; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 6px; vertical-align: top; }
img { max-width: 320px; max-height: 320px; }
.missing, .none, .status { color: #777; font-size: small; }
pre { max-width: 640px; max-height: 240px; overflow: auto; background: #f6f6f6; }
</style></head><body>
)";
  html +=
      fmt::format("<h1>{}</h1><p>{} of {} rollouts.</p>\n", xml_escape(run_dir.filename().string()), shown.size(), n);
  html += "<table><tr><th>sample</th><th>reference</th><th>render</th><th>critic</th><th>reward</th></tr>\n";
  for (const auto* r : shown) {
    const auto ref = references.find(r->sample.group);
    html += fmt::format("<tr><td>step {}<br>{}<br>{}</td>", r->step, xml_escape(r->sample.id),
                        render::to_string(r->sample.task));
    html += ref != references.end() ? image_cell(ref->second) : "<td class=\"missing\">unknown prompt</td>";
    html += image_cell(rollout_image_path(rollouts_dir, r->step, r->sample.id));
    html += errors_cell(*r);
    html += fmt::format("<td>{}{}</td></tr>\n", r->reward ? fmt::format("{:.4g}", *r->reward) : "–",
                        r->advantage ? fmt::format("<br><small>advantage {:.3g}</small>", *r->advantage) : "");
    html += fmt::format("<tr><td colspan=\"5\"><details><summary>answer</summary><pre>{}</pre></details></td></tr>\n",
                        xml_escape(r->answer));
  }
  html += "</table></body></html>\n";
  const auto path = run_dir / "gallery.html";
  write_file_atomically(path, html);
  return path;
}

}  // namespace visrl::trainer
