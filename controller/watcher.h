#pragma once
// GitOps input: watch the configuration and turn every valid change into a
// new generation.
//
// ConfigWatcher puts inotify watches on each configured directory, and on the
// parent directory of each configured file, for IN_CLOSE_WRITE, IN_MOVED_TO,
// IN_CREATE, IN_DELETE and IN_ATTRIB. Watching directories (not files) is
// what makes editors' rename-over saves and Kubernetes ConfigMap updates
// (an atomic swap of the `..data` symlink) visible. Bursts are debounced:
// the callback runs once, `debounce` after the last event.
//
// ConfigReloader loads the paths (config::ConfigSource: only files whose
// content changed are parsed again) and compares the result with the running
// generation: a valid, different configuration becomes generation N+1 and is
// handed to the controller (which enqueues the changed intents at once); an
// invalid one is logged with every error, counted
// (dbconnd_config_reloads_total{result="invalid"}), shown in /status as
// ConfigInvalid, and the last good generation keeps running.
//
// Both run on the controller's executor.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/loader.h"
#include "controller/controller.h"
#include "controller/metrics.h"

namespace dbconnd::controller {

class ConfigWatcher : public std::enable_shared_from_this<ConfigWatcher> {
 public:
  static StatusOr<std::shared_ptr<ConfigWatcher>> Start(
      boost::asio::any_io_executor executor, const std::vector<std::string>& paths,
      std::chrono::milliseconds debounce, std::function<void()> on_change);
  ~ConfigWatcher();
  void Stop();
  // Directories watched (for logs and tests).
  const std::vector<std::string>& directories() const { return directories_; }
  uint64_t events_seen() const { return events_; }

 private:
  ConfigWatcher(boost::asio::any_io_executor executor, int fd);
  static boost::asio::awaitable<void> ReadLoop(std::shared_ptr<ConfigWatcher> self);
  static boost::asio::awaitable<void> Fire(std::shared_ptr<ConfigWatcher> self);

  boost::asio::posix::stream_descriptor stream_;
  boost::asio::steady_timer debounce_timer_;
  std::chrono::milliseconds debounce_{50};
  std::function<void()> on_change_;
  std::vector<std::string> directories_;
  uint64_t events_ = 0;
  bool stopped_ = false;
};

class ConfigReloader {
 public:
  ConfigReloader(std::vector<std::string> paths, std::shared_ptr<Controller> controller,
                 Metrics* metrics);
  // Loads now. Returns OK when the configuration is valid (whether or not it
  // changed); the error lists the diagnostics otherwise. force_read: read
  // every file even if its stat is unchanged (SIGHUP).
  Status Reload(const std::string& why, bool force_read = false);
  int64_t generation() const { return generation_; }
  bool has_good() const { return last_good_ != nullptr; }

 private:
  config::ConfigSource source_;
  std::shared_ptr<Controller> controller_;
  Metrics* metrics_;
  int64_t generation_ = 0;
  std::shared_ptr<const config::DesiredState> last_good_;
};

}  // namespace dbconnd::controller
