#include "net/http_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <thread>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using dbconnd::net::HttpRequest;
using dbconnd::net::HttpResponse;
using dbconnd::net::HttpServer;
using dbconnd::net::ServerOptions;

namespace {

asio::awaitable<HttpResponse> EchoHandler(HttpRequest req) {
  HttpResponse r;
  if (req.url == "/throw") throw std::runtime_error("boom");
  if (req.url == "/reset") {
    r.SetHeader("X-Emulator-Reset", "1");
    co_return r;
  }
  if (req.url == "/slow") r.SetHeader("X-Emulator-Slow-Body-Ms", "50");
  r.SetHeader("Content-Type", "text/plain");
  r.body = req.method + " " + req.url + " " + req.body;
  co_return r;
}

// Runs the server on a background io_context; the test talks to it with
// blocking sockets.
struct Fixture {
  asio::io_context ioc;
  std::unique_ptr<HttpServer> server;
  std::thread thread;
  explicit Fixture(ServerOptions opts = {}) {
    auto s = HttpServer::Start(ioc.get_executor(), std::move(opts), EchoHandler);
    REQUIRE(s.ok());
    server = std::move(*s);
    thread = std::thread([this] { ioc.run(); });
  }
  ~Fixture() {
    server->Stop();
    server.reset();
    thread.join();
  }
  tcp::socket Connect() {
    tcp::socket sock(client_ioc);
    sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server->port()));
    return sock;
  }
  asio::io_context client_ioc;
};

bhttp::response<bhttp::string_body> RoundTrip(tcp::socket& sock, beast::flat_buffer& buf,
                                              bhttp::verb verb, std::string target,
                                              std::string body = "") {
  bhttp::request<bhttp::string_body> req{verb, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  req.body() = std::move(body);
  req.prepare_payload();
  bhttp::write(sock, req);
  bhttp::response<bhttp::string_body> resp;
  bhttp::read(sock, buf, resp);
  return resp;
}

}  // namespace

TEST_CASE("server answers several requests on one keep-alive connection") {
  Fixture f;
  auto sock = f.Connect();
  beast::flat_buffer buf;
  auto r1 = RoundTrip(sock, buf, bhttp::verb::get, "/a");
  CHECK(r1.result_int() == 200);
  CHECK(r1.body() == "GET /a ");
  auto r2 = RoundTrip(sock, buf, bhttp::verb::post, "/b?x=1", "hello");
  CHECK(r2.body() == "POST /b?x=1 hello");
  CHECK(r2.keep_alive());
  CHECK(f.server->address() == "127.0.0.1:" + std::to_string(f.server->port()));
  CHECK(f.server->url().rfind("http://127.0.0.1:", 0) == 0);
}

TEST_CASE("server rejects an oversized body with 413") {
  ServerOptions opts;
  opts.max_body_bytes = 16;
  Fixture f(opts);
  auto sock = f.Connect();
  beast::flat_buffer buf;
  auto r = RoundTrip(sock, buf, bhttp::verb::post, "/big", std::string(100, 'x'));
  CHECK(r.result_int() == 413);
}

TEST_CASE("server rejects an oversized request head with 431") {
  ServerOptions opts;
  opts.max_header_bytes = 1024;
  Fixture f(opts);
  auto sock = f.Connect();
  beast::flat_buffer buf;
  bhttp::request<bhttp::string_body> req{bhttp::verb::get, "/a", 11};
  req.set(bhttp::field::host, "127.0.0.1");
  req.set("X-Big", std::string(4096, 'h'));
  bhttp::write(sock, req);
  bhttp::response<bhttp::string_body> resp;
  bhttp::read(sock, buf, resp);
  CHECK(resp.result_int() == 431);
  CHECK_FALSE(resp.keep_alive());
  // A head under the limit is served.
  auto sock2 = f.Connect();
  CHECK(RoundTrip(sock2, buf, bhttp::verb::get, "/small").result_int() == 200);
}

TEST_CASE("server refuses connections beyond max_connections with 503 and frees slots") {
  ServerOptions opts;
  opts.max_connections = 2;
  Fixture f(opts);
  beast::flat_buffer buf;
  auto a = f.Connect();
  auto b = f.Connect();
  REQUIRE(RoundTrip(a, buf, bhttp::verb::get, "/a").result_int() == 200);
  REQUIRE(RoundTrip(b, buf, bhttp::verb::get, "/b").result_int() == 200);
  {
    auto c = f.Connect();
    beast::flat_buffer cbuf;
    bhttp::request<bhttp::string_body> req{bhttp::verb::get, "/c", 11};
    req.set(bhttp::field::host, "127.0.0.1");
    beast::error_code wec;
    bhttp::write(c, req, wec);  // the server may already have closed it
    bhttp::response<bhttp::string_body> resp;
    bhttp::read(c, cbuf, resp);
    CHECK(resp.result_int() == 503);
    CHECK(resp.body() == "too many connections (limit 2)\n");
    CHECK(resp["Retry-After"] == "1");
    CHECK_FALSE(resp.keep_alive());
  }
  // The two sessions still work, and closing one frees its slot.
  CHECK(RoundTrip(a, buf, bhttp::verb::get, "/a2").result_int() == 200);
  b.close();
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto d = f.Connect();
    beast::flat_buffer dbuf;
    bhttp::request<bhttp::string_body> req{bhttp::verb::get, "/d", 11};
    req.set(bhttp::field::host, "127.0.0.1");
    beast::error_code ec;
    bhttp::write(d, req, ec);
    bhttp::response<bhttp::string_body> resp;
    bhttp::read(d, dbuf, resp, ec);
    if (!ec) status = resp.result_int();
  }
  CHECK(status == 200);
}

TEST_CASE("server answers garbage with 400 and a handler exception with 500") {
  Fixture f;
  {
    auto sock = f.Connect();
    asio::write(sock, asio::buffer(std::string("NOT A REQUEST\r\n\r\n")));
    beast::flat_buffer buf;
    bhttp::response<bhttp::string_body> resp;
    bhttp::read(sock, buf, resp);
    CHECK(resp.result_int() == 400);
  }
  auto sock = f.Connect();
  beast::flat_buffer buf;
  CHECK(RoundTrip(sock, buf, bhttp::verb::get, "/throw").result_int() == 500);
  // The server survives and keeps serving.
  auto sock2 = f.Connect();
  CHECK(RoundTrip(sock2, buf, bhttp::verb::get, "/ok").result_int() == 200);
}

TEST_CASE("reset header closes the connection without a response") {
  Fixture f;
  auto sock = f.Connect();
  bhttp::request<bhttp::string_body> req{bhttp::verb::get, "/reset", 11};
  req.set(bhttp::field::host, "x");
  bhttp::write(sock, req);
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> resp;
  beast::error_code ec;
  bhttp::read(sock, buf, resp, ec);
  CHECK(ec);
  CHECK(resp.body().empty());
}

TEST_CASE("slow body header delays the body but delivers it") {
  Fixture f;
  auto sock = f.Connect();
  beast::flat_buffer buf;
  auto r = RoundTrip(sock, buf, bhttp::verb::get, "/slow");
  CHECK(r.result_int() == 200);
  CHECK(r.body() == "GET /slow ");
  CHECK(r.find("X-Emulator-Slow-Body-Ms") == r.end());
}

TEST_CASE("Stop closes idle keep-alive sessions") {
  Fixture f;
  auto sock = f.Connect();
  beast::flat_buffer buf;
  CHECK(RoundTrip(sock, buf, bhttp::verb::get, "/a").result_int() == 200);
  f.server->Stop();
  char c;
  beast::error_code ec;
  sock.read_some(asio::buffer(&c, 1), ec);
  CHECK(ec);
}

TEST_CASE("bad listen address is an error, not a crash") {
  asio::io_context ioc;
  ServerOptions opts;
  opts.listen = "nonsense";
  auto s = HttpServer::Start(ioc.get_executor(), opts, EchoHandler);
  CHECK_FALSE(s.ok());
}
