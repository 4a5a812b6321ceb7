// Emulator throughput: keep-alive GETs over loopback against an in-process
// emulator seeded with fleet:N. Goal (issue 4): >= 5,000 GETs/s on one core,
// so the emulator never bounds a daemon benchmark.
//   emulator_bench [requests=20000] [connections=4] [fleet=60]

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "emulator/emulator_server.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

int main(int argc, char** argv) {
  const int total = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int conns = argc > 2 ? std::atoi(argv[2]) : 4;
  const int fleet = argc > 3 ? std::atoi(argv[3]) : 60;
  dbconnd::emulator::EmulatorOptions opts;
  opts.model.seed = "fleet:" + std::to_string(fleet);
  opts.model.accept_token = "bench";
  asio::io_context server_ioc(1);
  auto server = dbconnd::emulator::EmulatorServer::Start(server_ioc.get_executor(), opts);
  if (!server.ok()) {
    std::fprintf(stderr, "start failed: %s\n", server.status().ToString().c_str());
    return 1;
  }
  // The server gets one thread (one core); clients run on their own threads.
  std::thread server_thread([&] { server_ioc.run(); });
  const uint16_t port = (*server)->port();
  std::vector<std::thread> clients;
  std::vector<int> failures(static_cast<size_t>(conns), 0);
  auto start = std::chrono::steady_clock::now();
  for (int c = 0; c < conns; ++c) {
    clients.emplace_back([&, c] {
      asio::io_context ioc;
      asio::ip::tcp::socket sock(ioc);
      sock.connect({asio::ip::make_address("127.0.0.1"), port});
      beast::flat_buffer buf;
      for (int i = c; i < total; i += conns) {
        int n = i % fleet;
        std::string target = "/v1/projects/fleet-project-" + std::to_string(n % 3 + 1) + "/instances/db-" + std::to_string(n);
        bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
        req.set(bhttp::field::host, "127.0.0.1");
        req.set(bhttp::field::authorization, "Bearer bench");
        bhttp::write(sock, req);
        bhttp::response<bhttp::string_body> resp;
        bhttp::read(sock, buf, resp);
        if (resp.result_int() != 200) ++failures[static_cast<size_t>(c)];
      }
    });
  }
  for (auto& t : clients) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int failed = 0;
  for (int f : failures) failed += f;
  std::printf("emulator_bench: %d GETs over %d keep-alive connections in %.3f s = %.0f GETs/s (%d non-200)\n",
              total, conns, secs, total / secs, failed);
  (*server)->Stop();
  server_ioc.stop();
  server_thread.join();
  return failed == 0 ? 0 : 1;
}
