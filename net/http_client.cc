#include "net/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <deque>
#include <exception>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "common/async_event.h"
#include "net/url.h"

namespace dbconnd::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// Google's responses carry a few KiB of headers; Beast's default is 8 KiB.
constexpr uint32_t kHeaderLimit = 64 * 1024;

using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Request = http::request<http::string_body>;

struct Connection {
  // Exactly one of the two is set once the connection is open.
  std::optional<beast::tcp_stream> plain;
  std::optional<TlsStream> tls;
  beast::flat_buffer buffer;
  Clock::time_point idle_since;

  beast::tcp_stream& Tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  void Close() {
    if (!tls && !plain) return;
    beast::error_code ec;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
    Tcp().socket().close(ec);
  }
};

// One per scheme+host+port(+proxy). `open` counts idle and leased
// connections plus slots reserved by connections being opened.
struct HostPool {
  std::deque<std::unique_ptr<Connection>> idle;
  size_t open = 0;
  // Requests waiting for a slot, first come first served. A wake-up is a
  // hint to look again: the woken request re-checks idle and open itself.
  std::unique_ptr<common::AsyncEvent> slot_freed = std::make_unique<common::AsyncEvent>();

  void WakeOne() { slot_freed->NotifyOne(); }
};

// Shared by the client object and every Send in flight, so destroying the
// client while requests run is safe. Only touched from the client's executor.
struct State {
  State(asio::any_io_executor e, ClientOptions o)
      : ex(std::move(e)), opts(std::move(o)), tls_ctx(ssl::context::tls_client) {}

  asio::any_io_executor ex;
  ClientOptions opts;
  ssl::context tls_ctx;  // declared before pools: connections reference it
  std::unordered_map<std::string, HostPool> pools;  // node-based: references stay valid
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> opened{0};
  std::atomic<uint64_t> reused{0};
  std::atomic<uint64_t> stale{0};
};

// A connection slot held by one request. Destroying it without Release()
// closes the connection and frees the slot.
class Lease {
 public:
  Lease(std::shared_ptr<State> st, std::string key) : st_(std::move(st)), key_(std::move(key)) {}
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() { Discard(); }

  std::unique_ptr<Connection> conn;
  bool reused = false;

  // Returns a healthy keep-alive connection to the idle list.
  void Release() {
    if (!held_) return;
    HostPool& pool = st_->pools[key_];
    if (conn && conn->buffer.size() == 0 && pool.idle.size() < st_->opts.max_idle_per_host) {
      conn->idle_since = Clock::now();
      pool.idle.push_back(std::move(conn));
      held_ = false;
      pool.WakeOne();
      return;
    }
    Discard();
  }

  void Discard() {
    if (!held_) return;
    held_ = false;
    if (conn) conn->Close();
    conn.reset();
    HostPool& pool = st_->pools[key_];
    --pool.open;
    pool.WakeOne();
  }

 private:
  std::shared_ptr<State> st_;
  std::string key_;
  bool held_ = true;
};

// A bounded stretch of the request. `deadline` is the earlier of the phase's
// own limit and the total deadline; `total_binding` says which one it is.
struct Phase {
  const char* name = "";
  Clock::time_point start;
  Clock::time_point deadline;
  milliseconds limit{0};
  bool total_binding = false;
};

struct RequestCtx {
  std::shared_ptr<State> st;
  Url url;
  std::optional<ProxyEndpoint> proxy;
  std::string key;
  Deadlines deadlines;
  Clock::time_point start;
  Clock::time_point total_at;
  std::string authority;  // target host:port, for messages
  // Asked right before the request's first byte is written (SendChecked).
  std::function<Status()> before_write;

  Phase StartPhase(const char* name, milliseconds limit) const {
    Phase p;
    p.name = name;
    p.start = Clock::now();
    p.limit = limit;
    Clock::time_point own = p.start + limit;
    p.total_binding = total_at <= own;
    p.deadline = p.total_binding ? total_at : own;
    return p;
  }

  long long ElapsedMs(Clock::time_point since) const {
    return std::chrono::duration_cast<milliseconds>(Clock::now() - since).count();
  }

  Status Timeout(const Phase& p, const std::string& suffix = "") const {
    std::string msg = "request to " + authority;
    if (proxy) msg += " (via proxy " + proxy->Authority() + ")";
    msg += " timed out in " + std::string(p.name);
    if (p.total_binding) {
      msg += " after " + std::to_string(ElapsedMs(start)) + " ms (total deadline " +
             std::to_string(deadlines.total.count()) + " ms)";
    } else {
      msg += " after " + std::to_string(ElapsedMs(p.start)) + " ms (deadline " +
             std::to_string(p.limit.count()) + " ms)";
    }
    msg += suffix;
    return DeadlineExceededError(std::move(msg));
  }

  // A caller that cancels the request (e.g. on shutdown) gets kCancelled.
  Status Failed(const Phase& p, const beast::error_code& ec) const {
    if (ec == asio::error::operation_aborted) {
      return CancelledError("request to " + authority + " cancelled in " + std::string(p.name));
    }
    return Failed(p, ec.message());
  }

  Status Failed(const Phase& p, const std::string& why) const {
    std::string msg = "request to " + authority;
    if (proxy) msg += " (via proxy " + proxy->Authority() + ")";
    msg += " failed in " + std::string(p.name) + ": " + why;
    return UnavailableError(std::move(msg));
  }

  bool Expired(const Phase& p) const { return Clock::now() >= p.deadline; }
};

bool IsTimeout(const beast::error_code& ec, const RequestCtx& rc, const Phase& p) {
  return ec == beast::error::timeout || rc.Expired(p);
}

// The errors a reused connection shows when the server had already closed it.
bool IsConnectionLoss(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == asio::error::not_connected ||
         ec == ssl::error::stream_truncated;
}

// An idle keep-alive connection must have nothing to read: EOF means the
// server closed it, data means a TLS close_notify or garbage. Either way it
// cannot carry the next request.
bool LooksAlive(Connection& c) {
  int fd = c.Tcp().socket().native_handle();
  char b;
  ssize_t n = ::recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n >= 0) return false;
  return errno == EAGAIN || errno == EWOULDBLOCK;
}

// getaddrinfo cannot be interrupted, so the lookup runs detached and the
// request waits on a timer that the lookup cancels when it finishes: the
// connect deadline holds even when DNS hangs.
struct ResolveState {
  explicit ResolveState(const asio::any_io_executor& ex) : resolver(ex), done(ex) {}
  tcp::resolver resolver;
  asio::steady_timer done;
  beast::error_code ec;
  tcp::resolver::results_type results;
  bool finished = false;
};

asio::awaitable<void> RunResolve(std::shared_ptr<ResolveState> rs, std::string host,
                                 std::string port) {
  auto [ec, results] = co_await rs->resolver.async_resolve(host, port, kUseTuple);
  rs->ec = ec;
  rs->results = std::move(results);
  rs->finished = true;
  rs->done.cancel();
}

// Opens a TCP (+CONNECT tunnel) (+TLS) connection into lease->conn.
asio::awaitable<Status> Open(const RequestCtx* rc, Phase connect_phase, Lease* lease) {
  const std::shared_ptr<State> st = rc->st;
  const std::string host = rc->proxy ? rc->proxy->host : rc->url.host;
  const uint16_t port = rc->proxy ? rc->proxy->port : rc->url.port;

  Phase ph = connect_phase;
  ph.name = "resolve";
  std::vector<tcp::endpoint> endpoints;
  if (IsIpLiteral(host)) {
    endpoints.emplace_back(asio::ip::make_address(host), port);
  } else {
    auto rs = std::make_shared<ResolveState>(st->ex);
    rs->done.expires_at(ph.deadline);
    asio::co_spawn(st->ex, RunResolve(rs, host, std::to_string(port)), asio::detached);
    co_await rs->done.async_wait(kUseTuple);
    if (!rs->finished) {
      rs->resolver.cancel();
      co_return rc->Timeout(ph);
    }
    if (rs->ec) co_return rc->Failed(ph, "cannot resolve " + host + ": " + rs->ec.message());
    for (const auto& r : rs->results) endpoints.push_back(r.endpoint());
    if (endpoints.empty()) co_return rc->Failed(ph, "no address for " + host);
  }

  ph.name = "connect";
  beast::tcp_stream stream(st->ex);
  stream.expires_at(ph.deadline);
  {
    auto [ec, ep] = co_await stream.async_connect(endpoints, kUseTuple);
    if (ec) {
      if (IsTimeout(ec, *rc, ph)) co_return rc->Timeout(ph);
      co_return rc->Failed(ph, ec);
    }
  }
  beast::error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);

  auto conn = std::make_unique<Connection>();
  if (rc->proxy && rc->url.tls()) {
    // CONNECT tunnel (RFC 9110 §9.3.6), still inside the connect deadline.
    ph.name = "proxy-connect";
    http::request<http::empty_body> creq{http::verb::connect, rc->authority, 11};
    creq.set(http::field::host, rc->authority);
    if (!st->opts.user_agent.empty()) creq.set(http::field::user_agent, st->opts.user_agent);
    if (!rc->proxy->authorization.empty()) {
      creq.set(http::field::proxy_authorization, rc->proxy->authorization);
    }
    auto [wec, wn] = co_await http::async_write(stream, creq, kUseTuple);
    if (wec) {
      if (IsTimeout(wec, *rc, ph)) co_return rc->Timeout(ph);
      co_return rc->Failed(ph, wec);
    }
    http::response_parser<http::empty_body> cres;
    cres.skip(true);  // a 2xx to CONNECT has no body; the tunnel follows
    auto [rec, rn] = co_await http::async_read(stream, conn->buffer, cres, kUseTuple);
    if (rec) {
      if (IsTimeout(rec, *rc, ph)) co_return rc->Timeout(ph);
      co_return rc->Failed(ph, rec);
    }
    int code = cres.get().result_int();
    if (code / 100 != 2) {
      co_return rc->Failed(ph, "proxy answered CONNECT with HTTP " + std::to_string(code));
    }
    if (conn->buffer.size() != 0) {
      co_return rc->Failed(ph, "proxy sent data before the TLS handshake");
    }
  }

  if (rc->url.tls()) {
    conn->tls.emplace(std::move(stream), st->tls_ctx);
    SSL* ssl_handle = conn->tls->native_handle();
    const std::string& name = rc->url.host;
    // SNI carries DNS names only (RFC 6066 §3).
    if (!IsIpLiteral(name)) SSL_set_tlsext_host_name(ssl_handle, name.c_str());
    // OpenSSL checks the name (or IP literal) during the chain verification
    // and records a precise verify result; the Asio callback checks again.
    SSL_set1_host(ssl_handle, name.c_str());
    conn->tls->set_verify_callback(ssl::host_name_verification(name));

    Phase hs = rc->StartPhase("tls-handshake", rc->deadlines.handshake);
    conn->Tcp().expires_at(hs.deadline);
    auto [ec] = co_await conn->tls->async_handshake(ssl::stream_base::client, kUseTuple);
    if (ec) {
      if (IsTimeout(ec, *rc, hs)) co_return rc->Timeout(hs);
      if (ec == asio::error::operation_aborted) co_return rc->Failed(hs, ec);
      std::string why = ec.message();
      long vr = SSL_get_verify_result(ssl_handle);
      if (vr != X509_V_OK) {
        why = "certificate verify failed: " + std::string(X509_verify_cert_error_string(vr));
      }
      co_return rc->Failed(hs, why);
    }
  } else {
    conn->plain.emplace(std::move(stream));
  }
  conn->Tcp().expires_never();
  lease->conn = std::move(conn);
  st->opened.fetch_add(1, std::memory_order_relaxed);
  co_return OkStatus();
}

// A pooled connection when one is idle and alive, else a new one; waits for
// a free slot when the host is at max_connections_per_host. All of it runs
// under the connect deadline. `fresh_only` (the one retry) never takes an
// idle connection: it may have died the same way as the one just lost.
asio::awaitable<StatusOr<std::unique_ptr<Lease>>> Acquire(const RequestCtx* rc, bool fresh_only) {
  const std::shared_ptr<State> st = rc->st;
  Phase ph = rc->StartPhase("pool-wait", rc->deadlines.connect);
  const size_t max_open = std::max<size_t>(1, st->opts.max_connections_per_host);
  for (;;) {
    HostPool& pool = st->pools[rc->key];
    // Oldest first: connections idle past idle_timeout are closed, not reused.
    while (!pool.idle.empty() &&
           Clock::now() - pool.idle.front()->idle_since > st->opts.idle_timeout) {
      pool.idle.front()->Close();
      pool.idle.pop_front();
      --pool.open;
    }
    if (fresh_only && !pool.idle.empty() && pool.open >= max_open) {
      pool.idle.front()->Close();  // make room for the new connection
      pool.idle.pop_front();
      --pool.open;
    }
    while (!fresh_only && !pool.idle.empty()) {
      // Most recently used first: the likeliest to be alive.
      std::unique_ptr<Connection> c = std::move(pool.idle.back());
      pool.idle.pop_back();
      if (LooksAlive(*c)) {
        auto lease = std::make_unique<Lease>(st, rc->key);
        lease->conn = std::move(c);
        lease->reused = true;
        co_return lease;
      }
      st->stale.fetch_add(1, std::memory_order_relaxed);
      c->Close();
      --pool.open;
    }
    if (pool.open < max_open) {
      ++pool.open;
      auto lease = std::make_unique<Lease>(st, rc->key);
      Status s = co_await Open(rc, ph, lease.get());
      if (!s.ok()) co_return s;  // the lease frees the slot
      co_return lease;
    }
    if (rc->Expired(ph)) co_return rc->Timeout(ph);
    // The pool (a node of an unordered_map) and its event live as long as
    // the client state this coroutine holds.
    const common::AsyncEvent::WaitResult woke = co_await pool.slot_freed->Wait(ph.deadline);
    if (woke == common::AsyncEvent::WaitResult::kCancelled) {
      co_return rc->Failed(ph, asio::error::make_error_code(asio::error::operation_aborted));
    }
    if (rc->Expired(ph)) {
      // Woken too late to use it: pass the wake-up on.
      if (woke == common::AsyncEvent::WaitResult::kNotified) pool.WakeOne();
      co_return rc->Timeout(ph);
    }
  }
}

struct Exchanged {
  HttpResponse response;
  bool keep_alive = false;
};

// RFC 9110 §9.2.2 calls PUT and DELETE idempotent too, but a Google API
// PUT/DELETE starts a long-running operation; only reads are sent twice.
bool MayResendAfterWrite(const Request& req) {
  return req.method() == http::verb::get || req.method() == http::verb::head;
}

constexpr char kOutcomeUnknown[] =
    "connection closed after the request was sent; outcome unknown";

// Writes the request and reads the response. `*retryable` is set when the
// failure shows a reused connection that the server had closed, and either
// no byte of the request was written or the request is a read (GET/HEAD)
// and no byte of a response arrived. Every error carries its delivery:
// kNotSent when no request byte was written, else kSent (outcome unknown).
template <class Stream>
asio::awaitable<StatusOr<Exchanged>> Exchange(const RequestCtx* rc, Stream* stream,
                                              Connection* conn, const Request* req,
                                              bool reused, bool* retryable) {
  const std::shared_ptr<State> st = rc->st;
  *retryable = false;
  const bool resendable = MayResendAfterWrite(*req);

  if (rc->before_write) {
    // The last moment: the connection is ready and nothing is awaited
    // between this answer and the write.
    Status allowed = rc->before_write();
    if (!allowed.ok()) co_return std::move(allowed).WithDelivery(RequestDelivery::kNotSent);
  }
  Phase wp = rc->StartPhase("write", rc->deadlines.write);
  conn->Tcp().expires_at(wp.deadline);
  {
    auto [ec, n] = co_await http::async_write(*stream, *req, kUseTuple);
    if (ec) {
      if (n == 0) {
        // Nothing reached the socket: the server cannot have seen it.
        *retryable = reused && IsConnectionLoss(ec);
        Status s = IsTimeout(ec, *rc, wp) ? rc->Timeout(wp) : rc->Failed(wp, ec);
        co_return std::move(s).WithDelivery(RequestDelivery::kNotSent);
      }
      if (IsTimeout(ec, *rc, wp)) {
        co_return rc->Timeout(wp, "; " + std::to_string(n) +
                                      " bytes of the request were written, outcome unknown")
            .WithDelivery(RequestDelivery::kSent);
      }
      if (IsConnectionLoss(ec)) {
        *retryable = reused && resendable;
        co_return rc->Failed(wp, kOutcomeUnknown).WithDelivery(RequestDelivery::kSent);
      }
      co_return rc->Failed(wp, ec.message() + " after the request was partly sent; outcome unknown")
          .WithDelivery(RequestDelivery::kSent);
    }
  }

  Phase rp = rc->StartPhase("read", rc->deadlines.read);
  conn->Tcp().expires_at(rp.deadline);
  http::response_parser<http::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(st->opts.max_response_body);
  if (req->method() == http::verb::head) parser.skip(true);
  {
    auto [ec, n] = co_await http::async_read(*stream, conn->buffer, parser, kUseTuple);
    if (ec) {
      if (IsTimeout(ec, *rc, rp)) {
        co_return rc->Timeout(rp, "; the request was sent, outcome unknown")
            .WithDelivery(RequestDelivery::kSent);
      }
      if (ec == http::error::body_limit) {
        co_return ResourceExhaustedError(
            "response from " + rc->authority + " exceeds the body limit of " +
            std::to_string(st->opts.max_response_body) + " bytes")
            .WithDelivery(RequestDelivery::kSent);
      }
      if (ec == asio::error::operation_aborted) {
        co_return rc->Failed(rp, ec).WithDelivery(RequestDelivery::kSent);
      }
      const bool nothing_back = !parser.got_some() && conn->buffer.size() == 0;
      *retryable = reused && resendable && nothing_back && IsConnectionLoss(ec);
      if (nothing_back && IsConnectionLoss(ec)) {
        co_return rc->Failed(rp, kOutcomeUnknown).WithDelivery(RequestDelivery::kSent);
      }
      co_return rc->Failed(rp, ec.message() + " (request sent; outcome unknown)")
          .WithDelivery(RequestDelivery::kSent);
    }
  }
  conn->Tcp().expires_never();

  auto& msg = parser.get();
  Exchanged out;
  out.keep_alive = msg.keep_alive() && !msg.need_eof();
  out.response.status = msg.result_int();
  for (const auto& f : msg) {
    out.response.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  }
  out.response.body = std::move(msg.body());
  co_return out;
}

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

StatusOr<Request> BuildRequest(const RequestCtx& rc, HttpRequest& in) {
  if (in.method.empty() || in.method.find_first_of(" \t\r\n") != std::string::npos) {
    return InvalidArgumentError("invalid HTTP method");
  }
  Request req;
  req.version(11);
  http::verb verb = http::string_to_verb(in.method);
  if (verb == http::verb::unknown) {
    req.method_string(in.method);
  } else {
    req.method(verb);
  }
  // Through a plain-http proxy the target is the absolute URL (RFC 9112 §3.2.2).
  if (rc.proxy && !rc.url.tls()) {
    req.target("http://" + rc.url.HostHeader() + rc.url.target);
  } else {
    req.target(rc.url.target);
  }
  req.set(http::field::host, rc.url.HostHeader());
  for (auto& h : in.headers) {
    // The name is safe to report; the value may be a credential.
    if (h.name.empty() || HasLineBreak(h.name) || h.name.find(':') != std::string::npos) {
      return InvalidArgumentError("invalid request header name");
    }
    if (HasLineBreak(h.value)) {
      return InvalidArgumentError("request header " + h.name + " contains a line break");
    }
    if (beast::iequals(h.name, "Host")) {
      req.set(http::field::host, h.value);  // an explicit Host replaces ours
    } else {
      req.insert(h.name, h.value);
    }
  }
  if (in.FindHeader("User-Agent") == nullptr && !rc.st->opts.user_agent.empty()) {
    req.set(http::field::user_agent, rc.st->opts.user_agent);
  }
  if (rc.proxy && !rc.url.tls() && !rc.proxy->authorization.empty()) {
    req.set(http::field::proxy_authorization, rc.proxy->authorization);
  }
  req.body() = std::move(in.body);
  req.prepare_payload();
  return req;
}

asio::awaitable<StatusOr<HttpResponse>> SendOnce(std::shared_ptr<State> st, HttpRequest in,
                                                 Deadlines deadlines,
                                                 std::function<Status()> before_write) {
  st->requests.fetch_add(1, std::memory_order_relaxed);
  RequestCtx rc;
  rc.before_write = std::move(before_write);
  rc.st = st;
  rc.deadlines = deadlines;
  rc.start = Clock::now();
  rc.total_at = rc.start + deadlines.total;
  {
    auto url = ParseUrl(in.url);
    if (!url.ok()) {
      co_return InvalidArgumentError("invalid request URL: " + url.status().message())
          .WithDelivery(RequestDelivery::kNotSent);
    }
    rc.url = *std::move(url);
  }
  rc.authority = rc.url.Authority();
  rc.proxy = st->opts.proxy.ProxyFor(rc.url.scheme, rc.url.host, rc.url.port);
  rc.key = rc.url.scheme + "://" + rc.authority;
  if (rc.proxy) rc.key += " via " + rc.proxy->Authority();

  auto built = BuildRequest(rc, in);
  if (!built.ok()) co_return Status(built.status()).WithDelivery(RequestDelivery::kNotSent);
  const Request req = *std::move(built);

  // At most two attempts; the second only for a reused connection found
  // closed before the request was written, or, for GET/HEAD, before any
  // response byte (see HttpClient).
  for (int attempt = 0;; ++attempt) {
    auto acquired = co_await Acquire(&rc, /*fresh_only=*/attempt > 0);
    if (!acquired.ok()) {
      co_return Status(acquired.status()).WithDelivery(RequestDelivery::kNotSent);
    }
    std::unique_ptr<Lease> lease = *std::move(acquired);
    if (lease->reused) st->reused.fetch_add(1, std::memory_order_relaxed);

    bool retryable = false;
    Connection* conn = lease->conn.get();
    StatusOr<Exchanged> result = InternalError("no connection");
    if (conn->tls) {
      result = co_await Exchange(&rc, &*conn->tls, conn, &req, lease->reused, &retryable);
    } else {
      result = co_await Exchange(&rc, &*conn->plain, conn, &req, lease->reused, &retryable);
    }
    if (result.ok()) {
      if (result->keep_alive) {
        lease->Release();
      } else {
        lease->Discard();
      }
      co_return std::move(result->response);
    }
    lease->Discard();
    if (retryable && attempt == 0) {
      st->stale.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    co_return result.status();
  }
}

asio::awaitable<StatusOr<HttpResponse>> SendGuarded(std::shared_ptr<State> st, HttpRequest in,
                                                    Deadlines deadlines,
                                                    std::function<Status()> before_write) {
  // Beast and Asio report through error codes here, but allocation and
  // system_error from socket setup can still throw: Send never does.
  std::string failure;
  try {
    co_return co_await SendOnce(std::move(st), std::move(in), deadlines, std::move(before_write));
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown exception";
  }
  // Where it failed is not known: treat the request as possibly sent.
  co_return InternalError("HTTP client failure: " + failure)
      .WithDelivery(RequestDelivery::kSent);
}

class HttpClientImpl final : public HttpClient {
 public:
  explicit HttpClientImpl(std::shared_ptr<State> st) : st_(std::move(st)) {}

  asio::awaitable<StatusOr<HttpResponse>> Send(HttpRequest request, Deadlines deadlines) override {
    return SendGuarded(st_, std::move(request), deadlines, nullptr);
  }

  asio::awaitable<StatusOr<HttpResponse>> SendChecked(HttpRequest request, Deadlines deadlines,
                                                      std::function<Status()> before_write) override {
    return SendGuarded(st_, std::move(request), deadlines, std::move(before_write));
  }

  ClientStats stats() const override {
    ClientStats s;
    s.requests = st_->requests.load(std::memory_order_relaxed);
    s.connections_opened = st_->opened.load(std::memory_order_relaxed);
    s.connections_reused = st_->reused.load(std::memory_order_relaxed);
    s.stale_replaced = st_->stale.load(std::memory_order_relaxed);
    return s;
  }

 private:
  std::shared_ptr<State> st_;
};

}  // namespace

StatusOr<std::unique_ptr<HttpClient>> MakeHttpClient(asio::any_io_executor ex,
                                                     ClientOptions opts) {
  if (!opts.proxy.status().ok()) return opts.proxy.status();
  auto st = std::make_shared<State>(std::move(ex), std::move(opts));
  ssl::context& ctx = st->tls_ctx;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1) {
    return InternalError("cannot require TLS 1.2");
  }
  ctx.set_verify_mode(ssl::verify_peer);
  beast::error_code ec;
  if (st->opts.ca_file.empty()) {
    ctx.set_default_verify_paths(ec);
    if (ec) return UnavailableError("cannot load the system CA store: " + ec.message());
  } else {
    ctx.load_verify_file(st->opts.ca_file, ec);
    if (ec) {
      return InvalidArgumentError("cannot load CA file " + st->opts.ca_file + ": " +
                                  ec.message());
    }
  }
  return std::unique_ptr<HttpClient>(std::make_unique<HttpClientImpl>(std::move(st)));
}

}  // namespace dbconnd::net
