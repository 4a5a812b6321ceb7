#include "k8s/lease_client.h"

#include <boost/json.hpp>

#include "common/redact.h"
#include "common/rfc3339.h"

namespace dbconnd::k8s {
namespace json = boost::json;
namespace {

constexpr char kLeasesPrefix[] = "/apis/coordination.k8s.io/v1/namespaces/";

std::string LeasesPath(const std::string& ns) { return kLeasesPrefix + ns + "/leases"; }

const json::object* GetObject(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_object()) return nullptr;
  return &it->value().as_object();
}

std::string GetString(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return "";
  return std::string(it->value().as_string());
}

int GetInt(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return 0;
  if (it->value().is_int64()) return static_cast<int>(it->value().as_int64());
  if (it->value().is_uint64()) return static_cast<int>(it->value().as_uint64());
  return 0;
}

}  // namespace

std::string FormatMicroTime(WallTime t) { return FormatRfc3339(t, 6); }

StatusOr<WallTime> ParseMicroTime(std::string_view s) {
  auto t = ParseRfc3339(s);
  if (!t) return InvalidArgumentError("not an RFC 3339 time: \"" + CapForDisplay(s) + "\"");
  return *t;
}

StatusOr<Lease> ParseLease(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return InvalidArgumentError("Lease response is not a JSON object");
  const json::object& o = v.as_object();
  Lease lease;
  if (const auto* md = GetObject(o, "metadata")) {
    lease.name = GetString(*md, "name");
    lease.ns = GetString(*md, "namespace");
    lease.resource_version = GetString(*md, "resourceVersion");
  }
  if (const auto* spec = GetObject(o, "spec")) {
    lease.spec.holder_identity = GetString(*spec, "holderIdentity");
    lease.spec.lease_duration_seconds = GetInt(*spec, "leaseDurationSeconds");
    lease.spec.lease_transitions = GetInt(*spec, "leaseTransitions");
    for (auto [key, field] : {std::pair{"acquireTime", &lease.spec.acquire_time},
                              std::pair{"renewTime", &lease.spec.renew_time}}) {
      std::string t = GetString(*spec, key);
      if (t.empty()) continue;
      auto parsed = ParseMicroTime(t);
      if (!parsed.ok()) return std::move(parsed).status();
      *field = *parsed;
    }
  }
  lease.raw = std::string(text);
  return lease;
}

std::string SerializeLease(const Lease& lease) {
  json::object o;
  if (!lease.raw.empty()) {
    json::error_code ec;
    json::value v = json::parse(lease.raw, ec);
    if (!ec && v.is_object()) o = std::move(v.as_object());
  }
  o["apiVersion"] = "coordination.k8s.io/v1";
  o["kind"] = "Lease";
  if (!o["metadata"].is_object()) o["metadata"] = json::object();
  json::object& md = o["metadata"].as_object();
  md["name"] = lease.name;
  md["namespace"] = lease.ns;
  if (lease.resource_version.empty()) {
    md.erase("resourceVersion");
  } else {
    md["resourceVersion"] = lease.resource_version;
  }
  if (!o["spec"].is_object()) o["spec"] = json::object();
  json::object& spec = o["spec"].as_object();
  spec["holderIdentity"] = lease.spec.holder_identity;
  spec["leaseDurationSeconds"] = lease.spec.lease_duration_seconds;
  spec["leaseTransitions"] = lease.spec.lease_transitions;
  for (auto [key, field] : {std::pair{"acquireTime", &lease.spec.acquire_time},
                            std::pair{"renewTime", &lease.spec.renew_time}}) {
    if (field->has_value()) {
      spec[key] = FormatMicroTime(**field);
    } else {
      spec.erase(key);
    }
  }
  return json::serialize(o);
}

Status StatusFromApiResponse(const net::HttpResponse& response, std::string_view what) {
  std::string reason;
  std::string message;
  json::error_code ec;
  json::value v = json::parse(response.body, ec);
  if (!ec && v.is_object()) {
    reason = GetString(v.as_object(), "reason");
    message = GetString(v.as_object(), "message");
  }
  if (message.size() > 300) message = message.substr(0, 300) + "...";
  std::string text = std::string(what) + ": HTTP " + std::to_string(response.status);
  if (!reason.empty()) text += " " + reason;
  if (!message.empty()) text += ": " + message;
  StatusCode code;
  switch (response.status) {
    case 401: code = StatusCode::kUnauthenticated; break;
    case 403:
      code = StatusCode::kPermissionDenied;
      text += " (the ServiceAccount's Role needs get, create and update on this Lease)";
      break;
    case 404: code = StatusCode::kNotFound; break;
    case 409:
      code = reason == "AlreadyExists" ? StatusCode::kAlreadyExists : StatusCode::kAborted;
      if (reason.empty()) reason = "Conflict";
      break;
    case 422: code = StatusCode::kInvalidArgument; break;
    case 429: code = StatusCode::kUnavailable; break;
    default:
      code = response.status >= 500 ? StatusCode::kUnavailable : CodeForHttpStatus(response.status);
  }
  return Status(code, std::move(text)).WithHttpStatus(response.status).WithReason(std::move(reason));
}

LeaseClient::LeaseClient(std::shared_ptr<net::HttpClient> http, ClusterConfig config,
                         LeaseClientOptions options)
    : http_(std::move(http)), config_(std::move(config)), options_(options) {}

boost::asio::awaitable<StatusOr<Lease>> LeaseClient::Get(std::string ns, std::string name,
                                                         std::optional<net::Deadlines> deadlines) {
  std::string what = "get lease " + ns + "/" + name;
  co_return co_await Call("GET", LeasesPath(ns) + "/" + name, "", std::move(what),
                          deadlines.value_or(options_.deadlines));
}

boost::asio::awaitable<StatusOr<Lease>> LeaseClient::Create(Lease lease,
                                                            std::optional<net::Deadlines> deadlines) {
  lease.resource_version.clear();
  std::string what = "create lease " + lease.ns + "/" + lease.name;
  std::string path = LeasesPath(lease.ns);
  co_return co_await Call("POST", std::move(path), SerializeLease(lease), std::move(what),
                          deadlines.value_or(options_.deadlines));
}

boost::asio::awaitable<StatusOr<Lease>> LeaseClient::Update(Lease lease,
                                                            std::optional<net::Deadlines> deadlines) {
  std::string what = "update lease " + lease.ns + "/" + lease.name;
  if (lease.resource_version.empty()) {
    co_return FailedPreconditionError(what + ": no resourceVersion (read the lease first)");
  }
  std::string path = LeasesPath(lease.ns) + "/" + lease.name;
  co_return co_await Call("PUT", std::move(path), SerializeLease(lease), std::move(what),
                          deadlines.value_or(options_.deadlines));
}

boost::asio::awaitable<StatusOr<Lease>> LeaseClient::Call(std::string method, std::string path,
                                                          std::string body, std::string what,
                                                          net::Deadlines deadlines) {
  auto token = config_.BearerToken();
  if (!token.ok()) co_return Status(token.status()).Annotate(what);
  net::HttpRequest req;
  req.method = std::move(method);
  req.url = config_.server() + path;
  req.SetHeader("Authorization", "Bearer " + *token);
  req.SetHeader("Accept", "application/json");
  if (!body.empty()) {
    req.SetHeader("Content-Type", "application/json");
    req.body = std::move(body);
  }
  const std::string_view rpc = req.method == "GET"    ? "leases.get"
                              : req.method == "POST" ? "leases.create"
                                                     : "leases.update";
  const auto sent = std::chrono::steady_clock::now();
  auto resp = co_await http_->Send(std::move(req), deadlines);
  if (options_.on_request) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
    if (resp.ok()) {
      options_.on_request(rpc, resp->status, "", seconds);
    } else {
      const StatusCode code = resp.status().code();
      options_.on_request(rpc, 0,
                          code == StatusCode::kDeadlineExceeded ? "timeout"
                          : code == StatusCode::kCancelled      ? "cancelled"
                                                                : "connection_error",
                          seconds);
    }
  }
  if (!resp.ok()) co_return Status(resp.status()).Annotate(what);
  if (resp->status < 200 || resp->status >= 300) {
    co_return StatusFromApiResponse(*resp, what);
  }
  auto lease = ParseLease(resp->body);
  if (!lease.ok()) co_return Status(lease.status()).Annotate(what);
  co_return lease;
}

}  // namespace dbconnd::k8s
