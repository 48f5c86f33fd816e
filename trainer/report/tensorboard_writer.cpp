#include "trainer/report/tensorboard_writer.h"

#include <unistd.h>

#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "trainer/report/tb_event_file.h"

namespace visrl::trainer {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// TensorBoard reads the files of a directory in name order: seconds and microseconds,
// zero-padded, keep a restarted run's file after the one it resumes.
std::string event_file_name() {
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return fmt::format("events.out.tfevents.{:010d}.{:06d}.{}.{}", us / 1000000, us % 1000000, host, getpid());
}

}  // namespace

TensorBoardWriter::TensorBoardWriter(const std::filesystem::path& dir, std::optional<int64_t> resumed_after) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  path_ = dir / event_file_name();
  out_.open(path_, std::ios::binary);
  if (!out_) {
    failed_ = true;
    spdlog::warn("TensorBoard: cannot create {}; no TensorBoard log for this run", path_.string());
    return;
  }
  write_event(tb::file_version_event(now_s()));
  // Every file starts a session: TensorBoard's server takes the first START it sees as the
  // run's beginning and each later one as a restart, dropping what was logged from its step on.
  write_event(tb::session_start_event(now_s(), resumed_after ? *resumed_after + 1 : 0));
  flush();
}

void TensorBoardWriter::write_event(const std::string& event) {
  if (failed_) return;
  out_ << tb::record(event);
  if (!out_) {
    failed_ = true;
    spdlog::warn("TensorBoard: writing {} failed; the TensorBoard log ends here (metrics.jsonl goes on)",
                 path_.string());
  }
}

void TensorBoardWriter::scalars(int64_t step, const nlohmann::json& metrics) {
  std::vector<std::string> values;
  for (const auto& [key, value] : numeric_metrics(metrics))
    values.push_back(tb::scalar_value(key, static_cast<float>(value)));
  if (!values.empty()) write_event(tb::summary_event(now_s(), step, values));
}

void TensorBoardWriter::histogram(int64_t step, const std::string& tag, const std::vector<double>& values) {
  if (values.empty()) return;
  write_event(tb::summary_event(now_s(), step, {tb::histogram_value(tag, tb::histogram_of(values))}));
}

void TensorBoardWriter::image(int64_t step, const std::string& tag, const PngImage& image) {
  write_event(tb::summary_event(now_s(), step, {tb::image_value(tag, image.height, image.width, image.png)}));
}

void TensorBoardWriter::text(int64_t step, const std::string& tag, const std::string& markdown) {
  write_event(tb::summary_event(now_s(), step, {tb::text_value(tag, markdown)}));
}

void TensorBoardWriter::flush() {
  if (!failed_) out_.flush();
}

}  // namespace visrl::trainer
