#pragma once
// The one seam between gcp/ and the HTTP transport. gcp/ only needs the
// abstract client; the concrete Beast client comes from net/http_client.h.
// Until that header lands, the interface is declared here with the exact
// signature net/ publishes, so nothing above has to change when it does.

#include <boost/asio/awaitable.hpp>

#include "common/status.h"
#include "net/http.h"

namespace dbconnd::net {

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Sends one request; any HTTP status is a value (only transport failures
  // are errors: UNAVAILABLE for connection problems, DEADLINE_EXCEEDED for
  // timeouts).
  virtual boost::asio::awaitable<StatusOr<HttpResponse>> Send(HttpRequest request,
                                                              Deadlines deadlines) = 0;
};

}  // namespace dbconnd::net
