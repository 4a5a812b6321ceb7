#include "controller/endpoints.h"

#include <boost/asio/awaitable.hpp>

namespace dbconnd::controller {
namespace {

net::HttpResponse Text(int status, std::string body) {
  net::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.SetHeader("Content-Type", "text/plain; charset=utf-8");
  r.SetHeader("Cache-Control", "no-store");
  return r;
}

boost::asio::awaitable<net::HttpResponse> Serve(std::shared_ptr<Controller> controller,
                                                Metrics* metrics, net::HttpRequest request) {
  if ((request.method == "GET" || request.method == "HEAD") &&
      request.url.substr(0, request.url.find('?')) == "/status") {
    // Rendered in slices: 10,000 intents never hold the loop at once.
    net::HttpResponse r = Text(200, co_await controller->StatusJsonSliced());
    r.SetHeader("Content-Type", "application/json");
    co_return r;
  }
  co_return ServeEndpoint(request, *controller, *metrics);
}

}  // namespace

net::HttpResponse ServeEndpoint(const net::HttpRequest& request, Controller& controller,
                                Metrics& metrics) {
  std::string path = request.url.substr(0, request.url.find('?'));
  if (request.method != "GET" && request.method != "HEAD") {
    net::HttpResponse r = Text(405, "method not allowed\n");
    r.SetHeader("Allow", "GET, HEAD");
    return r;
  }
  if (path == "/metrics") {
    net::HttpResponse r = Text(200, metrics.Serialize());
    r.SetHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    return r;
  }
  if (path == "/healthz") {
    return controller.Healthy() ? Text(200, "ok\n")
                                : Text(503, "controller loop has not ticked recently\n");
  }
  if (path == "/readyz") {
    std::string why = controller.NotReadyReason();
    return why.empty() ? Text(200, "ready\n") : Text(503, "not ready: " + why + "\n");
  }
  if (path == "/status") {
    net::HttpResponse r = Text(200, controller.StatusJson());
    r.SetHeader("Content-Type", "application/json");
    return r;
  }
  return Text(404, "not found; try /metrics, /healthz, /readyz or /status\n");
}

StatusOr<std::unique_ptr<net::HttpServer>> StartEndpoints(boost::asio::any_io_executor executor,
                                                          std::string listen,
                                                          std::shared_ptr<Controller> controller,
                                                          Metrics* metrics) {
  net::ServerOptions options;
  options.listen = std::move(listen);
  options.max_body_bytes = 64 * 1024;
  // /metrics, /healthz and /status take no body; probes and a scraper or
  // two are the whole audience.
  options.max_header_bytes = 16 * 1024;
  options.max_connections = 64;
  net::Handler handler = [controller, metrics](net::HttpRequest request) {
    return Serve(controller, metrics, std::move(request));
  };
  return net::HttpServer::Start(executor, options, std::move(handler));
}

}  // namespace dbconnd::controller
