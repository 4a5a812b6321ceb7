// `dbconnd status [--server URL] [--output table|json] [--resources]`:
// fetches a running daemon's /status and prints it kubectl-style.
// Exit 0 when every intent is Ready, 3 when some are not, 1 when the daemon
// cannot be reached.

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <iomanip>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>

#include "cli/cli.h"
#include "cli/status_table.h"
#include "net/http_client.h"

namespace dbconnd::cli {
namespace asio = boost::asio;
namespace json = boost::json;
namespace {

struct StatusOptions {
  std::string server = "http://127.0.0.1:9090";
  std::string output = "table";
  bool resources = false;
};

void StatusFlags(CLI::App& cmd, StatusOptions& o) {
  cmd.add_option("--server", o.server, "The daemon's --listen address as a URL")
      ->capture_default_str();
  cmd.add_option("-o,--output", o.output, "table or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "json"}));
  cmd.add_flag("--resources", o.resources, "Also list every managed resource");
}

asio::awaitable<void> Fetch(std::string url, std::optional<StatusOr<net::HttpResponse>>* out) {
  // Separate statements: GCC 12 mishandles temporaries that live across a
  // co_await in the same full-expression.
  auto executor = co_await asio::this_coro::executor;
  net::ClientOptions options;
  auto client = net::MakeHttpClient(executor, options);
  if (!client.ok()) {
    out->emplace(client.status());
    co_return;
  }
  net::HttpRequest req;
  req.url = std::move(url);
  net::Deadlines d;
  d.connect = std::chrono::seconds(5);
  d.read = std::chrono::seconds(10);
  d.total = std::chrono::seconds(15);
  out->emplace(co_await (*client)->Send(std::move(req), d));
}

int RunStatus(const StatusOptions& opts, CommandContext& ctx) {
  std::string base = opts.server;
  while (!base.empty() && base.back() == '/') base.pop_back();
  asio::io_context io;
  std::optional<StatusOr<net::HttpResponse>> result;
  asio::co_spawn(io, Fetch(base + "/status", &result), asio::detached);
  io.run();
  if (!result || !result->ok()) {
    *ctx.err << "error: cannot reach the daemon at " << base << ": "
             << (result ? result->status().message() : "no answer") << "\n";
    return kExitFailure;
  }
  const net::HttpResponse& r = **result;
  if (r.status != 200) {
    *ctx.err << "error: " << base << "/status answered HTTP " << r.status << "\n";
    return kExitFailure;
  }
  boost::system::error_code ec;
  json::value doc = json::parse(r.body, ec);
  if (ec || !doc.is_object()) {
    *ctx.err << "error: " << base << "/status did not return a JSON object\n";
    return kExitFailure;
  }
  if (opts.output == "json") {
    *ctx.out << r.body << "\n";
  } else {
    *ctx.out << RenderStatusTable(doc.as_object(), opts.resources);
  }
  return AllReady(doc.as_object()) ? kExitOk : 3;
}

}  // namespace

Runner BindStatus(CLI::App& cmd) { return Bind(cmd, StatusFlags, RunStatus); }

}  // namespace dbconnd::cli
