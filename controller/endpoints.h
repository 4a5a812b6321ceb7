#pragma once
// The daemon's own HTTP port (--listen): /metrics, /healthz, /readyz and
// /status on one net::HttpServer, on the controller's executor.
//
//   /metrics  Prometheus text format 0.0.4 (Metrics::Serialize)
//   /healthz  200 while the controller loop ticks its heartbeat, else 503
//   /readyz   200 once config is loaded, a Google read worked and the first
//             full sync is done, else 503 with the reason
//   /status   the controller's status document (JSON)

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "common/status.h"
#include "controller/controller.h"
#include "controller/metrics.h"
#include "net/http.h"
#include "net/http_server.h"

namespace dbconnd::controller {

// Answers one request; synchronous so tests call it directly. Must run on
// the controller's executor.
net::HttpResponse ServeEndpoint(const net::HttpRequest& request, Controller& controller,
                                Metrics& metrics);

// Both must outlive the server (stop it first).
StatusOr<std::unique_ptr<net::HttpServer>> StartEndpoints(boost::asio::any_io_executor executor,
                                                          std::string listen,
                                                          std::shared_ptr<Controller> controller,
                                                          Metrics* metrics);

}  // namespace dbconnd::controller
