#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace visrl {

namespace {
[[noreturn]] void io_fail(const std::filesystem::path& path, const char* what) {
  fail(ErrorKind::io, "{}: {}: {}", path.string(), what, std::strerror(errno));
}
}  // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
  temp_ = target_;
  temp_ += ".tmp." + std::to_string(::getpid());
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) io_fail(temp_, "cannot create");
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFile::write(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) io_fail(temp_, "write failed");
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit(Durability durability) {
  const bool durable = durability == Durability::durable;
  if (durable && ::fsync(fd_) != 0) io_fail(temp_, "fsync failed");
  if (::close(fd_) != 0) {
    fd_ = -1;
    io_fail(temp_, "close failed");
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), target_.c_str()) != 0) io_fail(target_, "rename failed");
  committed_ = true;
  if (!durable) return;
  // The rename itself is only durable once the directory entry is on disk.
  sync_directory(target_.parent_path().empty() ? std::filesystem::path(".") : target_.parent_path());
}

namespace {
void sync_path(const std::filesystem::path& path, int flags) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | flags);
  if (fd < 0) io_fail(path, "cannot open to fsync");
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  errno = err;
  if (rc != 0) io_fail(path, "fsync failed");
}
}  // namespace

void sync_directory(const std::filesystem::path& dir) {
  sync_path(dir, O_DIRECTORY);
}

void sync_tree(const std::filesystem::path& dir) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) sync_path(entry.path(), 0);
    if (entry.is_directory()) sync_path(entry.path(), O_DIRECTORY);
  }
  sync_path(dir, O_DIRECTORY);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view text, Durability durability) {
  AtomicFile file(path);
  file.write(text);
  file.commit(durability);
}

}  // namespace visrl
