// net_client_bench [requests=20000] [concurrency=1]
// Sends requests through net::HttpClient to an in-process keep-alive HTTP
// server (raw Beast, its own thread) on 127.0.0.1 and reports requests/s,
// latency percentiles and the share of requests that reused a connection.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "net/http_client.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using dbconnd::net::HttpClient;
using dbconnd::net::HttpRequest;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> ServeConnection(tcp::socket sock) {
  beast::tcp_stream stream(std::move(sock));
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    auto [ec, n] = co_await http::async_read(stream, buffer, req, kUseTuple);
    if (ec) co_return;
    http::response<http::string_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "application/json");
    res.body() = R"({"kind":"sql#instance","name":"bench","state":"RUNNABLE"})";
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(stream, res, kUseTuple);
    if (wec || !res.keep_alive()) co_return;
  }
}

asio::awaitable<void> AcceptLoop(tcp::acceptor* acceptor) {
  for (;;) {
    auto [ec, sock] = co_await acceptor->async_accept(kUseTuple);
    if (ec) co_return;
    asio::co_spawn(acceptor->get_executor(), ServeConnection(std::move(sock)), asio::detached);
  }
}

struct WorkerResult {
  int ok = 0;
  int failed = 0;
  std::string first_error;
  std::vector<double> latencies_us;
};

asio::awaitable<void> Worker(HttpClient* client, std::string url, int count, WorkerResult* out) {
  dbconnd::net::Deadlines d;
  d.connect = std::chrono::milliseconds(2000);
  d.total = std::chrono::milliseconds(5000);
  for (int i = 0; i < count; ++i) {
    HttpRequest req;
    req.url = url;
    req.SetHeader("Authorization", "Bearer bench-token");
    auto start = Clock::now();
    auto res = co_await client->Send(std::move(req), d);
    out->latencies_us.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    if (res.ok() && res->status == 200) {
      ++out->ok;
    } else {
      if (out->failed++ == 0) out->first_error = res.ok() ? "non-200" : res.status().ToString();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int total = argc > 1 ? std::atoi(argv[1]) : 20000;
  int concurrency = argc > 2 ? std::atoi(argv[2]) : 1;
  if (total <= 0 || concurrency <= 0) {
    std::fprintf(stderr, "usage: %s [requests>0] [concurrency>0]\n", argv[0]);
    return 2;
  }

  asio::io_context server_ioc;
  tcp::acceptor acceptor(server_ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = acceptor.local_endpoint().port();
  asio::co_spawn(server_ioc, AcceptLoop(&acceptor), asio::detached);
  std::thread server_thread([&server_ioc] { server_ioc.run(); });

  asio::io_context ioc;
  int rc = 0;
  {
    auto client_or = dbconnd::net::MakeHttpClient(ioc.get_executor(), {});
    if (!client_or.ok()) {
      std::fprintf(stderr, "client: %s\n", client_or.status().ToString().c_str());
      server_ioc.stop();
      server_thread.join();
      return 1;
    }
    auto client = *std::move(client_or);
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/v1/projects/p/instances/bench";

    std::vector<WorkerResult> results(concurrency);
    auto start = Clock::now();
    for (int w = 0; w < concurrency; ++w) {
      int count = total / concurrency + (w < total % concurrency ? 1 : 0);
      asio::co_spawn(ioc, Worker(client.get(), url, count, &results[w]), asio::detached);
    }
    ioc.run();
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();

    WorkerResult all;
    for (auto& r : results) {
      all.ok += r.ok;
      all.failed += r.failed;
      if (all.first_error.empty()) all.first_error = r.first_error;
      all.latencies_us.insert(all.latencies_us.end(), r.latencies_us.begin(), r.latencies_us.end());
    }
    std::sort(all.latencies_us.begin(), all.latencies_us.end());
    auto pct = [&all](double p) {
      if (all.latencies_us.empty()) return 0.0;
      size_t i = std::min(all.latencies_us.size() - 1,
                          static_cast<size_t>(p * static_cast<double>(all.latencies_us.size())));
      return all.latencies_us[i];
    };
    auto s = client->stats();
    double reuse = s.requests ? 100.0 * static_cast<double>(s.connections_reused) /
                                    static_cast<double>(s.requests)
                              : 0.0;
    std::printf("net_client_bench: %d requests, concurrency %d, %.3f s\n", total, concurrency,
                seconds);
    std::printf("  requests/s:          %.0f\n", static_cast<double>(total) / seconds);
    std::printf("  latency p50/p99/max: %.0f / %.0f / %.0f us\n", pct(0.50), pct(0.99),
                all.latencies_us.empty() ? 0.0 : all.latencies_us.back());
    std::printf("  connections opened:  %llu\n",
                static_cast<unsigned long long>(s.connections_opened));
    std::printf("  connection reuse:    %.2f %% (%llu of %llu)\n", reuse,
                static_cast<unsigned long long>(s.connections_reused),
                static_cast<unsigned long long>(s.requests));
    std::printf("  stale replaced:      %llu\n", static_cast<unsigned long long>(s.stale_replaced));
    std::printf("  ok/failed:           %d / %d\n", all.ok, all.failed);
    if (all.failed > 0) {
      std::printf("  first error:         %s\n", all.first_error.c_str());
      rc = 1;
    }
  }
  server_ioc.stop();
  server_thread.join();
  return rc;
}
