#pragma once
// Small helpers for the controller tests: temp dirs, running an io_context
// until a condition holds (bounded), and summing series in an exposition.

#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>

#include "controller/log.h"
#include "tests/support/exposition.h"

namespace dbconnd::controller::testutil {

// Keeps test output readable: only warnings and errors reach stderr.
inline const bool kQuietLogs = [] {
  GlobalLogger().SetLevel(LogLevel::kWarning);
  return true;
}();

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dbconnd-ctl-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs the loop until pred() holds; false after `limit` (a test failure,
// never a long sleep: the loop runs as fast as its work allows).
inline bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& pred,
                     std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

using dbconnd::testing::SumSeries;

}  // namespace dbconnd::controller::testutil
