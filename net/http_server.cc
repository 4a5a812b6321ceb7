#include "net/http_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <algorithm>
#include <boost/asio/write.hpp>
#include <charconv>
#include <climits>
#include <cstdint>
#include <exception>
#include <list>
#include <mutex>
#include <optional>

namespace dbconnd::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// Splits "host:port" / "[v6]:port".
StatusOr<tcp::endpoint> ParseListen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgumentError("listen address must be host:port, got '" + listen + "'");
  }
  std::string host = listen.substr(0, colon);
  std::string port_str = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_str.data(), port_str.data() + port_str.size(), port);
  if (ec != std::errc() || p != port_str.data() + port_str.size() || port > 65535) {
    return InvalidArgumentError("bad port in listen address '" + listen + "'");
  }
  boost::system::error_code addr_ec;
  auto addr = asio::ip::make_address(host, addr_ec);
  if (addr_ec) return InvalidArgumentError("bad host in listen address '" + listen + "'");
  return tcp::endpoint(addr, static_cast<uint16_t>(port));
}

HttpResponse SimpleResponse(int status, std::string message) {
  HttpResponse r;
  r.status = status;
  r.SetHeader("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(message);
  r.body += "\n";
  return r;
}

}  // namespace

// Shared by the accept loop and every session; lives as long as any of them.
struct HttpServer::Impl {
  asio::any_io_executor executor;
  ServerOptions options;
  Handler handler;
  std::optional<asio::ssl::context> ssl;
  tcp::acceptor acceptor;
  tcp::endpoint local;

  std::mutex mu;
  bool stopped = false;
  // Sockets of live sessions, so Stop() can close them. Each entry is removed
  // by its session when it ends.
  struct SessionRef {
    asio::any_io_executor strand;
    tcp::socket* socket;        // valid while `alive` can be locked
    std::weak_ptr<int> alive;
  };
  std::list<SessionRef> sessions;
  // Sessions running (accept loop's strand only), and refusals being sent.
  size_t active = 0;
  size_t refusing = 0;

  Impl(asio::any_io_executor ex, ServerOptions opts, Handler h)
      : executor(ex), options(std::move(opts)), handler(std::move(h)),
        acceptor(asio::make_strand(ex)) {}
};

namespace {

using ImplPtr = std::shared_ptr<HttpServer::Impl>;

bhttp::response<bhttp::string_body> ToBeast(HttpResponse resp, unsigned version, bool keep_alive) {
  bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(resp.status), version};
  for (auto& h : resp.headers) out.set(h.name, h.value);
  if (out.find(bhttp::field::server) == out.end()) out.set(bhttp::field::server, "dbconnd");
  out.body() = std::move(resp.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

// Writes `resp`, honouring the slow-body control header. Returns false when
// the write failed (the session should end).
template <typename Stream>
asio::awaitable<bool> WriteResponse(Stream& stream, HttpResponse resp, unsigned version,
                                    bool keep_alive, std::chrono::seconds write_timeout) {
  long slow_ms = 0;
  if (const std::string* slow = resp.FindHeader(kSlowBodyHeader)) {
    std::from_chars(slow->data(), slow->data() + slow->size(), slow_ms);
    std::erase_if(resp.headers,
                  [](const Header& h) { return beast::iequals(h.name, kSlowBodyHeader); });
  }
  auto msg = ToBeast(std::move(resp), version, keep_alive);
  beast::get_lowest_layer(stream).expires_after(write_timeout);
  if (slow_ms <= 0) {
    auto [ec, n] = co_await bhttp::async_write(stream, msg, kTuple);
    (void)n;
    co_return !ec;
  }
  bhttp::response_serializer<bhttp::string_body> sr{msg};
  auto [ec, n] = co_await bhttp::async_write_header(stream, sr, kTuple);
  (void)n;
  if (ec) co_return false;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(std::chrono::milliseconds(slow_ms));
  auto [tec] = co_await timer.async_wait(kTuple);
  (void)tec;
  beast::get_lowest_layer(stream).expires_after(write_timeout);
  auto [ec2, n2] = co_await bhttp::async_write(stream, sr, kTuple);
  (void)n2;
  co_return !ec2;
}

template <typename Stream>
asio::awaitable<void> Serve(ImplPtr impl, Stream& stream, std::string remote) {
  beast::flat_buffer buffer;
  bool first = true;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(
        std::min<size_t>(impl->options.max_header_bytes, UINT32_MAX)));
    parser.body_limit(impl->options.max_body_bytes);
    beast::get_lowest_layer(stream).expires_after(first ? impl->options.header_timeout
                                                        : impl->options.idle_timeout);
    first = false;
    auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, kTuple);
    (void)hn;
    if (hec) {
      if (hec == bhttp::error::end_of_stream || hec == beast::error::timeout ||
          hec == asio::error::operation_aborted || hec == asio::error::connection_reset ||
          hec == asio::error::eof || hec == asio::ssl::error::stream_truncated) {
        co_return;
      }
      int status = hec == bhttp::error::header_limit ? 431
                   : hec == bhttp::error::body_limit ? 413
                                                     : 400;
      co_await WriteResponse(stream, SimpleResponse(status, "malformed request: " + hec.message()),
                             11, false, impl->options.header_timeout);
      co_return;
    }
    const auto& head = parser.get();
    if (auto len = parser.content_length(); len && *len > impl->options.max_body_bytes) {
      co_await WriteResponse(stream, SimpleResponse(413, "request body too large"), head.version(),
                             false, impl->options.header_timeout);
      co_return;
    }
    beast::get_lowest_layer(stream).expires_after(impl->options.idle_timeout);
    auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
    (void)bn;
    if (bec) {
      if (bec == bhttp::error::body_limit) {
        co_await WriteResponse(stream, SimpleResponse(413, "request body too large"), 11, false,
                               impl->options.header_timeout);
      } else if (bec != beast::error::timeout && bec != asio::error::operation_aborted &&
                 bec != asio::error::eof && bec != bhttp::error::end_of_stream &&
                 bec != asio::error::connection_reset) {
        co_await WriteResponse(stream, SimpleResponse(400, "malformed request: " + bec.message()),
                               11, false, impl->options.header_timeout);
      }
      co_return;
    }
    auto msg = parser.release();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.url = std::string(msg.target());
    for (const auto& f : msg) req.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    req.body = std::move(msg.body());
    req.remote = remote;
    const bool keep_alive = msg.keep_alive();
    const unsigned version = msg.version();

    // No deadline while the handler runs: the handler owns its own timing
    // (latency injection, long polls).
    beast::get_lowest_layer(stream).expires_never();
    HttpResponse resp;
    bool failed = false;
    try {
      resp = co_await impl->handler(std::move(req));
    } catch (const std::exception& e) {
      failed = true;
    } catch (...) {
      failed = true;
    }
    if (failed) resp = SimpleResponse(500, "internal server error");
    if (const std::string* reset = resp.FindHeader(kResetHeader); reset && *reset == "1") {
      boost::system::error_code ignored;
      auto& sock = beast::get_lowest_layer(stream).socket();
      // SO_LINGER 0 makes close() send RST, which is what a reset looks like.
      sock.set_option(asio::socket_base::linger(true, 0), ignored);
      sock.close(ignored);
      co_return;
    }
    bool ok = co_await WriteResponse(stream, std::move(resp), version, keep_alive,
                                     impl->options.idle_timeout);
    if (!ok || !keep_alive) break;
  }
  boost::system::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_send, ignored);
}

bool Register(const ImplPtr& impl, asio::any_io_executor strand, tcp::socket* socket,
              const std::shared_ptr<int>& alive) {
  std::lock_guard lock(impl->mu);
  if (impl->stopped) return false;
  impl->sessions.push_back({std::move(strand), socket, alive});
  return true;
}

void Unregister(const ImplPtr& impl, const std::shared_ptr<int>& alive) {
  std::lock_guard lock(impl->mu);
  impl->sessions.remove_if([&](const HttpServer::Impl::SessionRef& r) {
    auto a = r.alive.lock();
    return !a || a == alive;
  });
}

asio::awaitable<void> Session(ImplPtr impl, tcp::socket socket) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  std::string remote = ec ? std::string("unknown")
                          : ep.address().to_string() + ":" + std::to_string(ep.port());
  socket.set_option(tcp::no_delay(true), ec);
  beast::tcp_stream tcp_stream(std::move(socket));
  // Stop() closes the socket through this registration; `alive` tells it
  // whether the session (and so the socket) still exists.
  auto alive = std::make_shared<int>(0);
  auto strand = co_await asio::this_coro::executor;
  // No co_return before the try: GCC 12 destroys the frame's locals twice
  // when a coroutine returns early ahead of a try block holding co_awaits.
  const bool registered = Register(impl, strand, &tcp_stream.socket(), alive);
  try {
    if (!registered) throw std::runtime_error("server stopped");
    if (impl->ssl) {
      beast::ssl_stream<beast::tcp_stream&> tls(tcp_stream, *impl->ssl);
      tcp_stream.expires_after(impl->options.header_timeout);
      auto [hs_ec] = co_await tls.async_handshake(asio::ssl::stream_base::server, kTuple);
      if (!hs_ec) {
        co_await Serve(impl, tls, remote);
        tcp_stream.expires_after(std::chrono::seconds(2));
        auto [sd_ec] = co_await tls.async_shutdown(kTuple);
        (void)sd_ec;
      }
    } else {
      co_await Serve(impl, tcp_stream, remote);
    }
  } catch (const std::exception&) {
    // A broken connection must never take the server down.
  }
  Unregister(impl, alive);
}

// A connection over max_connections: a short 503 over plain HTTP, without
// reading the request, then close. Runs on the accept loop's strand. The
// refusals in flight are bounded too; beyond that the socket is just closed.
asio::awaitable<void> Refuse(ImplPtr impl, tcp::socket socket) {
  boost::system::error_code ignored;
  if (impl->ssl || impl->refusing >= std::max<size_t>(1, impl->options.max_connections)) {
    socket.close(ignored);
    co_return;
  }
  ++impl->refusing;
  std::string body = "too many connections (limit " +
                     std::to_string(impl->options.max_connections) + ")\n";
  std::string text = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8"
                     "\r\nRetry-After: 1\r\nConnection: close\r\nServer: dbconnd\r\n"
                     "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  beast::tcp_stream stream(std::move(socket));
  stream.expires_after(std::chrono::seconds(2));
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(text), kTuple);
  (void)ec;
  (void)n;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  // Lingering close: read what the client already sent (its request), so
  // closing does not reset the connection before it read the 503.
  stream.expires_after(std::chrono::seconds(1));
  char sink[4096];
  for (size_t drained = 0; drained < 64 * 1024;) {
    auto [rec, rn] = co_await stream.async_read_some(asio::buffer(sink), kTuple);
    if (rec) break;
    drained += rn;
  }
  stream.close();
  --impl->refusing;
}

asio::awaitable<void> AcceptLoop(ImplPtr impl) {
  for (;;) {
    auto [ec, socket] = co_await impl->acceptor.async_accept(asio::make_strand(impl->executor), kTuple);
    if (ec) {
      {
        std::lock_guard lock(impl->mu);
        if (impl->stopped || !impl->acceptor.is_open()) co_return;
      }
      if (ec == asio::error::operation_aborted) co_return;
      // Transient (EMFILE, ECONNABORTED): back off briefly instead of spinning.
      asio::steady_timer t(impl->acceptor.get_executor());
      t.expires_after(std::chrono::milliseconds(50));
      co_await t.async_wait(kTuple);
      continue;
    }
    auto strand = socket.get_executor();
    if (impl->active >= std::max<size_t>(1, impl->options.max_connections)) {
      asio::co_spawn(impl->acceptor.get_executor(), Refuse(impl, std::move(socket)),
                     asio::detached);
      continue;
    }
    ++impl->active;
    asio::co_spawn(strand, Session(impl, std::move(socket)),
                   [impl](std::exception_ptr) {
                     asio::post(impl->acceptor.get_executor(), [impl] { --impl->active; });
                   });
  }
}

}  // namespace

HttpServer::HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(asio::any_io_executor executor,
                                                         ServerOptions options, Handler handler) {
  auto ep = ParseListen(options.listen);
  if (!ep.ok()) return ep.status();
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return InvalidArgumentError("TLS needs both a certificate and a key file");
  }
  auto impl = std::make_shared<Impl>(executor, std::move(options), std::move(handler));
  if (!impl->options.tls_cert_file.empty()) {
    impl->ssl.emplace(asio::ssl::context::tls_server);
    boost::system::error_code ec;
    impl->ssl->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                               asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                               asio::ssl::context::no_tlsv1_1,
                           ec);
    impl->ssl->use_certificate_chain_file(impl->options.tls_cert_file, ec);
    if (ec) {
      return InvalidArgumentError("cannot load TLS certificate " + impl->options.tls_cert_file +
                                  ": " + ec.message());
    }
    impl->ssl->use_private_key_file(impl->options.tls_key_file, asio::ssl::context::pem, ec);
    if (ec) {
      return InvalidArgumentError("cannot load TLS key " + impl->options.tls_key_file + ": " +
                                  ec.message());
    }
  }
  boost::system::error_code ec;
  impl->acceptor.open(ep->protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(*ep, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return UnavailableError("cannot listen on " + impl->options.listen + ": " + ec.message());
  }
  impl->local = impl->acceptor.local_endpoint(ec);
  asio::co_spawn(impl->acceptor.get_executor(), AcceptLoop(impl), asio::detached);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const { return impl_->local.port(); }

std::string HttpServer::address() const {
  const auto addr = impl_->local.address();
  std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  return host + ":" + std::to_string(port());
}

std::string HttpServer::url() const {
  return std::string(impl_->ssl ? "https://" : "http://") + address();
}

void HttpServer::Stop() {
  if (!impl_) return;
  std::list<Impl::SessionRef> sessions;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
    sessions.swap(impl_->sessions);
  }
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
  });
  for (auto& s : sessions) {
    // Runs on the session's strand, so the session cannot end meanwhile.
    asio::post(s.strand, [sock = s.socket, weak = s.alive] {
      if (auto a = weak.lock()) {
        boost::system::error_code ignored;
        sock->shutdown(tcp::socket::shutdown_both, ignored);
        sock->close(ignored);
      }
    });
  }
}

}  // namespace dbconnd::net
