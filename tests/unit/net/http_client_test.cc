// HttpClient against servers started here on 127.0.0.1 port 0: a raw Beast
// HTTP(S) server with scripted misbehaviour, a CONNECT proxy, and a CA plus
// server certificates generated with OpenSSL for each run.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "common/base64.h"
#include "net/http_client.h"
#include "net/url.h"
#include "tests/support/test_certs.h"

namespace dbconnd::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---------------------------------------------------------------------------
// Certificates

using Identity = dbconnd::testing::TestIdentity;
using dbconnd::testing::MakeTestIdentity;

class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("dbconnd_net_test_" + std::to_string(::getpid()) + "_" +
             std::to_string(counter++) + ".pem");
    std::ofstream(path_) << contents;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

std::unique_ptr<ssl::context> ServerTls(const Identity& server) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->use_certificate_chain(asio::buffer(server.cert_pem));
  ctx->use_private_key(asio::buffer(server.key_pem), ssl::context::pem);
  return ctx;
}

// ---------------------------------------------------------------------------
// Test server

enum class Behavior {
  kEcho,                // keep-alive; echoes method, target, X-Test and body
  kCloseAfterResponse,  // answers (keep-alive headers) then closes: an idle close
  kConnectionClose,     // answers with Connection: close
  kSilent,              // accepts TCP, never reads or writes
  kReadNoReply,         // reads the request, never answers
  kCloseOnSecondRequest,  // reads the 2nd request of a connection, closes unanswered
  kCloseOnFirstRequest,   // reads the 1st request, closes unanswered
};

struct SeenRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

class TestServer {
 public:
  TestServer(asio::io_context& ioc, Behavior behavior, ssl::context* tls = nullptr)
      : acceptor_(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        behavior_(behavior),
        tls_(tls) {
    asio::co_spawn(ioc, AcceptLoop(this), asio::detached);
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string Url(const std::string& host = "127.0.0.1") const {
    return std::string(tls_ ? "https://" : "http://") + host + ":" + std::to_string(port());
  }

  int accepted = 0;
  int closed = 0;
  std::vector<SeenRequest> seen;

 private:
  static asio::awaitable<void> AcceptLoop(TestServer* srv) {
    for (;;) {
      auto [ec, sock] = co_await srv->acceptor_.async_accept(kUseTuple);
      if (ec) co_return;
      ++srv->accepted;
      asio::co_spawn(srv->acceptor_.get_executor(), Session(srv, std::move(sock)),
                     asio::detached);
    }
  }

  static asio::awaitable<void> HoldForever(asio::any_io_executor ex) {
    asio::steady_timer t(ex, std::chrono::hours(1));
    co_await t.async_wait(kUseTuple);
  }

  static asio::awaitable<void> Session(TestServer* srv, tcp::socket sock) {
    auto ex = sock.get_executor();
    if (srv->behavior_ == Behavior::kSilent) {
      co_await HoldForever(ex);  // the socket stays open, unread
      co_return;
    }
    if (srv->tls_ != nullptr) {
      beast::ssl_stream<beast::tcp_stream> stream(std::move(sock), *srv->tls_);
      auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
      if (!ec) co_await Serve(srv, &stream);
    } else {
      beast::tcp_stream stream(std::move(sock));
      co_await Serve(srv, &stream);
    }
    ++srv->closed;
  }

  template <class Stream>
  static asio::awaitable<void> Serve(TestServer* srv, Stream* stream) {
    beast::flat_buffer buffer;
    int on_this_connection = 0;
    for (;;) {
      http::request<http::string_body> req;
      auto [ec, n] = co_await http::async_read(*stream, buffer, req, kUseTuple);
      if (ec) co_return;
      ++on_this_connection;
      SeenRequest seen{std::string(req.method_string()), std::string(req.target()), {},
                       req.body()};
      for (const auto& f : req) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        seen.headers[name] = std::string(f.value());
      }
      srv->seen.push_back(std::move(seen));
      if (srv->behavior_ == Behavior::kReadNoReply) {
        co_await HoldForever(beast::get_lowest_layer(*stream).get_executor());
        co_return;
      }
      if ((srv->behavior_ == Behavior::kCloseOnSecondRequest && on_this_connection == 2) ||
          srv->behavior_ == Behavior::kCloseOnFirstRequest) {
        beast::get_lowest_layer(*stream).close();
        co_return;
      }
      http::response<http::string_body> res{http::status::ok, 11};
      res.set("X-Method", req.method_string());
      res.set("X-Target", req.target());
      if (auto it = req.find("X-Test"); it != req.end()) res.set("X-Test-Echo", it->value());
      res.body() = req.body();
      res.keep_alive(srv->behavior_ != Behavior::kConnectionClose && req.keep_alive());
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(*stream, res, kUseTuple);
      if (wec) co_return;
      if (srv->behavior_ == Behavior::kCloseAfterResponse ||
          srv->behavior_ == Behavior::kConnectionClose) {
        beast::error_code ignored;
        beast::get_lowest_layer(*stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(*stream).close();
        co_return;
      }
    }
  }

  tcp::acceptor acceptor_;
  Behavior behavior_;
  ssl::context* tls_;
};

// ---------------------------------------------------------------------------
// CONNECT proxy: records each CONNECT and its Proxy-Authorization, then
// tunnels bytes to 127.0.0.1:<port> (never anywhere else), or answers 407.

class TestProxy {
 public:
  TestProxy(asio::io_context& ioc, bool reject)
      : acceptor_(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), reject_(reject) {
    asio::co_spawn(ioc, AcceptLoop(this), asio::detached);
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  std::vector<std::string> request_lines;
  std::vector<std::string> authorizations;

 private:
  static asio::awaitable<void> AcceptLoop(TestProxy* p) {
    for (;;) {
      auto [ec, sock] = co_await p->acceptor_.async_accept(kUseTuple);
      if (ec) co_return;
      asio::co_spawn(p->acceptor_.get_executor(), Session(p, std::move(sock)), asio::detached);
    }
  }

  static asio::awaitable<void> Pump(std::shared_ptr<tcp::socket> from,
                                    std::shared_ptr<tcp::socket> to) {
    std::vector<char> data(16 * 1024);
    for (;;) {
      auto [ec, n] = co_await from->async_read_some(asio::buffer(data), kUseTuple);
      if (ec) break;
      auto [wec, wn] = co_await asio::async_write(*to, asio::buffer(data.data(), n), kUseTuple);
      if (wec) break;
    }
    beast::error_code ignored;
    to->shutdown(tcp::socket::shutdown_send, ignored);
  }

  static asio::awaitable<void> Session(TestProxy* p, tcp::socket sock) {
    auto ex = sock.get_executor();
    beast::flat_buffer buffer;
    http::request_parser<http::empty_body> parser;
    auto [ec, n] = co_await http::async_read(sock, buffer, parser, kUseTuple);
    if (ec) co_return;
    auto& req = parser.get();
    p->request_lines.push_back(std::string(req.method_string()) + " " +
                               std::string(req.target()) + " HTTP/1.1");
    auto auth = req.find(http::field::proxy_authorization);
    p->authorizations.push_back(auth == req.end() ? "" : std::string(auth->value()));
    if (p->reject_ || req.method() != http::verb::connect) {
      http::response<http::string_body> res{http::status::proxy_authentication_required, 11};
      res.set(http::field::proxy_authenticate, "Basic realm=\"test\"");
      res.keep_alive(false);
      res.prepare_payload();
      co_await http::async_write(sock, res, kUseTuple);
      co_return;
    }
    std::string target(req.target());
    auto port = static_cast<uint16_t>(std::stoi(target.substr(target.rfind(':') + 1)));
    auto upstream = std::make_shared<tcp::socket>(ex);
    auto [cec] = co_await upstream->async_connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), kUseTuple);
    if (cec) co_return;
    std::string ok = "HTTP/1.1 200 Connection established\r\n\r\n";
    co_await asio::async_write(sock, asio::buffer(ok), kUseTuple);
    auto down = std::make_shared<tcp::socket>(std::move(sock));
    if (buffer.size() > 0) {
      co_await asio::async_write(*upstream, buffer.data(), kUseTuple);
    }
    asio::co_spawn(ex, Pump(down, upstream), asio::detached);
    asio::co_spawn(ex, Pump(upstream, down), asio::detached);
  }

  tcp::acceptor acceptor_;
  bool reject_;
};

// ---------------------------------------------------------------------------
// Driving the io_context from the test thread.

// co_spawn needs a default-constructible result; StatusOr is not.
template <class T>
asio::awaitable<std::optional<T>> Optional(asio::awaitable<T> aw) {
  co_return co_await std::move(aw);
}

template <class T>
T Run(asio::io_context& ioc, asio::awaitable<T> aw) {
  auto fut = asio::co_spawn(ioc, Optional(std::move(aw)), asio::use_future);
  const auto limit = std::chrono::steady_clock::now() + 20s;
  while (fut.wait_for(0s) != std::future_status::ready) {
    if (std::chrono::steady_clock::now() > limit) FAIL("request did not finish within 20 s");
    if (ioc.stopped()) ioc.restart();
    ioc.run_one_for(10ms);
  }
  return *fut.get();
}

// Lets servers finish what they started (e.g. closing a socket).
void Settle(asio::io_context& ioc, milliseconds d = 50ms) {
  if (ioc.stopped()) ioc.restart();
  ioc.run_for(d);
}

std::unique_ptr<HttpClient> NewClient(asio::io_context& ioc, ClientOptions opts = {}) {
  auto c = MakeHttpClient(ioc.get_executor(), std::move(opts));
  REQUIRE(c.ok());
  return *std::move(c);
}

HttpRequest Get(const std::string& url) {
  HttpRequest r;
  r.url = url;
  return r;
}

Deadlines Short() {
  Deadlines d;
  d.connect = 2000ms;
  d.handshake = 2000ms;
  d.write = 2000ms;
  d.read = 2000ms;
  d.total = 5000ms;
  return d;
}

StatusOr<HttpResponse> Send(asio::io_context& ioc, HttpClient& client, HttpRequest req,
                            Deadlines d = Short()) {
  return Run(ioc, client.Send(std::move(req), d));
}

// ---------------------------------------------------------------------------
// Plain HTTP

TEST_CASE("GET and POST round trip over plain HTTP", "[http_client]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kEcho);
  auto client = NewClient(ioc);

  auto get = Send(ioc, *client, Get(server.Url() + "/v1/things?pageSize=5"));
  REQUIRE(get.ok());
  CHECK(get->status == 200);
  REQUIRE(get->FindHeader("x-method") != nullptr);
  CHECK(*get->FindHeader("X-Method") == "GET");
  CHECK(*get->FindHeader("X-Target") == "/v1/things?pageSize=5");
  REQUIRE(server.seen.size() == 1);
  CHECK(server.seen[0].headers["host"] == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(server.seen[0].headers["user-agent"] == "dbconnd/0.1");

  HttpRequest post;
  post.method = "POST";
  post.url = server.Url() + "/v1/things";
  post.SetHeader("Content-Type", "application/json");
  post.SetHeader("X-Test", "hello");
  post.body = R"({"name":"x"})";
  auto res = Send(ioc, *client, post);
  REQUIRE(res.ok());
  CHECK(*res->FindHeader("X-Method") == "POST");
  CHECK(*res->FindHeader("X-Test-Echo") == "hello");
  CHECK(res->body == R"({"name":"x"})");
  REQUIRE(server.seen.size() == 2);
  CHECK(server.seen[1].headers["content-type"] == "application/json");
  CHECK(server.seen[1].headers["content-length"] == "12");
  CHECK(server.seen[1].body == R"({"name":"x"})");
}

TEST_CASE("SendChecked asks at the last moment, on a ready connection, and a refusal sends nothing",
          "[http_client]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kEcho);
  auto client = NewClient(ioc);
  HttpRequest post;
  post.method = "POST";
  post.url = server.Url() + "/v1/things";
  post.body = R"({"name":"x"})";

  uint64_t connections_when_asked = 0;
  auto refuse = [&]() -> Status {
    connections_when_asked = client->stats().connections_opened;
    return FailedPreconditionError("not the leader");
  };
  auto refused = Run(ioc, client->SendChecked(post, Short(), refuse));
  CHECK(refused.status().code() == StatusCode::kFailedPrecondition);
  CHECK(refused.status().delivery() == RequestDelivery::kNotSent);
  // Asked after the connection was established, not before.
  CHECK(connections_when_asked == 1);
  CHECK(server.seen.empty());

  int asked = 0;
  auto allow = [&]() -> Status {
    ++asked;
    return Status();
  };
  auto sent = Run(ioc, client->SendChecked(post, Short(), allow));
  REQUIRE(sent.ok());
  CHECK(asked == 1);
  REQUIRE(server.seen.size() == 1);
  CHECK(server.seen[0].body == R"({"name":"x"})");
}

TEST_CASE("Bad requests are rejected before any I/O", "[http_client]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kEcho);
  auto client = NewClient(ioc);

  CHECK(Send(ioc, *client, Get("ftp://127.0.0.1/")).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(Send(ioc, *client, Get("no url")).status().code() == StatusCode::kInvalidArgument);
  HttpRequest injected = Get(server.Url() + "/");
  injected.SetHeader("Authorization", "Bearer tok\r\nX-Evil: 1");
  auto r = Send(ioc, *client, injected);
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK_FALSE(Contains(r.status().message(), "tok"));
  CHECK(server.accepted == 0);
}

TEST_CASE("A response body over the limit is an error", "[http_client]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kEcho);
  ClientOptions opts;
  opts.max_response_body = 1024;
  auto client = NewClient(ioc, opts);
  HttpRequest post = Get(server.Url() + "/big");
  post.method = "POST";
  post.body = std::string(4096, 'x');
  auto r = Send(ioc, *client, post);
  CHECK(r.status().code() == StatusCode::kResourceExhausted);
  post.body = std::string(1000, 'x');
  CHECK(Send(ioc, *client, post).ok());
}

// ---------------------------------------------------------------------------
// TLS

struct Pki {
  Identity ca = MakeTestIdentity("dbconnd test CA", nullptr, "");
  Identity server = MakeTestIdentity("localhost", &ca, "IP:127.0.0.1,DNS:localhost");
  Identity other_ca = MakeTestIdentity("unrelated CA", nullptr, "");
  Identity other_name = MakeTestIdentity("other.example", &ca, "DNS:other.example");
  TempFile ca_file{ca.cert_pem};
  TempFile other_ca_file{other_ca.cert_pem};
};

TEST_CASE("TLS with the right CA succeeds by IP and by name", "[http_client][tls]") {
  Pki pki;
  asio::io_context ioc;
  auto tls = ServerTls(pki.server);
  TestServer server(ioc, Behavior::kEcho, tls.get());
  ClientOptions opts;
  opts.ca_file = pki.ca_file.path();
  auto client = NewClient(ioc, opts);

  auto r = Send(ioc, *client, Get(server.Url() + "/secure"));
  REQUIRE(r.ok());
  CHECK(*r->FindHeader("X-Target") == "/secure");
  auto by_name = Send(ioc, *client, Get(server.Url("localhost") + "/by-name"));
  REQUIRE(by_name.ok());
  CHECK(by_name->status == 200);
  for (int i = 0; i < 5; ++i) REQUIRE(Send(ioc, *client, Get(server.Url() + "/again")).ok());
  CHECK(client->stats().connections_opened == 2);  // two pool keys, each reused
  CHECK(client->stats().connections_reused == 5);
  CHECK(server.accepted == 2);
}

TEST_CASE("TLS with the wrong CA fails closed", "[http_client][tls]") {
  Pki pki;
  asio::io_context ioc;
  auto tls = ServerTls(pki.server);
  TestServer server(ioc, Behavior::kEcho, tls.get());

  ClientOptions opts;
  opts.ca_file = pki.other_ca_file.path();
  auto client = NewClient(ioc, opts);
  auto r = Send(ioc, *client, Get(server.Url() + "/"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kUnavailable);
  CHECK(Contains(r.status().message(), "certificate verify failed"));
  CHECK(Contains(r.status().message(), "tls-handshake"));
  CHECK(Contains(r.status().message(), "127.0.0.1:" + std::to_string(server.port())));
  CHECK(server.seen.empty());

  // The system store does not know the test CA either.
  auto system_client = NewClient(ioc);
  auto s = Send(ioc, *system_client, Get(server.Url() + "/"));
  CHECK(s.status().code() == StatusCode::kUnavailable);
  CHECK(Contains(s.status().message(), "certificate verify failed"));
  CHECK(server.seen.empty());
}

TEST_CASE("TLS with a certificate for another name fails closed", "[http_client][tls]") {
  Pki pki;
  asio::io_context ioc;
  auto tls = ServerTls(pki.other_name);
  TestServer server(ioc, Behavior::kEcho, tls.get());
  ClientOptions opts;
  opts.ca_file = pki.ca_file.path();
  auto client = NewClient(ioc, opts);

  for (const std::string host : {"localhost", "127.0.0.1"}) {
    INFO(host);
    auto r = Send(ioc, *client, Get(server.Url(host) + "/"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kUnavailable);
    CHECK(Contains(r.status().message(), "certificate verify failed"));
    CHECK(Contains(r.status().message(), "mismatch"));
  }
  CHECK(server.seen.empty());
}

TEST_CASE("A CA file that cannot be loaded is an error", "[http_client][tls]") {
  asio::io_context ioc;
  ClientOptions opts;
  opts.ca_file = "/nonexistent/dbconnd-ca.pem";
  auto c = MakeHttpClient(ioc.get_executor(), opts);
  CHECK(c.status().code() == StatusCode::kInvalidArgument);
  CHECK(Contains(c.status().message(), "/nonexistent/dbconnd-ca.pem"));
}

// ---------------------------------------------------------------------------
// Deadlines

// A listener that never accepts, with its one-slot backlog filled: Linux
// drops further SYNs, so a connect to it stays pending.
class FullBacklog {
 public:
  FullBacklog() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listen_fd_, 0) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    addr_ = addr;
    port_ = ntohs(addr.sin_port);
    for (int i = 0; i < 2; ++i) fillers_.push_back(StartConnect());
    WaitConnected(fillers_[0], 1000);
  }
  ~FullBacklog() {
    for (int fd : fillers_) ::close(fd);
    ::close(listen_fd_);
  }
  uint16_t port() const { return port_; }
  // True when one more connect really stays pending (what the test needs).
  bool Saturated() {
    int probe = StartConnect();
    bool connected = WaitConnected(probe, 100);
    ::close(probe);
    return !connected;
  }

 private:
  int StartConnect() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    ::connect(fd, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_);
    return fd;
  }
  static bool WaitConnected(int fd, int ms) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, ms) != 1) return false;
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    return err == 0;
  }

  int listen_fd_ = -1;
  sockaddr_in addr_{};
  uint16_t port_ = 0;
  std::vector<int> fillers_;
};

TEST_CASE("The connect deadline fires and names the phase", "[http_client][deadline]") {
  FullBacklog backlog;
  if (!backlog.Saturated()) {
    WARN("this kernel accepted a connect beyond the backlog; connect timeout not testable here");
    return;
  }
  asio::io_context ioc;
  auto client = NewClient(ioc);
  Deadlines d = Short();
  d.connect = 200ms;
  auto r = Send(ioc, *client, Get("http://127.0.0.1:" + std::to_string(backlog.port()) + "/"), d);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kDeadlineExceeded);
  INFO(r.status().message());
  CHECK(Contains(r.status().message(),
                 "request to 127.0.0.1:" + std::to_string(backlog.port()) + " timed out in connect"));
  CHECK(Contains(r.status().message(), "(deadline 200 ms)"));
}

TEST_CASE("The TLS handshake deadline fires against a server that never speaks TLS",
          "[http_client][deadline]") {
  Pki pki;
  asio::io_context ioc;
  auto tls = ServerTls(pki.server);
  TestServer server(ioc, Behavior::kSilent, tls.get());
  ClientOptions opts;
  opts.ca_file = pki.ca_file.path();
  auto client = NewClient(ioc, opts);
  Deadlines d = Short();
  d.handshake = 250ms;
  auto start = std::chrono::steady_clock::now();
  auto r = Send(ioc, *client, Get(server.Url() + "/"), d);
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kDeadlineExceeded);
  INFO(r.status().message());
  CHECK(Contains(r.status().message(), "request to 127.0.0.1:" + std::to_string(server.port()) +
                                           " timed out in tls-handshake after "));
  CHECK(Contains(r.status().message(), "ms (deadline 250 ms)"));
  CHECK(took < 2s);
}

TEST_CASE("The write deadline fires when the server never reads", "[http_client][deadline]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kSilent);
  auto client = NewClient(ioc);
  HttpRequest post = Get(server.Url() + "/upload");
  post.method = "POST";
  post.body = std::string(32 * 1024 * 1024, 'b');  // far beyond loopback socket buffers
  Deadlines d = Short();
  d.write = 300ms;
  auto r = Send(ioc, *client, post, d);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kDeadlineExceeded);
  INFO(r.status().message());
  CHECK(Contains(r.status().message(), "timed out in write"));
  CHECK(Contains(r.status().message(), "(deadline 300 ms)"));
  CHECK(r.status().delivery() == RequestDelivery::kSent);  // part of it went out
}

TEST_CASE("The read deadline fires when the server never answers", "[http_client][deadline]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kReadNoReply);
  auto client = NewClient(ioc);
  Deadlines d = Short();
  d.read = 200ms;
  HttpRequest req = Get(server.Url() + "/slow");
  req.SetHeader("Authorization", "Bearer ya29.SECRET-TOKEN");
  req.method = "POST";
  req.body = "password=SECRET-BODY";
  auto r = Send(ioc, *client, req, d);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kDeadlineExceeded);
  INFO(r.status().message());
  CHECK(Contains(r.status().message(), "timed out in read after"));
  CHECK(Contains(r.status().message(), "(deadline 200 ms)"));
  CHECK_FALSE(Contains(r.status().message(), "SECRET"));
  CHECK_FALSE(Contains(r.status().ToString(), "SECRET"));
  CHECK(Contains(r.status().message(), "outcome unknown"));
  CHECK(r.status().delivery() == RequestDelivery::kSent);
  CHECK(server.seen.size() == 1);  // a timeout is not retried
}

TEST_CASE("The total deadline bounds the whole request", "[http_client][deadline]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kReadNoReply);
  auto client = NewClient(ioc);
  Deadlines d = Short();
  d.read = 10'000ms;
  d.total = 300ms;
  auto start = std::chrono::steady_clock::now();
  auto r = Send(ioc, *client, Get(server.Url() + "/"), d);
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kDeadlineExceeded);
  INFO(r.status().message());
  CHECK(Contains(r.status().message(), "timed out in read"));
  CHECK(Contains(r.status().message(), "(total deadline 300 ms)"));
  CHECK(took < 3s);
}

TEST_CASE("A refused connection is Unavailable and names host and phase", "[http_client]") {
  asio::io_context ioc;
  uint16_t port;
  {
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  auto client = NewClient(ioc);
  auto r = Send(ioc, *client, Get("http://127.0.0.1:" + std::to_string(port) + "/"));
  CHECK(r.status().code() == StatusCode::kUnavailable);
  CHECK(Contains(r.status().message(),
                 "request to 127.0.0.1:" + std::to_string(port) + " failed in connect"));
  CHECK(r.status().delivery() == RequestDelivery::kNotSent);
  CHECK_FALSE(r.status().outcome_unknown());
}

// ---------------------------------------------------------------------------
// Pool

TEST_CASE("200 sequential requests reuse one connection", "[http_client][pool]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kEcho);
  auto client = NewClient(ioc);
  for (int i = 0; i < 200; ++i) {
    auto r = Send(ioc, *client, Get(server.Url() + "/n/" + std::to_string(i)));
    REQUIRE(r.ok());
    REQUIRE(r->status == 200);
  }
  auto s = client->stats();
  CHECK(s.requests == 200);
  CHECK(s.connections_opened == 1);
  CHECK(s.connections_reused >= 198);  // >= 99%
  CHECK(s.stale_replaced == 0);
  CHECK(server.accepted == 1);
}

TEST_CASE("An idle connection closed by the server is detected and replaced",
          "[http_client][pool]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kCloseAfterResponse);
  auto client = NewClient(ioc);
  REQUIRE(Send(ioc, *client, Get(server.Url() + "/1")).ok());
  Settle(ioc);  // the server's FIN reaches the pooled socket
  REQUIRE(server.closed == 1);
  auto r = Send(ioc, *client, Get(server.Url() + "/2"));
  REQUIRE(r.ok());
  auto s = client->stats();
  CHECK(s.stale_replaced == 1);
  CHECK(s.connections_opened == 2);
  CHECK(s.connections_reused == 0);  // found stale before use
  CHECK(server.seen.size() == 2);
}

TEST_CASE("A reused connection that dies before any response byte retries a GET once",
          "[http_client][pool]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kCloseOnSecondRequest);
  auto client = NewClient(ioc);
  REQUIRE(Send(ioc, *client, Get(server.Url() + "/1")).ok());
  auto r = Send(ioc, *client, Get(server.Url() + "/2"));
  REQUIRE(r.ok());
  CHECK(*r->FindHeader("X-Target") == "/2");
  auto s = client->stats();
  CHECK(s.stale_replaced == 1);
  CHECK(s.connections_opened == 2);
  CHECK(server.seen.size() == 3);  // /1, /2 lost with the old connection, /2 again
}

HttpRequest Write(const std::string& method, const std::string& url) {
  HttpRequest r;
  r.method = method;
  r.url = url;
  r.SetHeader("Content-Type", "application/json");
  r.body = R"({"name":"jobs/migrate"})";
  return r;
}

TEST_CASE("A write whose bytes were sent is never sent again: its outcome is unknown",
          "[http_client][pool][idempotency]") {
  for (const std::string method : {"POST", "PATCH", "PUT", "DELETE"}) {
    INFO(method);
    asio::io_context ioc;
    TestServer server(ioc, Behavior::kCloseOnSecondRequest);
    auto client = NewClient(ioc);
    REQUIRE(Send(ioc, *client, Get(server.Url() + "/warm")).ok());  // pools the connection
    auto r = Send(ioc, *client, Write(method, server.Url() + "/v2/jobs/migrate:run"));
    REQUIRE_FALSE(r.ok());
    INFO(r.status().message());
    CHECK(r.status().code() == StatusCode::kUnavailable);
    CHECK(Contains(r.status().message(),
                   "connection closed after the request was sent; outcome unknown"));
    CHECK(r.status().delivery() == RequestDelivery::kSent);
    CHECK(r.status().outcome_unknown());
    Settle(ioc);
    REQUIRE(server.seen.size() == 2);  // the warm-up GET and the write, once
    CHECK(server.seen[1].method == method);
    CHECK(server.accepted == 1);  // no second connection carried it again
    CHECK(client->stats().connections_opened == 1);
  }
}

TEST_CASE("A write on a pooled connection found dead before writing goes out once on a new one",
          "[http_client][pool][idempotency]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kCloseAfterResponse);
  auto client = NewClient(ioc);
  REQUIRE(Send(ioc, *client, Write("POST", server.Url() + "/1")).ok());
  Settle(ioc);  // the server's FIN reaches the pooled socket
  auto r = Send(ioc, *client, Write("POST", server.Url() + "/2"));
  REQUIRE(r.ok());
  CHECK(client->stats().stale_replaced == 1);
  REQUIRE(server.seen.size() == 2);
  CHECK(server.seen[1].target == "/2");
}

TEST_CASE("A fresh connection that dies is not retried", "[http_client][pool]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kCloseOnFirstRequest);
  auto client = NewClient(ioc);
  auto r = Send(ioc, *client, Get(server.Url() + "/once"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kUnavailable);
  CHECK(Contains(r.status().message(), "failed in read"));
  CHECK(r.status().outcome_unknown());
  CHECK(server.seen.size() == 1);
}

TEST_CASE("Connection: close is honoured", "[http_client][pool]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kConnectionClose);
  auto client = NewClient(ioc);
  for (int i = 0; i < 3; ++i) REQUIRE(Send(ioc, *client, Get(server.Url() + "/")).ok());
  auto s = client->stats();
  CHECK(s.connections_opened == 3);
  CHECK(s.connections_reused == 0);
  CHECK(s.stale_replaced == 0);
  CHECK(server.accepted == 3);
}

TEST_CASE("Connections idle past idle_timeout are not reused", "[http_client][pool]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kEcho);
  ClientOptions opts;
  opts.idle_timeout = std::chrono::seconds(0);
  auto client = NewClient(ioc, opts);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(Send(ioc, *client, Get(server.Url() + "/")).ok());
    Settle(ioc, 2ms);
  }
  auto s = client->stats();
  CHECK(s.connections_opened == 3);
  CHECK(s.connections_reused == 0);
  CHECK(s.stale_replaced == 0);
}

TEST_CASE("A caller's Host header replaces the default one", "[http_client]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kEcho);
  auto client = NewClient(ioc);
  HttpRequest req = Get(server.Url() + "/");
  req.SetHeader("host", "sqladmin.googleapis.com");
  REQUIRE(Send(ioc, *client, req).ok());
  CHECK(server.seen.at(0).headers["host"] == "sqladmin.googleapis.com");
}

asio::awaitable<std::vector<StatusOr<HttpResponse>>> SendAll(HttpClient* client,
                                                             std::vector<HttpRequest> reqs,
                                                             Deadlines d) {
  auto ex = co_await asio::this_coro::executor;
  std::vector<std::future<std::optional<StatusOr<HttpResponse>>>> futures;
  for (auto& r : reqs) {
    futures.push_back(
        asio::co_spawn(ex, Optional(client->Send(std::move(r), d)), asio::use_future));
  }
  std::vector<StatusOr<HttpResponse>> out;
  for (auto& f : futures) {
    // Yield until each finishes; everything runs on this one thread.
    while (f.wait_for(0s) != std::future_status::ready) {
      asio::steady_timer t(ex, 1ms);
      co_await t.async_wait(kUseTuple);
    }
    out.push_back(*f.get());
  }
  co_return out;
}

TEST_CASE("The retry uses a fresh connection and never another pooled one", "[http_client][pool]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kCloseOnSecondRequest);
  auto client = NewClient(ioc);
  // Two concurrent requests leave two idle connections, each of which the
  // server will drop on its next request.
  std::vector<HttpRequest> reqs{Get(server.Url() + "/a"), Get(server.Url() + "/b")};
  for (auto& r : Run(ioc, SendAll(client.get(), std::move(reqs), Short()))) REQUIRE(r.ok());
  REQUIRE(client->stats().connections_opened == 2);
  auto r = Send(ioc, *client, Get(server.Url() + "/c"));
  INFO(r.status().message());
  INFO("opened " << client->stats().connections_opened << " stale "
                 << client->stats().stale_replaced << " seen " << server.seen.size()
                 << " accepted " << server.accepted);
  REQUIRE(r.ok());
  auto s = client->stats();
  CHECK(s.connections_opened == 3);
  CHECK(s.stale_replaced == 1);
  CHECK(server.seen.size() == 4);
}

TEST_CASE("max_connections_per_host bounds concurrent connections", "[http_client][pool]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kEcho);
  ClientOptions opts;
  opts.max_connections_per_host = 2;
  auto client = NewClient(ioc, opts);
  std::vector<HttpRequest> reqs;
  for (int i = 0; i < 6; ++i) reqs.push_back(Get(server.Url() + "/c/" + std::to_string(i)));
  auto results = Run(ioc, SendAll(client.get(), std::move(reqs), Short()));
  for (auto& r : results) CHECK(r.ok());
  CHECK(client->stats().connections_opened <= 2);
  CHECK(server.accepted <= 2);
}

TEST_CASE("Waiting for a pooled connection is bounded by the connect deadline",
          "[http_client][pool][deadline]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kReadNoReply);
  ClientOptions opts;
  opts.max_connections_per_host = 1;
  auto client = NewClient(ioc, opts);
  Deadlines d = Short();
  d.connect = 200ms;
  d.read = 600ms;
  std::vector<HttpRequest> reqs{Get(server.Url() + "/a"), Get(server.Url() + "/b")};
  auto results = Run(ioc, SendAll(client.get(), std::move(reqs), d));
  REQUIRE(results.size() == 2);
  CHECK(Contains(results[0].status().message(), "timed out in read"));
  CHECK(Contains(results[1].status().message(), "timed out in pool-wait"));
  CHECK(server.accepted == 1);
}

// ---------------------------------------------------------------------------
// Proxies

TEST_CASE("HTTPS goes through an HTTPS_PROXY CONNECT tunnel", "[http_client][proxy]") {
  Pki pki;
  asio::io_context ioc;
  auto tls = ServerTls(pki.server);
  TestServer server(ioc, Behavior::kEcho, tls.get());
  TestProxy proxy(ioc, /*reject=*/false);
  ClientOptions opts;
  opts.ca_file = pki.ca_file.path();
  opts.proxy = ProxyConfig::FromValues(
      "http://alice:s3cret@127.0.0.1:" + std::to_string(proxy.port()), "", "");
  auto client = NewClient(ioc, opts);

  auto r = Send(ioc, *client, Get(server.Url("localhost") + "/tunnelled"));
  REQUIRE(r.ok());
  CHECK(*r->FindHeader("X-Target") == "/tunnelled");
  REQUIRE(proxy.request_lines.size() == 1);
  CHECK(proxy.request_lines[0] ==
        "CONNECT localhost:" + std::to_string(server.port()) + " HTTP/1.1");
  CHECK(proxy.authorizations[0] == "Basic YWxpY2U6czNjcmV0");
  // The origin never sees proxy credentials.
  CHECK(server.seen.at(0).headers.count("proxy-authorization") == 0);
  // The tunnel is pooled like any connection.
  REQUIRE(Send(ioc, *client, Get(server.Url("localhost") + "/again")).ok());
  CHECK(proxy.request_lines.size() == 1);
}

TEST_CASE("NO_PROXY sends matching hosts direct", "[http_client][proxy]") {
  asio::io_context ioc;
  TestServer server(ioc, Behavior::kEcho);
  TestProxy proxy(ioc, /*reject=*/false);
  std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());
  ClientOptions opts;
  opts.proxy = ProxyConfig::FromValues(proxy_url, proxy_url, "example.com,127.0.0.1");
  auto client = NewClient(ioc, opts);
  auto r = Send(ioc, *client, Get(server.Url() + "/direct"));
  REQUIRE(r.ok());
  CHECK(*r->FindHeader("X-Target") == "/direct");
  CHECK(proxy.request_lines.empty());
}

TEST_CASE("Plain HTTP through HTTP_PROXY uses the absolute form", "[http_client][proxy]") {
  asio::io_context ioc;
  TestServer proxy_as_origin(ioc, Behavior::kEcho);  // records what a proxy receives
  ClientOptions opts;
  opts.proxy = ProxyConfig::FromValues(
      "", "http://bob:pw@127.0.0.1:" + std::to_string(proxy_as_origin.port()), "");
  auto client = NewClient(ioc, opts);
  auto r = Send(ioc, *client, Get("http://metadata.invalid:8080/computeMetadata/v1/x?a=b"));
  REQUIRE(r.ok());
  CHECK(*r->FindHeader("X-Target") == "http://metadata.invalid:8080/computeMetadata/v1/x?a=b");
  CHECK(proxy_as_origin.seen.at(0).headers["host"] == "metadata.invalid:8080");
  CHECK(proxy_as_origin.seen.at(0).headers["proxy-authorization"] ==
        "Basic " + Base64Encode("bob:pw"));
}

TEST_CASE("Proxy credentials never appear in errors", "[http_client][proxy]") {
  asio::io_context ioc;
  TestProxy rejecting(ioc, /*reject=*/true);
  uint16_t dead_port;
  {
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    dead_port = a.local_endpoint().port();
  }
  for (uint16_t port : {rejecting.port(), dead_port}) {
    ClientOptions opts;
    opts.proxy = ProxyConfig::FromValues(
        "http://alice:s3cret@127.0.0.1:" + std::to_string(port), "", "");
    auto client = NewClient(ioc, opts);
    auto r = Send(ioc, *client, Get("https://sqladmin.googleapis.com/v1/projects"));
    REQUIRE_FALSE(r.ok());
    INFO(r.status().message());
    CHECK(r.status().code() == StatusCode::kUnavailable);
    CHECK(Contains(r.status().message(), "sqladmin.googleapis.com:443"));
    CHECK(Contains(r.status().message(), "proxy 127.0.0.1:" + std::to_string(port)));
    CHECK_FALSE(Contains(r.status().ToString(), "s3cret"));
    CHECK_FALSE(Contains(r.status().ToString(), "alice"));
    CHECK_FALSE(Contains(r.status().ToString(), Base64Encode("alice:s3cret")));
  }
  REQUIRE(rejecting.request_lines.size() == 1);
  CHECK(rejecting.request_lines[0] == "CONNECT sqladmin.googleapis.com:443 HTTP/1.1");
}

TEST_CASE("An invalid proxy config is refused and never ignored", "[http_client][proxy]") {
  asio::io_context ioc;
  ClientOptions opts;
  opts.proxy = ProxyConfig::FromValues("socks5://u:hidden@p:1080", "", "");
  auto c = MakeHttpClient(ioc.get_executor(), opts);
  CHECK(c.status().code() == StatusCode::kInvalidArgument);
  CHECK_FALSE(Contains(c.status().message(), "hidden"));
}

}  // namespace
}  // namespace dbconnd::net
