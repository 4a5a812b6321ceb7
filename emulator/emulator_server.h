#pragma once
// The emulator served over HTTP(S): wraps the synchronous model (Emulator)
// with latency/fault injection and --state persistence, on net::HttpServer.
// Used by the gcp-emulator binary, `dbconnd demo` and integration tests.

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "emulator/emulator.h"
#include "net/http_server.h"

namespace dbconnd::emulator {

struct EmulatorOptions {
  std::string listen = "127.0.0.1:0";
  std::string tls_cert_file, tls_key_file;
  // When set: loaded at start if it exists (a corrupt file is an error, never
  // replaced), and rewritten atomically after every change.
  std::string state_file;
  ModelOptions model;
};

// Reads the state file; NOT_FOUND when it does not exist, DATA_LOSS naming
// the file and the parse error when it is corrupt.
StatusOr<std::string> ReadStateFile(const std::string& path);
// Write to PATH.tmp, fsync, rename over PATH, fsync the directory.
Status WriteStateFileAtomically(const std::string& path, std::string_view content);

class EmulatorServer {
 public:
  static StatusOr<std::unique_ptr<EmulatorServer>> Start(boost::asio::any_io_executor executor,
                                                         EmulatorOptions options);
  ~EmulatorServer();

  // "http://127.0.0.1:PORT"; the token endpoint is base_url() + "/token".
  std::string base_url() const;
  uint16_t port() const;
  // Direct access for in-process tests; lock mutex() while using it if the
  // server is running on another thread.
  Emulator& model();
  std::mutex& mutex();
  void Stop();

  struct Shared;

 private:
  EmulatorServer() = default;
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<net::HttpServer> server_;
};

}  // namespace dbconnd::emulator
