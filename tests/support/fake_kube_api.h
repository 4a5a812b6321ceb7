#pragma once
// A fake Kubernetes API server for coordination.k8s.io/v1 Leases with the
// real server's concurrency rules: every write bumps a global
// resourceVersion, PUT with a stale resourceVersion is 409 Conflict, PUT
// without one is 422, GET of a missing lease is 404, POST of an existing
// one is 409 AlreadyExists, and a bearer token from `tokens` is required.
// Errors are v1 Status objects, as the API server sends them.
//
// Faults: requests carrying a token in `partitioned` fail with 503 (or hang
// for `hang` first), which is what a leader cut off from the API sees.
//
// Shared by k8s_test (driven on the test's own io_context) and the
// integration tests (on a thread of their own: touch the members only from
// that thread, e.g. through asio::post). Start() serves HTTPS when given a
// certificate and key, as a kubeconfig's server must be https://.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "net/http.h"
#include "net/http_server.h"

namespace dbconnd::k8s::testing {

namespace json = boost::json;

class FakeKubeApi {
 public:
  struct Write {
    std::chrono::steady_clock::time_point at;
    std::string method;
    std::string token;
    std::string holder;
    int transitions = 0;
    std::string resource_version;
  };
  struct Call {
    std::string method;
    std::string path;
    std::string token;
    int status = 0;
  };

  std::set<std::string> tokens = {"token-a", "token-b", "token-c"};
  std::set<std::string> partitioned;
  std::chrono::milliseconds hang{0};
  std::vector<Write> writes;
  std::vector<Call> calls;
  std::map<std::string, json::object> leases;  // "ns/name" -> object
  uint64_t resource_version = 1000;

  void Start(boost::asio::any_io_executor ex, std::string tls_cert_file = "",
             std::string tls_key_file = "") {
    net::ServerOptions opts;
    opts.listen = "127.0.0.1:0";
    opts.tls_cert_file = std::move(tls_cert_file);
    opts.tls_key_file = std::move(tls_key_file);
    auto s = net::HttpServer::Start(ex, opts, [this](net::HttpRequest req) {
      return Dispatch(this, std::move(req));
    });
    if (!s.ok()) throw std::runtime_error(s.status().ToString());
    server_ = std::move(*s);
  }
  void Stop() {
    if (server_) server_->Stop();
  }
  std::string url() const { return server_->url(); }

  // The stored spec of a lease, or null.
  const json::object* Spec(const std::string& ns, const std::string& name) const {
    auto it = leases.find(ns + "/" + name);
    if (it == leases.end()) return nullptr;
    return &it->second.at("spec").as_object();
  }
  std::string Holder(const std::string& ns = "default", const std::string& name = "dbconnd") const {
    const json::object* spec = Spec(ns, name);
    if (spec == nullptr || !spec->contains("holderIdentity")) return "";
    return std::string(spec->at("holderIdentity").as_string());
  }
  int Transitions(const std::string& ns = "default", const std::string& name = "dbconnd") const {
    const json::object* spec = Spec(ns, name);
    if (spec == nullptr || !spec->contains("leaseTransitions")) return 0;
    return static_cast<int>(spec->at("leaseTransitions").as_int64());
  }
  // A write by someone else (kubectl annotate, another controller).
  void TouchAnnotation(const std::string& ns, const std::string& name) {
    json::object& o = leases.at(ns + "/" + name);
    o["metadata"].as_object()["annotations"] = json::object{{"touched", std::to_string(++touches_)}};
    o["metadata"].as_object()["resourceVersion"] = std::to_string(++resource_version);
  }

  net::HttpResponse Handle(const net::HttpRequest& req) {
    const std::string token = BearerOf(req);
    net::HttpResponse r = HandleAuthorized(req, token);
    calls.push_back({req.method, req.url, token, r.status});
    return r;
  }

  std::string BearerOf(const net::HttpRequest& req) const {
    const std::string* auth = req.FindHeader("Authorization");
    if (auth == nullptr || auth->rfind("Bearer ", 0) != 0) return "";
    return auth->substr(7);
  }

 private:
  static boost::asio::awaitable<net::HttpResponse> Dispatch(FakeKubeApi* api, net::HttpRequest req) {
    if (api->partitioned.count(api->BearerOf(req)) != 0) {
      api->calls.push_back({req.method, req.url, api->BearerOf(req), 503});
      if (api->hang.count() > 0) {
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
        timer.expires_after(api->hang);
        co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      }
      co_return StatusReply(503, "ServiceUnavailable", "partitioned");
    }
    co_return api->Handle(req);
  }

  static net::HttpResponse StatusReply(int code, const std::string& reason, const std::string& message) {
    json::object o{{"kind", "Status"},  {"apiVersion", "v1"}, {"metadata", json::object()},
                   {"status", "Failure"}, {"message", message}, {"reason", reason},
                   {"code", code}};
    net::HttpResponse r;
    r.status = code;
    r.body = json::serialize(o);
    r.SetHeader("Content-Type", "application/json");
    return r;
  }
  static net::HttpResponse ObjectReply(int code, const json::object& o) {
    net::HttpResponse r;
    r.status = code;
    r.body = json::serialize(o);
    r.SetHeader("Content-Type", "application/json");
    return r;
  }

  net::HttpResponse HandleAuthorized(const net::HttpRequest& req, const std::string& token) {
    if (token.empty() || tokens.count(token) == 0) {
      return StatusReply(401, "Unauthorized", "Unauthorized");
    }
    const std::string prefix = "/apis/coordination.k8s.io/v1/namespaces/";
    if (req.url.rfind(prefix, 0) != 0) return StatusReply(404, "NotFound", "the server could not find the requested resource");
    std::string rest = req.url.substr(prefix.size());  // NS/leases[/NAME]
    auto slash = rest.find('/');
    if (slash == std::string::npos) return StatusReply(404, "NotFound", "not found");
    std::string ns = rest.substr(0, slash);
    rest = rest.substr(slash + 1);
    std::string name;
    if (rest.rfind("leases/", 0) == 0) {
      name = rest.substr(7);
    } else if (rest != "leases") {
      return StatusReply(404, "NotFound", "not found");
    }
    const std::string key = ns + "/" + name;
    auto not_found = [&] {
      return StatusReply(404, "NotFound", "leases.coordination.k8s.io \"" + name + "\" not found");
    };

    if (req.method == "GET" && !name.empty()) {
      auto it = leases.find(key);
      if (it == leases.end()) return not_found();
      return ObjectReply(200, it->second);
    }
    json::error_code ec;
    json::value body = json::parse(req.body, ec);
    if (ec || !body.is_object() || !body.as_object().contains("metadata") ||
        !body.as_object().at("metadata").is_object()) {
      return StatusReply(400, "BadRequest", "body is not a Lease");
    }
    json::object obj = body.as_object();
    json::object& md = obj["metadata"].as_object();
    if (obj.contains("spec") && obj["spec"].is_object()) {
      const json::object& spec = obj["spec"].as_object();
      if (spec.contains("leaseDurationSeconds") && spec.at("leaseDurationSeconds").as_int64() <= 0) {
        return StatusReply(422, "Invalid", "spec.leaseDurationSeconds: must be greater than 0");
      }
    }
    if (req.method == "POST" && name.empty()) {
      if (!md.contains("name")) return StatusReply(422, "Invalid", "metadata.name: Required value");
      name = std::string(md["name"].as_string());
      const std::string k = ns + "/" + name;
      if (leases.count(k) != 0) {
        return StatusReply(409, "AlreadyExists",
                           "leases.coordination.k8s.io \"" + name + "\" already exists");
      }
      if (md.contains("resourceVersion")) {
        return StatusReply(422, "Invalid", "metadata.resourceVersion: must not be set on create");
      }
      md["namespace"] = ns;
      md["uid"] = "uid-" + name;
      return Store(k, std::move(obj), req.method, token, 201);
    }
    if (req.method == "PUT" && !name.empty()) {
      auto it = leases.find(key);
      if (it == leases.end()) return not_found();
      if (!md.contains("resourceVersion") || md["resourceVersion"].as_string().empty()) {
        return StatusReply(422, "Invalid",
                           "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update");
      }
      const auto& stored_rv = it->second.at("metadata").as_object().at("resourceVersion");
      if (md["resourceVersion"] != stored_rv) {
        return StatusReply(409, "Conflict",
                           "Operation cannot be fulfilled on leases.coordination.k8s.io \"" + name +
                               "\": the object has been modified; please apply your changes to the "
                               "latest version and try again");
      }
      return Store(key, std::move(obj), req.method, token, 200);
    }
    return StatusReply(405, "MethodNotAllowed", "method not allowed");
  }

  net::HttpResponse Store(const std::string& key, json::object obj, const std::string& method,
                          const std::string& token, int code) {
    obj["metadata"].as_object()["resourceVersion"] = std::to_string(++resource_version);
    Write w;
    w.at = std::chrono::steady_clock::now();
    w.method = method;
    w.token = token;
    if (obj.contains("spec") && obj["spec"].is_object()) {
      const json::object& spec = obj["spec"].as_object();
      if (spec.contains("holderIdentity")) w.holder = std::string(spec.at("holderIdentity").as_string());
      if (spec.contains("leaseTransitions")) w.transitions = static_cast<int>(spec.at("leaseTransitions").as_int64());
    }
    w.resource_version = std::to_string(resource_version);
    writes.push_back(w);
    leases[key] = obj;
    return ObjectReply(code, obj);
  }

  std::unique_ptr<net::HttpServer> server_;
  int touches_ = 0;
};

}  // namespace dbconnd::k8s::testing
