#include "emulator/emulator_server.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/write_all.h"
#include "emulator/model_util.h"

namespace dbconnd::emulator {

namespace asio = boost::asio;

struct EmulatorServer::Shared {
  std::mutex mu;
  std::unique_ptr<Emulator> model;
  std::string state_file;
  uint64_t saved_generation = 0;
};

StatusOr<std::string> ReadStateFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return NotFoundError("state file " + path + " does not exist");
    return UnavailableError("cannot open state file " + path + ": " + std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec) return DataLossError("state file " + path + " is corrupt: " + ec.message());
  if (!v.is_object() || !v.as_object().contains("projects")) {
    return DataLossError("state file " + path + " is corrupt: not an emulator state document");
  }
  return text;
}

Status WriteStateFileAtomically(const std::string& path, std::string_view content) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return UnavailableError("cannot write " + tmp + ": " + std::strerror(errno));
  if (const int err = common::WriteAll(fd, content); err != 0) {
    ::close(fd);
    return UnavailableError("cannot write " + tmp + ": " + std::strerror(err));
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return UnavailableError("cannot sync " + tmp + ": " + std::strerror(errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return UnavailableError("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return OkStatus();
}

namespace {

void PersistLocked(EmulatorServer::Shared& s) {
  if (s.state_file.empty() || s.model->generation() == s.saved_generation) return;
  Status st = WriteStateFileAtomically(s.state_file, s.model->DumpState());
  if (!st.ok()) {
    std::cerr << "gcp-emulator: " << st.message() << "\n";
    return;
  }
  s.saved_generation = s.model->generation();
}

// Free coroutine taking its state by value (GCC 12 coroutine rules).
asio::awaitable<net::HttpResponse> Serve(std::shared_ptr<EmulatorServer::Shared> shared, net::HttpRequest req) {
  FaultDecision fault;
  {
    std::lock_guard lock(shared->mu);
    fault = shared->model->DecideFaults(req);
  }
  if (fault.latency.count() > 0) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(fault.latency);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  net::HttpResponse resp;
  if (fault.reset) {
    resp.SetHeader(net::kResetHeader, "1");
    co_return resp;
  }
  if (fault.status != 0) {
    std::string status = fault.status == 429   ? "RESOURCE_EXHAUSTED"
                         : fault.status == 503 ? "UNAVAILABLE"
                         : fault.status == 500 ? "INTERNAL"
                                               : std::string(StatusCodeName(CodeForHttpStatus(fault.status)));
    std::string reason = fault.status == 429 ? "rateLimitExceeded" : fault.status == 503 ? "backendError" : "internalError";
    std::string message = fault.status == 429 ? "Quota exceeded for quota metric 'Queries' (injected fault)."
                                              : "The service is currently unavailable (injected fault).";
    resp = ErrorResponse(fault.status, status, message, reason);
  } else {
    std::lock_guard lock(shared->mu);
    resp = shared->model->Handle(req, Clock::now());
    PersistLocked(*shared);
  }
  if (fault.apply_then_drop) {
    // Applied and persisted; the answer is lost.
    net::HttpResponse dropped;
    dropped.SetHeader(net::kResetHeader, "1");
    co_return dropped;
  }
  if (fault.slow_body.count() > 0) resp.SetHeader(net::kSlowBodyHeader, std::to_string(fault.slow_body.count()));
  co_return resp;
}

}  // namespace

StatusOr<std::unique_ptr<EmulatorServer>> EmulatorServer::Start(asio::any_io_executor executor,
                                                                 EmulatorOptions options) {
  auto model = Emulator::Create(options.model);
  if (!model.ok()) return model.status();
  auto shared = std::make_shared<Shared>();
  shared->model = std::move(*model);
  shared->state_file = options.state_file;
  if (!options.state_file.empty()) {
    auto text = ReadStateFile(options.state_file);
    if (text.ok()) {
      Status s = shared->model->LoadState(*text);
      if (!s.ok()) return DataLossError("state file " + options.state_file + " is corrupt: " + s.message());
      shared->saved_generation = shared->model->generation();
    } else if (text.status().code() != StatusCode::kNotFound) {
      return text.status();
    }
  }
  net::ServerOptions sopts;
  sopts.listen = options.listen;
  sopts.tls_cert_file = options.tls_cert_file;
  sopts.tls_key_file = options.tls_key_file;
  // The handler is a plain (non-coroutine) lambda that calls a coroutine
  // taking everything by value.
  net::Handler handler = [shared](net::HttpRequest req) { return Serve(shared, std::move(req)); };
  auto server = net::HttpServer::Start(executor, sopts, std::move(handler));
  if (!server.ok()) return server.status();
  std::unique_ptr<EmulatorServer> out(new EmulatorServer());
  out->shared_ = shared;
  out->server_ = std::move(*server);
  {
    std::lock_guard lock(shared->mu);
    shared->model->AddTokenAudience(out->server_->url() + "/token");
    // Google's client libraries always sign for Google's token URL, even
    // when their transport is pointed elsewhere.
    shared->model->AddTokenAudience("https://oauth2.googleapis.com/token");
    PersistLocked(*shared);
  }
  return out;
}

EmulatorServer::~EmulatorServer() { Stop(); }

std::string EmulatorServer::base_url() const { return server_->url(); }
uint16_t EmulatorServer::port() const { return server_->port(); }
Emulator& EmulatorServer::model() { return *shared_->model; }
std::mutex& EmulatorServer::mutex() { return shared_->mu; }

void EmulatorServer::Stop() {
  if (server_) server_->Stop();
}

}  // namespace dbconnd::emulator
