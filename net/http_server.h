#pragma once
// A small generic HTTP/1.1 (optionally TLS) server on Beast and C++20
// coroutines. The emulator serves the Google APIs with it and the daemon its
// /metrics, /healthz and /status endpoints. Beast stays inside http_server.cc.
//
// Behaviour a caller can rely on:
// - Keep-alive: one session serves requests until the client closes, sends
//   "Connection: close", or stays idle longer than `idle_timeout`.
// - The request head must arrive within `header_timeout` of the connection
//   (or of the previous response); a stuck client is disconnected.
// - A body larger than `max_body_bytes` gets 413 and a request head larger
//   than `max_header_bytes` gets 431; either way the connection is closed.
//   An unparseable request gets 400 and the connection is closed.
// - At most `max_connections` sessions are open at once. A connection beyond
//   that is refused: over plain HTTP with "503 Service Unavailable" (body
//   "too many connections (limit N)", Retry-After: 1, Connection: close),
//   over TLS by closing it; no handler runs for it.
// - A handler that throws gets the client a 500; the server keeps running.
//
// Control headers a handler may put on its response (the server consumes
// them; they never reach the client):
// - "X-Emulator-Reset: 1": close the TCP connection without sending any
//   response, as a load balancer reset would look to the client.
// - "X-Emulator-Slow-Body-Ms: N": send the status line and headers, wait N
//   milliseconds, then send the body (a slow body for client read deadlines).
// Handlers implement plain latency by co_awaiting a timer themselves.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "net/http.h"

namespace dbconnd::net {

// Called once per request on the session's strand. Must not capture state by
// reference that can die before the returned awaitable completes.
using Handler = std::function<boost::asio::awaitable<HttpResponse>(HttpRequest)>;

inline constexpr char kResetHeader[] = "X-Emulator-Reset";
inline constexpr char kSlowBodyHeader[] = "X-Emulator-Slow-Body-Ms";

struct ServerOptions {
  // "host:port"; port 0 picks a free port (see HttpServer::port()).
  std::string listen = "127.0.0.1:0";
  // Both empty = plain HTTP; both set = HTTPS with this PEM chain and key.
  std::string tls_cert_file;
  std::string tls_key_file;
  size_t max_body_bytes = 8 * 1024 * 1024;
  size_t max_header_bytes = 64 * 1024;  // request line and headers together
  size_t max_connections = 1024;
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds idle_timeout{60};
};

class HttpServer {
 public:
  // Binds, listens and starts accepting on `executor` before returning, so
  // port() is valid at once. Errors: INVALID_ARGUMENT for a bad listen string
  // or TLS files, UNAVAILABLE when the address cannot be bound.
  static StatusOr<std::unique_ptr<HttpServer>> Start(boost::asio::any_io_executor executor,
                                                     ServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  // "127.0.0.1:PORT" (IPv6 hosts in brackets).
  std::string address() const;
  // "http://127.0.0.1:PORT" or "https://...".
  std::string url() const;
  // Closes the acceptor and every open session. Idempotent; safe from any
  // thread and from inside a handler.
  void Stop();

  struct Impl;

 private:
  explicit HttpServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace dbconnd::net
