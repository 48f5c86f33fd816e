#include "core/file_crc32.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace visrl {

uint32_t file_crc32(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(ErrorKind::io, "{}: cannot open: {}", path.string(), std::strerror(errno));
  std::vector<unsigned char> buffer(4 << 20);
  uLong crc = crc32(0L, Z_NULL, 0);
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      fail(ErrorKind::io, "{}: read failed: {}", path.string(), std::strerror(err));
    }
    if (n == 0) break;
    crc = crc32(crc, buffer.data(), static_cast<uInt>(n));
  }
  ::close(fd);
  return static_cast<uint32_t>(crc);
}

}  // namespace visrl
