#include "gcp/rest_client.h"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "gcp/json_util.h"
#include "common/percent_encoding.h"
#include "gcp/resource_names.h"
#include "gcp/status_mapping.h"
#include "gcp/telemetry.h"

namespace dbconnd::gcp {

namespace json = boost::json;

std::string EncodeSegment(std::string_view segment) { return common::PercentEncode(segment, ":@"); }

std::string EncodedLocationName(std::string_view project, std::string_view region) {
  return LocationName(EncodeSegment(project), EncodeSegment(region));
}

std::string BuildUrl(std::string_view root, std::string_view path,
                     const std::vector<std::pair<std::string, std::string>>& query) {
  std::string url(root);
  if (url.empty() || url.back() != '/') url += '/';
  url += path.substr(path.rfind('/', 0) == 0 ? 1 : 0);
  for (const auto& [k, v] : query) url = AppendQuery(url, k, v);
  return url;
}

std::string AppendQuery(std::string_view url, std::string_view key, std::string_view value) {
  std::string out(url);
  out += out.find('?') == std::string::npos ? '?' : '&';
  out += common::PercentEncode(key);
  out += '=';
  out += common::PercentEncode(value);
  return out;
}

RestCall ReadCall(Api api, std::string url, std::string what, std::string_view rpc) {
  RestCall c;
  c.api = api;
  c.url = std::move(url);
  c.what = std::move(what);
  c.rpc = rpc;
  return c;
}

RestCall ListCall(Api api, std::string url, std::string what, std::string_view rpc) {
  RestCall c = ReadCall(api, std::move(url), std::move(what), rpc);
  c.bucket = Bucket::kList;
  return c;
}

RestCall MutationCall(Api api, std::string method, std::string url, std::string what,
                      std::string_view rpc) {
  RestCall c = ReadCall(api, std::move(url), std::move(what), rpc);
  c.bucket = Bucket::kMutate;
  c.kind = CallKind::kMutation;
  c.method = std::move(method);
  return c;
}

Task<StatusOr<Operation>> RestStub::GetLongRunningOperation(Api api, std::string_view version,
                                                            std::string_view service,
                                                            const std::string& name) const {
  return rest_->CallParsed(
      ReadCall(api, BuildUrl(root_, std::string(version) + "/" + name),
               std::string(service) + " operations.get " + name, "operations.get"),
      [api](const json::value& v) { return ParseLongRunningOperation(v, api); });
}

RestClient::RestClient(std::shared_ptr<net::HttpClient> http, std::shared_ptr<TokenSource> tokens,
                       std::shared_ptr<RateLimiter> limiter, RestOptions options)
    : http_(std::move(http)),
      tokens_(std::move(tokens)),
      limiter_(std::move(limiter)),
      options_(std::move(options)),
      policy_(options_.retry, options_.rng) {
  if (!options_.clock) options_.clock = SteadyClock();
  if (!options_.sleeper) options_.sleeper = AsioSleeper();
}

Task<StatusOr<json::value>> RestClient::Call(RestCall call) {
  const SteadyTime start = options_.clock();
  const SteadyTime deadline = start + options_.call_timeout;
  std::string body_text = call.body ? json::serialize(*call.body) : std::string();
  // The call's own classification, not its HTTP verb: Resource Manager's
  // getIamPolicy is a POST that only reads, and a standby may read.
  const bool mutation = call.kind == CallKind::kMutation;
  // A 401 means the request was refused before it was applied: the cached
  // token is dropped and the call is sent once more with a fresh one, a
  // mutation too. Only once: a second 401 is the credentials' answer.
  bool refreshed_token = false;
  for (int attempt = 1;; ++attempt) {
    Status failure;
    std::optional<std::chrono::milliseconds> hint;
    Status limited = co_await limiter_->Acquire(call.api, call.bucket, deadline);
    if (!limited.ok()) co_return std::move(limited).Annotate(call.what);

    auto token = co_await tokens_->Token();
    if (!token.ok()) {
      failure = Status(token.status()).Annotate(call.what + ": credentials");
    } else {
      net::HttpRequest req;
      req.method = call.method;
      req.url = call.url;
      req.SetHeader("Authorization", "Bearer " + token->value);
      req.SetHeader("Accept", "application/json");
      if (!options_.quota_project.empty()) {
        req.SetHeader("x-goog-user-project", options_.quota_project);
      }
      if (call.body) {
        req.SetHeader("Content-Type", "application/json");
        req.body = body_text;
      }
      net::Deadlines deadlines = options_.deadlines;
      std::optional<WriteFence::Ticket> ticket;
      if (mutation && options_.write_fence) {
        // The last moment: after the rate limiter, the token and any retry
        // sleep, nothing awaited between this check and the send. The
        // request may not outlive the lease (CapDeadlines).
        const SteadyTime now = options_.clock();
        auto admitted = options_.write_fence->Admit(call.what, now + deadlines.total);
        if (!admitted.ok()) co_return admitted.status();
        ticket.emplace(std::move(*admitted));
        deadlines = CapDeadlines(deadlines, now, ticket->deadline());
      }
      // And once more at the very last moment, after the transport's
      // connection wait (pool, connect, TLS): a lease lost meanwhile sends
      // nothing.
      std::function<Status()> last_moment;
      if (ticket) {
        std::shared_ptr<WriteFence> fence = options_.write_fence;
        std::string what = call.what;
        last_moment = [fence, what]() { return fence->Recheck(what); };
      }
      const SteadyTime sent = options_.clock();
      auto resp = co_await http_->SendChecked(std::move(req), deadlines, std::move(last_moment));
      ticket.reset();
      if (options_.telemetry) {
        RequestReport report;
        report.api = call.api;
        report.rpc = call.rpc;
        report.attempt = attempt;
        report.elapsed = options_.clock() - sent;
        if (resp.ok()) {
          report.http_status = resp->status;
        } else {
          report.failure = TransportFailureLabel(resp.status());
        }
        options_.telemetry->RequestDone(report);
      }
      if (!resp.ok()) {
        failure = Status(resp.status()).Annotate(call.what);
      } else if (resp->status >= 200 && resp->status < 300) {
        if (resp->body.empty()) co_return json::value(json::object());
        boost::system::error_code ec;
        json::storage_ptr storage;
        if (call.arena) {
          // Room for the whole document in the first block, as a rule.
          storage = json::make_shared_resource<json::monotonic_resource>(resp->body.size() * 4);
        }
        json::value v = json::parse(resp->body, ec, storage);
        if (ec) {
          co_return InternalError(call.what + ": reply is not JSON (" +
                                  SummarizeBody(resp->body) + ")")
              .WithHttpStatus(resp->status);
        }
        co_return v;
      } else if (resp->status == 401 && !refreshed_token) {
        refreshed_token = true;
        tokens_->Invalidate(*token);
        continue;
      } else {
        GoogleError e = MapHttpError(resp->status, resp->body, call.what);
        failure = std::move(e.status);
        hint = e.retry_delay;
      }
    }
    if (!RetryPolicy::IsRetryable(call.kind, call.api, failure)) co_return failure;
    auto delay = policy_.Backoff(attempt - 1, hint);
    auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.clock() - start);
    if (!policy_.CanRetry(attempt, elapsed, delay) || options_.clock() + delay > deadline) {
      Status out(failure.code(),
                 failure.message() + " (gave up after " + std::to_string(attempt) +
                     (attempt == 1 ? " attempt)" : " attempts)"));
      out.WithHttpStatus(failure.http_status());
      if (!failure.reason().empty()) out.WithReason(failure.reason());
      co_return out;
    }
    Status slept = co_await options_.sleeper(delay);
    if (!slept.ok()) co_return std::move(slept).Annotate(call.what);
  }
}

Task<Status> RestClient::ListEach(RestCall first, std::string items_field,
                                  std::function<void(const json::value&)> each) {
  std::string base_url = first.url;
  std::string page_token;
  for (int page = 0; page < options_.max_pages; ++page) {
    RestCall call = first;
    call.arena = true;
    if (!page_token.empty()) call.url = AppendQuery(base_url, "pageToken", page_token);
    auto reply = co_await Call(std::move(call));
    if (!reply.ok()) co_return reply.status();
    if (!reply->is_object()) co_return InternalError(first.what + ": list reply is not an object");
    auto& o = reply->get_object();
    if (auto* arr = o.if_contains(items_field); arr && arr->is_array()) {
      for (const auto& item : arr->get_array()) each(item);
    }
    std::string next = wire::Str(o, "nextPageToken");
    if (next.empty()) co_return Status();
    if (next == page_token) {
      co_return InternalError(first.what + ": server repeated the same page token");
    }
    page_token = std::move(next);
  }
  co_return InternalError(first.what + ": more than " + std::to_string(options_.max_pages) +
                          " pages");
}

namespace {
OperationErrors ParseOperationErrors(const json::object& error) {
  OperationErrors out;
  const auto* errors = wire::Arr(error, "errors");
  if (!errors) return out;
  for (const auto& e : *errors) {
    if (!e.is_object()) continue;
    if (out.code.empty()) out.code = wire::Str(e.get_object(), "code");
    std::string m = wire::Str(e.get_object(), "message");
    if (!m.empty()) out.message += (out.message.empty() ? "" : "; ") + m;
  }
  return out;
}
}  // namespace

Operation ParseStatusOperation(const json::value& v, Api api, std::string project,
                               std::string_view target_field, OperationFailure failed) {
  Operation op;
  op.api = api;
  op.project = std::move(project);
  if (!v.is_object()) return op;
  const auto& o = v.get_object();
  op.name = wire::Str(o, "name");
  op.target = wire::Str(o, target_field);
  op.type = wire::Str(o, "operationType");
  op.done = wire::Str(o, "status") == "DONE";
  if (const auto* err = wire::Obj(o, "error")) {
    op.error = failed(o, ParseOperationErrors(*err));
    op.done = true;
  }
  return op;
}

Operation ParseLongRunningOperation(const json::value& v, Api api) {
  Operation op;
  op.api = api;
  if (!v.is_object()) return op;
  const auto& o = v.get_object();
  op.name = wire::Str(o, "name");
  op.done = wire::Bool(o, "done");
  if (const auto* md = wire::Obj(o, "metadata")) {
    op.target = wire::Str(*md, "target");
    if (op.target.empty()) op.target = wire::Str(*md, "name");  // Run: Job / Execution
    op.type = wire::Str(*md, "method");
    if (op.type.empty()) op.type = wire::LastSegment(wire::Str(*md, "@type"));
  }
  if (const auto* err = wire::Get(o, "error"); err && err->is_object()) {
    op.error = StatusFromRpcStatusJson(json::serialize(*err));
    op.done = true;
  }
  return op;
}

}  // namespace dbconnd::gcp
