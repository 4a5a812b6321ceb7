#pragma once
// gcp-private: the one HTTP+JSON call path every typed REST client shares.
// Per call it takes a rate-limit token, attaches the bearer token, encodes
// and decodes JSON, maps errors to Status (status_mapping.h) and applies the
// retry policy to reads (retry.h). Mutations are sent exactly once, and
// only if the write fence (RestOptions::write_fence, write_fence.h) admits
// them right before their bytes go out; their deadline is capped at the
// Lease's validity. A 401 drops the token and resends once (nothing was
// applied).

#include <boost/json/value.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "gcp/api.h"
#include "gcp/auth.h"
#include "gcp/http_transport.h"
#include "gcp/rate_limiter.h"
#include "gcp/rest_clients.h"
#include "gcp/retry.h"

namespace dbconnd::gcp {

struct RestCall {
  Api api = Api::kSqlAdmin;
  Bucket bucket = Bucket::kGet;
  CallKind kind = CallKind::kRead;
  std::string method = "GET";
  std::string url;  // absolute
  std::optional<boost::json::value> body;
  // Names the call in messages: "sqladmin instances.get p/i". No secrets.
  std::string what;
  // The API method for telemetry ("instances.get"): a string literal, so
  // the label vocabulary stays fixed whatever the resource names are.
  std::string_view rpc;
  // Decode the reply into one arena owned by the returned value (a list
  // page: megabytes of short-lived JSON that would otherwise be freed as
  // tens of thousands of small holes among the long-lived data parsed
  // from it). Values copied out of it must name their own storage.
  bool arena = false;
};

class RestClient {
 public:
  RestClient(std::shared_ptr<net::HttpClient> http, std::shared_ptr<TokenSource> tokens,
             std::shared_ptr<RateLimiter> limiter, RestOptions options);

  // The decoded JSON reply (an empty object for an empty 2xx body).
  Task<StatusOr<boost::json::value>> Call(RestCall call);

  // Follows nextPageToken (query parameter `pageToken`) to the end, handing
  // each element of every page's `items_field` array to `each` as the page
  // arrives; a page's JSON is freed before the next is read (a region's
  // list is megabytes of JSON per 500 items). Bounded by max_pages.
  Task<Status> ListEach(RestCall first, std::string items_field,
                        std::function<void(const boost::json::value&)> each);

  // Call, then decode a 2xx reply with `parse` (T(const json::value&)).
  template <typename Parse>
  auto CallParsed(RestCall call, Parse parse)
      -> Task<StatusOr<std::invoke_result_t<Parse&, const boost::json::value&>>>;

  // A method that starts a long-running operation: the reply decoded by
  // `parse`, then checked by StartedBy (types.h) under the call's rpc.
  template <typename Parse>
  Task<StatusOr<Operation>> CallForOperation(RestCall call, Parse parse);

  // ListEach collected into one vector, each element decoded by `parse`.
  template <typename Parse>
  auto ListAll(RestCall first, std::string items_field, Parse parse)
      -> Task<StatusOr<std::vector<std::invoke_result_t<Parse&, const boost::json::value&>>>>;

  const RestOptions& options() const { return options_; }

 private:
  std::shared_ptr<net::HttpClient> http_;
  std::shared_ptr<TokenSource> tokens_;
  std::shared_ptr<RateLimiter> limiter_;
  RestOptions options_;
  RetryPolicy policy_;
};

// What every typed client over RestClient holds: the shared call path and
// the root URL of its API (Endpoints). Clients derive from it and inherit
// its constructor.
class RestStub {
 public:
  RestStub(std::shared_ptr<RestClient> rest, std::string root)
      : rest_(std::move(rest)), root_(std::move(root)) {}

 protected:
  // operations.get of a google.longrunning.Operation by its full name (Run,
  // VPC Access, Service Networking): GET <root>/<version>/<name>, named
  // "<service> operations.get <name>" in messages.
  Task<StatusOr<Operation>> GetLongRunningOperation(Api api, std::string_view version,
                                                    std::string_view service,
                                                    const std::string& name) const;

  std::shared_ptr<RestClient> rest_;
  std::string root_;
};

// The calls every client makes, by what they do: a read of one resource, a
// list (its own rate-limit bucket), and a mutation (sent once, fenced).
RestCall ReadCall(Api api, std::string url, std::string what, std::string_view rpc);
RestCall ListCall(Api api, std::string url, std::string what, std::string_view rpc);
RestCall MutationCall(Api api, std::string method, std::string url, std::string what,
                      std::string_view rpc);

// Builds root + "/" + path + "?k=v&..." with query values percent-encoded.
std::string BuildUrl(std::string_view root, std::string_view path,
                     const std::vector<std::pair<std::string, std::string>>& query = {});
std::string AppendQuery(std::string_view url, std::string_view key, std::string_view value);
// Percent-encodes one path segment (IDs); '/' is encoded too.
std::string EncodeSegment(std::string_view segment);

// LocationName (resource_names.h) with both segments encoded, for a URL.
std::string EncodedLocationName(std::string_view project, std::string_view region);

// Implementations over RestClient (gcp/*_rest.cc).
std::unique_ptr<SqlAdmin> MakeSqlAdminRest(std::shared_ptr<RestClient> rest, std::string root);
std::unique_ptr<CloudRun> MakeCloudRunRest(std::shared_ptr<RestClient> rest, std::string root);
std::unique_ptr<VpcAccess> MakeVpcAccessRest(std::shared_ptr<RestClient> rest, std::string root);
std::unique_ptr<ServiceNetworking> MakeServiceNetworkingRest(std::shared_ptr<RestClient> rest,
                                                             std::string root);
std::unique_ptr<Compute> MakeComputeRest(std::shared_ptr<RestClient> rest, std::string root);
std::unique_ptr<SecretManager> MakeSecretManagerRest(std::shared_ptr<RestClient> rest,
                                                     std::string root);
std::unique_ptr<ResourceManager> MakeResourceManagerRest(std::shared_ptr<RestClient> rest,
                                                         std::string root);

// Shared parsing of google.longrunning.Operation (Run, VPC Access, Service
// Networking).
Operation ParseLongRunningOperation(const boost::json::value& v, Api api);

// ParseLongRunningOperation for one API, as a parser for CallParsed.
template <Api kApi>
Operation ParseLro(const boost::json::value& v) {
  return ParseLongRunningOperation(v, kApi);
}

// An operation's error.errors[] as Compute and Cloud SQL both send it:
// the first entry's code and every message joined with "; ".
struct OperationErrors {
  std::string code;
  std::string message;
};
// Makes a failed operation's Status from the operation's JSON object (each
// API says more in fields of its own) and its error.errors[].
using OperationFailure = Status (*)(const boost::json::object& op, OperationErrors errors);

// The operation both Compute and Cloud SQL send (compute#operation,
// sql#operation): name, operationType, status PENDING/RUNNING/DONE, the
// target in `target_field`, and error.errors[] (DONE + error = failed, the
// Status made by `failed`). The project is not in its short name: it rides
// along.
Operation ParseStatusOperation(const boost::json::value& v, Api api, std::string project,
                               std::string_view target_field, OperationFailure failed);


template <typename Parse>
auto RestClient::CallParsed(RestCall call, Parse parse)
    -> Task<StatusOr<std::invoke_result_t<Parse&, const boost::json::value&>>> {
  auto reply = co_await Call(std::move(call));
  if (!reply.ok()) co_return reply.status();
  co_return parse(*reply);
}

template <typename Parse>
Task<StatusOr<Operation>> RestClient::CallForOperation(RestCall call, Parse parse) {
  const std::string_view rpc = call.rpc;  // a string literal: outlives the call
  auto reply = co_await Call(std::move(call));
  if (!reply.ok()) co_return reply.status();
  co_return StartedBy(parse(*reply), rpc);
}

template <typename Parse>
auto RestClient::ListAll(RestCall first, std::string items_field, Parse parse)
    -> Task<StatusOr<std::vector<std::invoke_result_t<Parse&, const boost::json::value&>>>> {
  std::vector<std::invoke_result_t<Parse&, const boost::json::value&>> out;
  std::function<void(const boost::json::value&)> each = [&out, &parse](
                                                            const boost::json::value& item) {
    out.push_back(parse(item));
  };
  Status listed = co_await ListEach(std::move(first), std::move(items_field), std::move(each));
  if (!listed.ok()) co_return listed;
  co_return out;
}

}  // namespace dbconnd::gcp
