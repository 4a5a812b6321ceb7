// gcp-emulator: the emulator as a standalone process.
//   gcp-emulator --listen 127.0.0.1:PORT [--state FILE] [--seed incident|incident-direct-vpc|fleet:N|empty]
//                [--tls-cert F --tls-key F] [--op-delay 200ms] [--no-auth]
//                [--accept-token T]
// Prints "gcp-emulator listening on URL" once ready; SIGINT/SIGTERM stop it.

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "common/duration.h"
#include "emulator/emulator_server.h"

int main(int argc, char** argv) {
  CLI::App app{"Local emulator of the Google Cloud APIs dbconnd uses"};
  dbconnd::emulator::EmulatorOptions opts;
  std::string op_delay = "200ms";
  app.add_option("--listen", opts.listen, "host:port to listen on (port 0 = any free port)");
  app.add_option("--state", opts.state_file, "persist state to this file (reloaded on start)");
  app.add_option("--seed", opts.model.seed, "initial state: incident, incident-direct-vpc, fleet:N or empty");
  app.add_option("--tls-cert", opts.tls_cert_file, "PEM certificate chain for HTTPS");
  app.add_option("--tls-key", opts.tls_key_file, "PEM private key for HTTPS");
  app.add_option("--op-delay", op_delay, "time a long-running operation takes (e.g. 200ms, 2m)");
  app.add_flag("--no-auth", opts.model.no_auth, "accept API calls without a bearer token");
  app.add_option("--accept-token", opts.model.accept_token, "also accept this static bearer token");
  CLI11_PARSE(app, argc, argv);
  auto delay = dbconnd::ParseDuration(
      op_delay, "--op-delay", {std::chrono::milliseconds(0), std::chrono::hours(1)});
  if (!delay.ok()) {
    std::cerr << "gcp-emulator: " << delay.status().message() << "\n";
    return 2;
  }
  opts.model.op_delay = *delay;
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
