// gcp-emulator: the emulator as a standalone process.
//   gcp-emulator --listen 127.0.0.1:PORT [--state FILE] [--seed incident|fleet:N]
//                [--tls-cert F --tls-key F] [--op-delay 200ms] [--no-auth]
//                [--accept-token T]
// Prints "gcp-emulator listening on URL" once ready; SIGINT/SIGTERM stop it.

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <CLI/CLI.hpp>
#include <charconv>
#include <csignal>
#include <iostream>

#include "emulator/emulator_server.h"

namespace {

// "200ms", "5s", "2m", "1h"; a bare number is milliseconds.
bool ParseDuration(const std::string& s, std::chrono::milliseconds* out) {
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || v < 0) return false;
  std::string unit(p, s.data() + s.size());
  if (unit.empty() || unit == "ms") *out = std::chrono::milliseconds(v);
  else if (unit == "s") *out = std::chrono::seconds(v);
  else if (unit == "m") *out = std::chrono::minutes(v);
  else if (unit == "h") *out = std::chrono::hours(v);
  else return false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Local emulator of the Google Cloud APIs dbconnd uses"};
  dbconnd::emulator::EmulatorOptions opts;
  std::string op_delay = "200ms";
  app.add_option("--listen", opts.listen, "host:port to listen on (port 0 = any free port)");
  app.add_option("--state", opts.state_file, "persist state to this file (reloaded on start)");
  app.add_option("--seed", opts.model.seed, "initial state: incident, fleet:N or empty");
  app.add_option("--tls-cert", opts.tls_cert_file, "PEM certificate chain for HTTPS");
  app.add_option("--tls-key", opts.tls_key_file, "PEM private key for HTTPS");
  app.add_option("--op-delay", op_delay, "time a long-running operation takes (e.g. 200ms, 2m)");
  app.add_flag("--no-auth", opts.model.no_auth, "accept API calls without a bearer token");
  app.add_option("--accept-token", opts.model.accept_token, "also accept this static bearer token");
  CLI11_PARSE(app, argc, argv);
  if (!ParseDuration(op_delay, &opts.model.op_delay)) {
    std::cerr << "gcp-emulator: bad --op-delay '" << op_delay << "' (want e.g. 200ms, 5s, 2m)\n";
    return 2;
  }
  boost::asio::io_context ioc;
  auto server = dbconnd::emulator::EmulatorServer::Start(ioc.get_executor(), opts);
  if (!server.ok()) {
    std::cerr << "gcp-emulator: " << server.status().message() << "\n";
    return 1;
  }
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    (*server)->Stop();
    ioc.stop();
  });
  std::cout << "gcp-emulator listening on " << (*server)->base_url() << std::endl;
  ioc.run();
  return 0;
}
