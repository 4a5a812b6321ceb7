#pragma once
// write(2) until every byte is written: short writes continue where they
// stopped, EINTR is retried. Returns 0, or the errno of the write that
// failed (the caller decides what a half-written file means).

#include <cerrno>
#include <cstddef>
#include <string_view>
#include <unistd.h>

namespace dbconnd::common {

inline int WriteAll(int fd, std::string_view data) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    off += static_cast<std::size_t>(n);
  }
  return 0;
}

}  // namespace dbconnd::common
