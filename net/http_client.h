#pragma once
// Async HTTP/1.1 client: keep-alive pool per host, TLS with mandatory peer
// and hostname verification, a deadline on every phase, HTTPS_PROXY tunnels.
// Beast stays inside net/*.cc; callers see net/http.h types only.

#include <functional>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "common/status.h"
#include "net/http.h"
#include "net/proxy_config.h"

namespace dbconnd::net {

struct ClientStats {
  uint64_t requests = 0;            // Send calls
  uint64_t connections_opened = 0;  // TCP (+TLS) connections established
  uint64_t connections_reused = 0;  // requests sent on a pooled connection
  uint64_t stale_replaced = 0;      // pooled connections found closed by the peer
};

struct ClientOptions {
  // PEM bundle of trusted CAs; empty = the system store. Verification of
  // https:// peers is always on and cannot be switched off.
  std::string ca_file;
  size_t max_idle_per_host = 8;
  // Requests beyond this wait (within the connect deadline) for a free one.
  size_t max_connections_per_host = 16;
  std::chrono::seconds idle_timeout{60};
  std::string user_agent = "dbconnd/0.1";
  // Empty by default so tests and loopback use stay direct; the daemon sets
  // it from ProxyConfig::FromEnvironment().
  ProxyConfig proxy;
  // A larger response body is an error (kResourceExhausted), not an OOM.
  size_t max_response_body = 64 * 1024 * 1024;
};

// Idempotency (RFC 9112 §9.3.1): Send retries at most once, on a fresh
// connection, and only when a pooled (reused) connection turns out to be
// closed by the server and either no byte of the request was written (any
// method) or the request is a GET/HEAD and no response byte arrived. A POST,
// PATCH, PUT or DELETE whose bytes were written is never sent again: when the
// connection then dies, Send returns kUnavailable "connection closed after
// the request was sent; outcome unknown".
//
// Every error Send returns carries Status::delivery():
//   kNotSent - no byte of the request was written (bad URL, resolve, connect,
//              TLS, pool wait, a write that failed before its first byte):
//              the server cannot have seen it; sending again is safe.
//   kSent    - bytes were written (write/read failure or timeout after that,
//              cancellation while reading, an oversized response): the
//              request may have taken effect; Status::outcome_unknown() is
//              true. Callers re-observe instead of resending a write.
//
// Threading: all Sends of one client must run on the executor given to
// MakeHttpClient (one io_context thread or a strand). The client may be
// destroyed while Sends are in flight; they keep the shared state alive.
class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Sends one request to the absolute URL in request.url. Never throws.
  // Every phase is bounded by `deadlines`; a timeout is kDeadlineExceeded
  // naming host:port, phase and elapsed time; connection and TLS failures are
  // kUnavailable naming host:port and phase; a bad URL is kInvalidArgument.
  // HTTP 4xx/5xx are responses, not errors. Error messages never contain
  // request headers, bodies or proxy credentials.
  virtual boost::asio::awaitable<StatusOr<HttpResponse>> Send(HttpRequest request,
                                                              Deadlines deadlines) = 0;

  // Send, asking `before_write` at the last moment: once a connection is
  // ready (after the pool wait, connect, proxy tunnel and TLS handshake),
  // immediately before the first byte of the request is written, with
  // nothing awaited in between. A non-OK answer ends the call with that
  // Status (delivery kNotSent: nothing was written). A resend on a fresh
  // connection asks again. This base version, for doubles without
  // connections, asks once before Send.
  virtual boost::asio::awaitable<StatusOr<HttpResponse>> SendChecked(
      HttpRequest request, Deadlines deadlines, std::function<Status()> before_write) {
    if (before_write) {
      Status allowed = before_write();
      if (!allowed.ok()) co_return std::move(allowed).WithDelivery(RequestDelivery::kNotSent);
    }
    co_return co_await Send(std::move(request), deadlines);
  }

  virtual ClientStats stats() const = 0;
};

// Fails when the CA file cannot be loaded or the proxy config is invalid.
StatusOr<std::unique_ptr<HttpClient>> MakeHttpClient(boost::asio::any_io_executor ex,
                                                     ClientOptions opts);

}  // namespace dbconnd::net
