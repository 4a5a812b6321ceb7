#include "reconcilers/executor.h"

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <optional>
#include <random>
#include <set>
#include <utility>
#include <variant>

#include "common/poll_until.h"
#include "common/redact.h"
#include "gcp/raw_resource.h"
#include "gcp/resource_names.h"
#include "reconcilers/connector_options.h"
#include "reconcilers/diff.h"
#include "reconcilers/direct_vpc.h"
#include "reconcilers/psc.h"
#include "reconcilers/planner.h"
#include "reconcilers/prerequisites.h"
#include "reconcilers/project_number.h"

namespace dbconnd::reconcilers {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

bool IsConflict(const Status& s) {
  // Cloud SQL: 409 operationInProgress (a 2018 report shows it under 403, so
  // match the reason too) and 412 staleData; Cloud Run: 409 ABORTED on a
  // stale etag. In every case nothing was applied.
  return s.http_status() == 409 || s.http_status() == 412 ||
         s.reason() == "operationInProgress" || s.reason() == "staleData";
}

bool IsOperationInProgress(const Status& s) {
  return s.reason() == "operationInProgress" ||
         (s.http_status() == 409 && s.reason() != "staleData");
}

// A failure after which the outcome is unknown or another attempt may well
// succeed: 429, 5xx, 408, or no HTTP answer at all (connection refused or
// reset, timeout). The pass observes again after a backoff; a write is never
// resent on this alone.
bool IsTransient(const Status& s) {
  if (s.ok()) return false;
  int h = s.http_status();
  if (h == 429 || h == 408 || (h >= 500 && h <= 599)) return true;
  if (h == 0) {
    return s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kDeadlineExceeded;
  }
  return false;
}

bool IsAlreadyExists(const Status& s) {
  return s.code() == StatusCode::kAlreadyExists ||
         (s.http_status() == 409 && s.reason() == "alreadyExists");
}

// "2026-12-06T04:09:32.5Z" -> "2026-12-06T04:09:32.500000000Z": RFC 3339 UTC
// times from one API compare as strings once the fraction has a fixed width.
std::string NormalizeTime(const std::string& t) {
  if (t.size() < 20 || t.back() != 'Z') return t;
  std::string base = t.substr(0, 19);
  std::string frac;
  if (t[19] == '.') frac = t.substr(20, t.size() - 21);
  frac.resize(9, '0');
  return base + "." + frac + "Z";
}

// The exact live value of one instance field named by a change path (see
// MutationObserver::BeforeMutation); null when the member is absent.
boost::json::value InstancePriorValue(const InstancePath& path, const gcp::SqlInstance& live) {
  using Field = InstancePath::Field;
  switch (path.field) {
    case Field::kIpv4Enabled:
      return live.ipv4_enabled;
    case Field::kSslMode:
      return boost::json::string(live.ssl_mode);
    case Field::kPrivateNetwork:
      return boost::json::string(live.private_network);
    case Field::kAllocatedIpRange:
      return boost::json::string(live.allocated_ip_range);
    case Field::kConnectorEnforcement:
      if (live.connector_enforcement.empty()) return nullptr;
      return boost::json::string(live.connector_enforcement);
    case Field::kAuthorizedNetwork:
      for (const auto& a : live.authorized_networks) {
        // The path's key is the CIDR as DiffInstance wrote it (capped).
        if (CapForDisplay(a.value, 64) != path.key) continue;
        boost::json::object o{{"value", a.value}, {"name", Redact(a.name)}};
        if (!a.expiration_time.empty()) o["expirationTime"] = a.expiration_time;
        return o;
      }
      return nullptr;
    case Field::kDatabaseFlag:
      for (const auto& f : live.database_flags) {
        if (f.name == path.key) return boost::json::string(Redact(f.value));
      }
      return nullptr;
  }
  return nullptr;
}

std::string PriorValuesJson(const Step& step, const LiveState* live) {
  boost::json::object o;
  const bool instance = std::holds_alternative<gcp::SqlInstancePatch>(step.payload) && live &&
                        live->instance && live->instance->name == step.resource.name;
  for (const auto& c : step.changes) {
    std::optional<InstancePath> path;
    if (instance) path = ParseInstancePath(c.path);
    o[c.path] = path ? InstancePriorValue(*path, *live->instance) : boost::json::value(c.before);
  }
  return boost::json::serialize(o);
}

// What the pass has sent: a change (step id + the paths and values it sets)
// is never sent twice in one pass. If a re-plan shows it again after Google
// accepted it, the resource is still settling or something reverted it; the
// pass waits and then reports rather than writing again.
std::string ChangeFingerprint(const Step& step) {
  std::string f = step.id;
  for (const auto& c : step.changes) f += "\x1f" + c.path + "\x1e" + c.after;
  return f;
}

// State shared by the steps of one pass; passed by value into coroutines
// (pointers inside stay valid for the pass: they point into Apply's frame).
// Copied into every step's coroutine. `intent` points at Apply's own
// parameter, which outlives them all: every step is awaited within Apply.
struct PassContext {
  gcp::Clients clients;
  const config::Intent* intent = nullptr;
  gcp::WaitOptions wait;  // timeout already capped by the pass deadline
  std::shared_ptr<InstanceOperationGate> gate;
  MutationObserver* observer = nullptr;
  std::function<void(const ApplyProgress&)> progress;
  gcp::Sleeper sleeper;
  gcp::Clock clock;
  gcp::SteadyTime deadline;
  std::function<Status()> may_write;
  std::shared_ptr<RequestIds> request_ids;
  // The observation the step was planned on (Apply's local, outlives the step).
  const LiveState* live = nullptr;
};

// See ApplyOptions::may_write. Called with nothing awaited between it and
// the journal entry and the request it guards.
Status MayWrite(const PassContext& ctx) {
  if (!ctx.may_write) return OkStatus();
  return ctx.may_write();
}

struct StepOutcome {
  Status status;
  bool wrote = false;  // the mutation was accepted and its operation finished
  // Nothing more to do now: pending work found on the resource was waited
  // for, or a create found the resource already there and adopted it; the
  // pass observes and plans again (not a conflict, not a failure).
  bool replan = false;
  std::optional<JobVerification> verification;
};

void Emit(const PassContext& ctx, ApplyProgress::Kind kind, const Step* step, std::string message,
          milliseconds elapsed, Status status = OkStatus()) {
  if (!ctx.progress) return;
  ApplyProgress p;
  p.kind = kind;
  p.step = step;
  p.message = std::move(message);
  p.elapsed = elapsed;
  p.status = std::move(status);
  ctx.progress(p);
}

// "instance saleor-db-demo operation UPDATE": what a person waits for, in
// the plan's words. The operation type is the last word of what the API
// reports ("google.cloud.vpcaccess.v1.VpcAccessService.CreateConnector").
std::string DescribeWait(const Step& step, const gcp::WaitProgress& wp) {
  std::string type;
  const std::string& w = wp.waiting_for;
  size_t open = w.find('(');
  size_t close = open == std::string::npos ? std::string::npos : w.find(')', open);
  if (close != std::string::npos) {
    type = w.substr(open + 1, close - open - 1);
    if (size_t dot = type.rfind('.'); dot != std::string::npos) type = type.substr(dot + 1);
    if (type == "Empty" || type == "Job" || type == "Service") type.clear();
  }
  std::string out = std::string(ToString(step.resource.kind)) + " " + step.resource.name +
                    " operation";
  if (!type.empty()) out += " " + type;
  return out;
}

// Wait options whose progress callback reports against `step`.
gcp::WaitOptions StepWait(const PassContext& ctx, const Step& step) {
  gcp::WaitOptions w = ctx.wait;
  if (ctx.progress) {
    auto progress = ctx.progress;
    auto step_copy = std::make_shared<Step>(step);
    w.progress = [progress, step_copy](const gcp::WaitProgress& wp) {
      ApplyProgress p;
      p.kind = ApplyProgress::Kind::kWaiting;
      p.step = step_copy.get();
      p.message = DescribeWait(*step_copy, wp);
      p.elapsed = wp.elapsed;
      progress(p);
    };
  }
  return w;
}

// Waits out the backoff after a transient failure. Not OK when `delay`
// says to give up (the failures' bound or the deadline; `gave_up` is then
// set when given) or when the sleep is cut short (shutdown).
gcp::Task<Status> BackOff(gcp::Sleeper sleeper, StatusOr<std::chrono::milliseconds> delay,
                          bool* gave_up) {
  if (!delay.ok()) {
    if (gave_up) *gave_up = true;
    co_return delay.status();
  }
  co_return co_await sleeper(*delay);
}

// Sends nothing; records the operation for the journal and waits for it.
gcp::Task<Status> AwaitOperation(PassContext ctx, Step step, StatusOr<gcp::Operation> op) {
  if (!op.ok()) co_return op.status();
  if (ctx.observer) ctx.observer->OperationStarted(step, *op);
  gcp::WaitOptions w = StepWait(ctx, step);
  auto done = co_await gcp::WaitForOperation(ctx.clients, *op, w);
  if (!done.ok()) co_return done.status();
  co_return done->error;
}

// Waits for whatever operation is running on the instance (after a 409), so
// the next attempt is not refused again.
gcp::Task<Status> WaitForRunningSqlOperation(PassContext ctx, Step step) {
  auto ops = co_await ctx.clients.sql->ListOperations(ctx.intent->project, step.resource.name);
  if (!ops.ok()) co_return ops.status();
  gcp::WaitOptions w = StepWait(ctx, step);
  for (const auto& op : *ops) {
    if (op.done) continue;
    gcp::Operation running = op;
    if (running.project.empty()) running.project = ctx.intent->project;
    auto done = co_await gcp::WaitForOperation(ctx.clients, running, w);
    if (!done.ok()) co_return done.status();
  }
  co_return OkStatus();
}

// The operation of an interrupted write of `step` (ApplyOptions::interrupted):
// waited for, under the instance gate for a Cloud SQL instance. How it ended
// does not matter here (the next observation shows what is left to do);
// only cancellation (shutdown) is returned.
gcp::Task<Status> WaitInterrupted(PassContext ctx, Step step, gcp::Operation op) {
  std::optional<InstanceOperationGate::Hold> hold;
  if (step.resource.kind == ResourceKind::kInstance) {
    auto h = co_await ctx.gate->Acquire(ctx.intent->project, step.resource.name, ctx.deadline);
    if (!h.ok()) co_return h.status();
    hold.emplace(std::move(*h));
  }
  Emit(ctx, ApplyProgress::Kind::kWaiting, &step,
       std::string(ToString(step.resource.kind)) + " " + step.resource.name + " operation " +
           op.name + " of an interrupted write; waiting for it instead of writing again",
       milliseconds(0));
  auto done = co_await gcp::WaitForOperation(ctx.clients, op, StepWait(ctx, step));
  if (!done.ok() && done.status().code() == StatusCode::kCancelled) co_return done.status();
  co_return OkStatus();
}

// Create returns when the operation is done, but a connector may still be
// CREATING; Cloud Run refuses a vpcAccess pointing at one that is not READY.
struct ConnectorWait {
  PassContext* ctx = nullptr;
  const Step* step = nullptr;
  gcp::Connector connector;
  std::string state;  // as last read
  bool read_failed = false;
};

gcp::Task<StatusOr<bool>> ReadConnectorState(ConnectorWait* w, int /*attempt*/) {
  const gcp::Connector& c = w->connector;
  auto live = co_await w->ctx->clients.vpc->GetConnector(c.project, c.region, c.name);
  if (!live.ok()) {
    w->read_failed = true;
    co_return live.status();
  }
  w->state = live->state;
  if (w->state == "READY") co_return true;
  if (w->state == "ERROR") {
    w->read_failed = true;
    co_return FailedPreconditionError("connector " + c.name +
                                      " is in state ERROR after creation; see the "
                                      "Serverless VPC Access console for the cause");
  }
  co_return false;
}

gcp::Task<Status> WaitConnectorReady(PassContext ctx, Step step, gcp::Connector connector) {
  const auto started = ctx.clock();
  ConnectorWait w;
  w.ctx = &ctx;
  w.step = &step;
  w.connector = std::move(connector);
  common::PollOptions poll;
  poll.initial_delay = ctx.wait.initial_poll;
  poll.max_delay = ctx.wait.max_poll;
  poll.multiplier = ctx.wait.multiplier;
  poll.jitter = ctx.wait.jitter;
  poll.deadline = ctx.deadline;
  poll.clock = ctx.clock;
  poll.rng = ctx.wait.rng;
  // Each read that is not READY yet is reported before the sleep.
  poll.sleeper = [&w, started](milliseconds delay) {
    Emit(*w.ctx, ApplyProgress::Kind::kWaiting, w.step,
         "connector " + w.connector.name + " to become READY (state " + w.state + ")",
         duration_cast<milliseconds>(w.ctx->clock() - started));
    return w.ctx->sleeper(delay);
  };
  common::PollAttempt attempt = [&w](int n) { return ReadConnectorState(&w, n); };
  Status ready = co_await common::PollUntil(std::move(attempt), std::move(poll));
  if (ready.ok() || w.read_failed || ready.code() != StatusCode::kDeadlineExceeded) co_return ready;
  co_return DeadlineExceededError(
      "connector " + w.connector.name + " not READY after " +
      std::to_string(duration_cast<milliseconds>(ctx.clock() - started).count() / 1000) +
      "s (state " + w.state + ")");
}

// Waits for one execution to finish (bounded by the wait options' timeout)
// and reports how it ended.
gcp::Task<StatusOr<JobRunOutcome>> WatchExecution(gcp::Clients clients, std::string execution,
                                                  gcp::WaitOptions options) {
  auto clock = options.clock ? options.clock : gcp::SteadyClock();
  auto sleeper = options.sleeper ? options.sleeper : gcp::AsioSleeper();
  auto started = clock();
  milliseconds delay = options.initial_poll;
  JobRunOutcome out;
  out.execution = execution;
  for (;;) {
    auto exec = co_await clients.run->GetExecution(execution);
    if (!exec.ok()) co_return exec.status();
    if (exec->done) {
      out.succeeded = exec->succeeded;
      out.message = exec->message;
      if (!out.succeeded && out.message.empty()) out.message = "execution did not succeed";
      co_return out;
    }
    auto elapsed = duration_cast<milliseconds>(clock() - started);
    if (elapsed + delay > options.timeout) {
      co_return DeadlineExceededError("execution " + execution + " still running after " +
                                      std::to_string(elapsed.count() / 1000) + "s");
    }
    if (options.progress) {
      gcp::WaitProgress wp;
      wp.waiting_for = "execution " + execution.substr(execution.rfind('/') + 1);
      wp.elapsed = elapsed;
      options.progress(wp);
    }
    Status slept = co_await sleeper(delay);
    if (!slept.ok()) co_return slept;
    delay = std::min(options.max_poll, duration_cast<milliseconds>(delay * options.multiplier));
  }
}

gcp::Task<StatusOr<JobRunOutcome>> RunAndWatch(gcp::Clients clients, std::string project,
                                               std::string region, std::string job,
                                               gcp::WaitOptions options) {
  auto op = co_await clients.run->RunJob(project, region, job);
  if (!op.ok()) co_return op.status();
  auto done = co_await gcp::WaitForOperation(clients, *op, options);
  if (!done.ok()) co_return done.status();
  JobRunOutcome out;
  auto live_job = co_await clients.run->GetJob(project, region, job);
  if (live_job.ok()) out.execution = live_job->latest_execution;
  if (!done->error.ok()) {
    out.message = done->error.message();
    co_return out;
  }
  if (out.execution.empty()) {
    out.message = live_job.ok() ? "no execution recorded" : live_job.status().message();
    co_return out;
  }
  auto exec = co_await clients.run->GetExecution(out.execution);
  if (!exec.ok()) co_return exec.status();
  out.succeeded = exec->done && exec->succeeded;
  out.message = exec->message;
  if (!out.succeeded && out.message.empty()) out.message = "execution did not succeed";
  co_return out;
}

// The startExecutionToken of a verification of `job`: derived from the
// job's name and configuration (its template, FNV-1a), so one configuration
// always maps to one token. A resend after a lost answer, a restart or a
// failover, or a pass that did not recognize the execution as its own (a
// colleague touched the job's labels), sends the same token, and Cloud Run
// creates nothing new; a changed configuration gets a new token. Empty when
// the name leaves no room for 8 hex digits (name + token < 63): then jobs.run.
std::string ExecutionToken(const gcp::RunWorkload& job) {
  std::string basis = job.FullName();
  if (job.raw && job.raw->json().is_object()) {
    if (const auto* t = job.raw->json().get_object().if_contains("template")) {
      basis += "\n" + boost::json::serialize(*t);
    }
  }
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : basis) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  const std::size_t name_len = job.name.size();
  if (name_len + 1 + 8 >= 63) return "";
  const std::size_t digits = std::min<std::size_t>(16, 62 - name_len - 1);
  return "v" + std::string(hex, digits);
}

// Starts the verification's execution with a startExecutionToken (see
// ExecutionToken) and watches it; jobs.run only when the name leaves no
// room for a token.
gcp::Task<StatusOr<JobRunOutcome>> StartAndWatch(gcp::Clients clients, std::string project,
                                                 std::string region, std::string job_name,
                                                 gcp::WaitOptions options) {
  auto job = co_await clients.run->GetJob(project, region, job_name);
  if (!job.ok()) co_return job.status();
  const std::string token = ExecutionToken(*job);
  if (token.empty()) {
    co_return co_await RunAndWatch(clients, std::move(project), std::move(region),
                                   std::move(job_name), std::move(options));
  }
  const std::string execution = job->FullName() + "/executions/" + job_name + "-" + token;
  auto op = co_await clients.run->StartExecution(*job, token);
  if (!op.ok()) co_return op.status();
  auto done = co_await gcp::WaitForOperation(clients, *op, options);
  if (!done.ok()) co_return done.status();
  if (!done->error.ok()) {
    JobRunOutcome out;
    out.message = done->error.message();
    co_return out;
  }
  co_return co_await WatchExecution(clients, execution, std::move(options));
}

// A verification starts at most one execution. If the observation shows one
// already started for the job's current configuration (a lost jobs.run
// answer, a restart, another leader), it is adopted and waited for. When
// jobs.run's answer is lost, nothing is resent: the step ends transient and
// the next observation shows whether an execution exists (adopted) or not
// (run again, from a fresh plan).
gcp::Task<StepOutcome> Verify(PassContext ctx, Step step) {
  StepOutcome out;
  std::string adopt;
  if (ctx.live) {
    auto v = ctx.live->verifications.find(step.resource.name);
    if (v != ctx.live->verifications.end() && v->second.state == JobVerification::State::kPending) {
      adopt = v->second.execution;
    }
  }
  gcp::WaitOptions w = StepWait(ctx, step);
  StatusOr<JobRunOutcome> run = InternalError("not run");
  if (!adopt.empty()) {
    Emit(ctx, ApplyProgress::Kind::kWaiting, &step,
         "execution " + adopt.substr(adopt.rfind('/') + 1) + " (already started; not running again)",
         milliseconds(0));
    run = co_await WatchExecution(ctx.clients, adopt, w);
  } else {
    out.status = MayWrite(ctx);
    if (!out.status.ok()) co_return out;
    if (ctx.observer) ctx.observer->BeforeMutation(step, "{}");
    run = co_await StartAndWatch(ctx.clients, ctx.intent->project, ctx.intent->region,
                                 step.resource.name, w);
  }
  if (!run.ok()) {
    out.status = run.status();
  } else {
    out.wrote = true;
    JobVerification v;
    v.state = run->succeeded ? JobVerification::State::kSucceeded : JobVerification::State::kFailed;
    v.message = run->message;
    v.execution = run->execution;
    out.verification = v;
  }
  if (ctx.observer && adopt.empty()) ctx.observer->Finished(step, out.status);
  co_return out;
}

// Pending work on the instance found from Google (an operation PENDING or
// RUNNING, whoever started it: a lost answer, a crashed or previous leader,
// a colleague): waited for before any write to it. True when there was some.
gcp::Task<StatusOr<bool>> WaitForPendingSqlWork(PassContext ctx, Step step) {
  auto ops = co_await ctx.clients.sql->ListOperations(ctx.intent->project, step.resource.name);
  if (!ops.ok()) co_return ops.status();
  bool any = false;
  gcp::WaitOptions w = StepWait(ctx, step);
  for (const auto& op : *ops) {
    if (op.done) continue;
    any = true;
    gcp::Operation running = op;
    if (running.project.empty()) running.project = ctx.intent->project;
    Emit(ctx, ApplyProgress::Kind::kWaiting, &step,
         "instance " + step.resource.name + " operation " + running.name +
             " already in progress; waiting before writing",
         milliseconds(0));
    auto done = co_await gcp::WaitForOperation(ctx.clients, running, w);
    if (!done.ok()) co_return done.status();
  }
  co_return any;
}

gcp::Task<StepOutcome> PatchInstance(PassContext ctx, Step step, gcp::SqlInstancePatch patch) {
  StepOutcome out;
  auto hold = co_await ctx.gate->Acquire(ctx.intent->project, step.resource.name, ctx.deadline);
  if (!hold.ok()) {
    out.status = hold.status();
    co_return out;
  }
  // Before writing: is anything already running on the instance? Then its
  // effect must be observed before this patch (computed without it) means
  // anything.
  auto pending = co_await WaitForPendingSqlWork(ctx, step);
  if (!pending.ok()) {
    out.status = pending.status();
    co_return out;
  }
  if (*pending) {
    out.replan = true;
    co_return out;
  }
  // The gate may have waited for another pass's operation: ask now.
  if (Status allowed = MayWrite(ctx); !allowed.ok()) {
    out.status = allowed;
    co_return out;
  }
  if (ctx.observer) ctx.observer->BeforeMutation(step, PriorValuesJson(step, ctx.live));
  auto op = co_await ctx.clients.sql->PatchInstance(ctx.intent->project, step.resource.name, patch);
  if (!op.ok()) {
    Status refused = op.status();
    if (ctx.observer) ctx.observer->Finished(step, refused);
    if (IsOperationInProgress(refused)) {
      // Still holding the gate: nobody in this process piles on meanwhile.
      Emit(ctx, ApplyProgress::Kind::kConflict, &step,
           "instance " + step.resource.name + " has another operation running; waiting for it",
           milliseconds(0), refused);
      Status waited = co_await WaitForRunningSqlOperation(ctx, step);
      if (!waited.ok()) {
        out.status = waited;
        co_return out;
      }
    }
    out.status = refused;
    co_return out;
  }
  out.status = co_await AwaitOperation(ctx, step, std::move(op));
  if (ctx.observer) ctx.observer->Finished(step, out.status);
  out.wrote = out.status.ok();
  co_return out;
}

// A Cloud Run job or service still rolling out a change (reconciling): the
// next write waits until Google is done with it.
gcp::Task<Status> WaitWorkloadSettled(PassContext ctx, Step step, gcp::RunWorkload w) {
  auto started = ctx.clock();
  milliseconds delay = ctx.wait.initial_poll;
  for (;;) {
    auto live = w.kind == gcp::RunKind::kJob
                    ? co_await ctx.clients.run->GetJob(w.project, w.region, w.name)
                    : co_await ctx.clients.run->GetService(w.project, w.region, w.name);
    if (!live.ok()) co_return live.status();
    if (!live->reconciling) co_return OkStatus();
    auto elapsed = duration_cast<milliseconds>(ctx.clock() - started);
    if (ctx.clock() + delay > ctx.deadline) {
      co_return DeadlineExceededError(std::string(ToString(step.resource.kind)) + " " + w.name +
                                      " still reconciling after " +
                                      std::to_string(elapsed.count() / 1000) + "s");
    }
    Emit(ctx, ApplyProgress::Kind::kWaiting, &step,
         std::string(ToString(step.resource.kind)) + " " + w.name +
             " to finish rolling out its last change",
         elapsed);
    Status slept = co_await ctx.sleeper(delay);
    if (!slept.ok()) co_return slept;
    delay = std::min(ctx.wait.max_poll, duration_cast<milliseconds>(delay * ctx.wait.multiplier));
  }
}

// After 409 ALREADY_EXISTS on a create (typically our own earlier attempt
// whose answer was lost): the resource exists or is being created. Wait until
// a read shows it, so the re-plan adopts it instead of creating again.
// A read's answer as "is it there": true when found, false on NOT_FOUND,
// any other error as it is.
template <typename T>
StatusOr<bool> Found(const StatusOr<T>& live) {
  if (live.ok()) return true;
  if (live.status().code() == StatusCode::kNotFound) return false;
  return live.status();
}

gcp::Task<Status> WaitUntilVisible(PassContext ctx, Step step) {
  auto started = ctx.clock();
  milliseconds delay = ctx.wait.initial_poll;
  for (;;) {
    StatusOr<bool> found = true;  // connectors show up (CREATING) as soon as they are accepted
    if (auto* a = std::get_if<gcp::GlobalAddress>(&step.payload)) {
      found = Found(co_await ctx.clients.compute->GetGlobalAddress(a->project, a->name));
    } else if (auto* ra = std::get_if<gcp::RegionAddress>(&step.payload)) {
      found = Found(co_await ctx.clients.compute->GetAddress(ra->project, ra->region, ra->name));
    } else if (auto* fr = std::get_if<gcp::ForwardingRule>(&step.payload)) {
      found = Found(
          co_await ctx.clients.compute->GetForwardingRule(fr->project, fr->region, fr->name));
    } else if (auto* pc = std::get_if<gcp::PeeringConnection>(&step.payload)) {
      auto live = co_await ctx.clients.networking->ListConnections(pc->network);
      if (!live.ok()) co_return live.status();
      found = !live->empty();
    }
    if (!found.ok()) co_return found.status();
    if (*found) co_return OkStatus();
    auto elapsed = duration_cast<milliseconds>(ctx.clock() - started);
    if (ctx.clock() + delay > ctx.deadline) {
      co_return DeadlineExceededError(std::string(ToString(step.resource.kind)) + " " +
                                      step.resource.name + " exists but is still not readable after " +
                                      std::to_string(elapsed.count() / 1000) + "s");
    }
    Emit(ctx, ApplyProgress::Kind::kWaiting, &step,
         std::string(ToString(step.resource.kind)) + " " + step.resource.name +
             " (already exists) to finish being created",
         elapsed);
    Status slept = co_await ctx.sleeper(delay);
    if (!slept.ok()) co_return slept;
    delay = std::min(ctx.wait.max_poll, duration_cast<milliseconds>(delay * ctx.wait.multiplier));
  }
}

// 128 random bits as a canonical version-4 UUID.
std::string NewUuid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(hi >> 32),
                static_cast<unsigned long long>((hi >> 16) & 0xffff),
                static_cast<unsigned long long>(hi & 0xffff),
                static_cast<unsigned long long>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

gcp::Task<StepOutcome> Execute(PassContext ctx, Step step) {
  StepOutcome out;
  if (step.action == Action::kRun) co_return co_await Verify(ctx, step);
  gcp::Clients clients = ctx.clients;
  if (auto* patch = std::get_if<gcp::SqlInstancePatch>(&step.payload)) {
    gcp::SqlInstancePatch p = *patch;
    co_return co_await PatchInstance(ctx, step, std::move(p));
  }
  if (std::holds_alternative<std::monostate>(step.payload)) {
    out.status = InternalError("step " + step.id + " has nothing to send");
    co_return out;
  }
  if (auto* peering = std::get_if<gcp::PeeringConnection>(&step.payload);
      peering && step.action != Action::kCreate) {
    // Adding a range to an existing connection is a connections.patch
    // (updateMask reservedPeeringRanges), which gcp::ServiceNetworking
    // does not offer yet.
    out.status = UnimplementedError("adding a range to the Service Networking connection on " +
                                    peering->network + " is not supported yet; add range " +
                                    "with gcloud services vpc-peerings update");
    co_return out;
  }
  if (auto* workload = std::get_if<gcp::RunWorkload>(&step.payload); workload && ctx.live) {
    // Google still rolling out an earlier change: wait, then re-plan on
    // what it ends as.
    const auto& map = workload->kind == gcp::RunKind::kJob ? ctx.live->jobs : ctx.live->services;
    auto it = map.find(workload->name);
    if (it != map.end() && it->second.reconciling) {
      gcp::RunWorkload w = *workload;
      out.status = co_await WaitWorkloadSettled(ctx, step, std::move(w));
      out.replan = out.status.ok();
      co_return out;
    }
  }
  std::string request_id;
  if (std::holds_alternative<gcp::GlobalAddress>(step.payload) ||
      std::holds_alternative<gcp::RegionAddress>(step.payload) ||
      std::holds_alternative<gcp::ForwardingRule>(step.payload)) {
    // One requestId per logical insert, the same on every resend of it.
    std::string& id = (*ctx.request_ids)[RequestIdKey(step)];
    if (id.empty()) id = NewUuid();
    request_id = id;
  }
  out.status = MayWrite(ctx);
  if (!out.status.ok()) co_return out;
  if (ctx.observer && !request_id.empty()) ctx.observer->RequestIdAssigned(step, request_id);
  if (ctx.observer) ctx.observer->BeforeMutation(step, PriorValuesJson(step, ctx.live));
  bool create_refused = false;  // 409 ALREADY_EXISTS on a create
  // Creates: Compute inserts carry the step's requestId, so Google
  // deduplicates a resend of the same logical insert.
  std::optional<StatusOr<gcp::Operation>> created;
  const auto* connector = std::get_if<gcp::Connector>(&step.payload);
  if (auto* address = std::get_if<gcp::GlobalAddress>(&step.payload)) {
    gcp::GlobalAddress a = *address;
    a.request_id = request_id;
    created = co_await clients.compute->InsertGlobalAddress(std::move(a));
  } else if (auto* region_address = std::get_if<gcp::RegionAddress>(&step.payload)) {
    gcp::RegionAddress a = *region_address;
    a.request_id = request_id;
    created = co_await clients.compute->InsertAddress(std::move(a));
  } else if (auto* rule = std::get_if<gcp::ForwardingRule>(&step.payload)) {
    gcp::ForwardingRule r = *rule;
    r.request_id = request_id;
    created = co_await clients.compute->InsertForwardingRule(std::move(r));
  } else if (auto* peering = std::get_if<gcp::PeeringConnection>(&step.payload)) {
    created = co_await clients.networking->CreateConnection(*peering);
  } else if (connector) {
    // A create, or a replace: the replacement is created under its own
    // name beside the old connector, which is never deleted.
    created = co_await clients.vpc->CreateConnector(*connector);
  }
  if (created) {
    create_refused = !created->ok() && IsAlreadyExists(created->status());
    out.status = co_await AwaitOperation(ctx, step, std::move(*created));
    if (connector && out.status.ok()) {
      out.status = co_await WaitConnectorReady(ctx, step, *connector);
    }
  } else if (auto* cpatch = std::get_if<gcp::ConnectorPatch>(&step.payload)) {
    gcp::ConnectorPatch p = *cpatch;
    gcp::Connector c = p.connector;
    auto op = co_await clients.vpc->PatchConnector(std::move(p));
    out.status = co_await AwaitOperation(ctx, step, std::move(op));
    if (out.status.ok()) out.status = co_await WaitConnectorReady(ctx, step, c);
  } else if (auto* workload = std::get_if<gcp::RunWorkload>(&step.payload)) {
    gcp::RunWorkload w = *workload;
    StatusOr<gcp::Operation> op = InternalError("unset");
    if (w.kind == gcp::RunKind::kJob) {
      op = co_await clients.run->PatchJob(std::move(w));
    } else {
      op = co_await clients.run->PatchService(std::move(w));
    }
    out.status = co_await AwaitOperation(ctx, step, std::move(op));
  }
  if (ctx.observer) ctx.observer->Finished(step, out.status);
  if (create_refused) {
    // Created already (by our own earlier attempt whose answer was lost, or
    // by someone else): adopt it, never create twice.
    Emit(ctx, ApplyProgress::Kind::kConflict, &step,
         std::string(ToString(step.resource.kind)) + " " + step.resource.name +
             " already exists; adopting it",
         milliseconds(0), out.status);
    out.status = co_await WaitUntilVisible(ctx, step);
    out.replan = out.status.ok();
    co_return out;
  }
  out.wrote = out.status.ok();
  co_return out;
}

// Verification records derived from live executions (see JobVerification):
// for each declared job, its newest execution if it was created at or after
// the job's last change. Records from earlier passes stay when Google shows
// nothing newer (a pending verification not started yet).
void DeriveVerifications(const config::Intent& intent, LiveState& live) {
  if (!intent.policy.verify) return;
  for (const auto& w : intent.workloads) {
    if (w.kind != config::WorkloadKind::kJob) continue;
    auto it = live.jobs.find(w.name);
    if (it == live.jobs.end()) continue;
    const gcp::RunWorkload& job = it->second;
    if (job.latest_execution.empty() || job.latest_execution_create_time.empty()) continue;
    if (!job.update_time.empty() &&
        NormalizeTime(job.latest_execution_create_time) < NormalizeTime(job.update_time)) {
      continue;  // ran an older configuration
    }
    JobVerification v;
    v.execution = job.latest_execution;
    const std::string& st = job.latest_execution_status;
    if (st == "EXECUTION_SUCCEEDED") {
      v.state = JobVerification::State::kSucceeded;
    } else if (st == "EXECUTION_FAILED" || st == "EXECUTION_CANCELLED") {
      v.state = JobVerification::State::kFailed;
      v.message = "execution " + job.latest_execution.substr(job.latest_execution.rfind('/') + 1) +
                  (st == "EXECUTION_FAILED" ? " failed" : " was cancelled");
    } else {
      v.state = JobVerification::State::kPending;  // running: adopt, never start another
    }
    auto known = live.verifications.find(w.name);
    if (known != live.verifications.end() && known->second.execution == v.execution &&
        (known->second.state == v.state ||
         known->second.state != JobVerification::State::kPending)) {
      // Same execution: keep the fuller message, and an outcome already
      // read from the execution itself (the job's summary may lag).
      continue;
    }
    live.verifications[w.name] = std::move(v);
  }
}

}  // namespace

std::string RequestIdKey(const Step& step) { return ChangeFingerprint(step); }

std::string_view ToString(WriteBlock block) {
  switch (block) {
    case WriteBlock::kNone: return "";
    case WriteBlock::kPaused: return "paused";
    case WriteBlock::kObserving: return "observing";
    case WriteBlock::kDriftFight: return "drift fight";
  }
  return "";
}

namespace {

// Why a pass of `intent` under `options` may not write: the intent's own
// policy first (the planner marks those plans), then the caller's reason.
WriteBlock BlockOf(const config::Intent& intent, const ApplyOptions& options) {
  if (intent.policy.paused) return WriteBlock::kPaused;
  if (intent.policy.mode == config::PolicyMode::kObserve) return WriteBlock::kObserving;
  return options.report_only;
}

// The caller's report-only reason on a plan the intent alone would let act.
void MarkReportOnly(Plan& plan, WriteBlock block) {
  if (block == WriteBlock::kNone || plan.report_only) return;
  plan.report_only = true;
  plan.report_only_reason = std::string(ToString(block));
  for (Step& s : plan.steps) s.report_only = true;
}

}  // namespace

gcp::Task<StatusOr<JobRunOutcome>> RunJobAndWait(gcp::Clients clients, std::string project,
                                                 std::string region, std::string job,
                                                 gcp::WaitOptions options) {
  co_return co_await RunAndWatch(clients, std::move(project), std::move(region), std::move(job),
                                 std::move(options));
}

gcp::Task<ApplyResult> Apply(gcp::Clients clients, config::Intent intent, ApplyOptions options,
                             std::map<std::string, JobVerification> verifications) {
  ApplyResult result;
  result.verifications = std::move(verifications);
  result.block = BlockOf(intent, options);
  PassContext ctx;
  ctx.clients = clients;
  ctx.intent = &intent;
  ctx.sleeper = options.sleeper ? options.sleeper : gcp::AsioSleeper();
  ctx.clock = options.wait.clock ? options.wait.clock : gcp::SteadyClock();
  ctx.gate = options.gate ? options.gate : InstanceOperationGate::Create();
  ctx.observer = options.observer;
  ctx.progress = options.progress;
  ctx.may_write = options.may_write;
  ctx.deadline = ctx.clock() + options.timeout;
  ctx.wait = options.wait;
  if (!ctx.wait.sleeper) ctx.wait.sleeper = ctx.sleeper;
  ctx.request_ids = options.request_ids ? options.request_ids : std::make_shared<RequestIds>();
  // spec.projectNumber left out: looked up (and a declared one checked)
  // before anything is observed or written.
  if (auto resolved = co_await ResolveProjectNumber(clients, std::move(intent)); resolved.ok()) {
    intent = std::move(*resolved);
  } else {
    result.status = resolved.status();
    co_return result;
  }
  gcp::RetryPolicy transient_policy(options.transient,
                                    options.rng ? options.rng : gcp::DefaultRng());
  int transient = 0;  // transient failures since the last step that succeeded
  // The jittered backoff before observing again after a transient failure,
  // or why there is no room for another observation (bound or deadline).
  auto next_backoff = [&](const Status& why) -> StatusOr<milliseconds> {
    auto delay = transient_policy.Backoff(transient);
    ++transient;
    if (transient >= options.transient.max_attempts) {
      return Status(why).Annotate("giving up after " + std::to_string(transient) +
                                  " transient failures without progress");
    }
    if (ctx.clock() + delay >= ctx.deadline) {
      return DeadlineExceededError(
          "apply did not converge within " +
          std::to_string(duration_cast<std::chrono::seconds>(options.timeout).count()) +
          "s (raise --timeout to wait longer); last error: " + why.message());
    }
    return delay;
  };

  std::set<std::string> sent;
  std::map<std::string, gcp::Operation> interrupted = options.interrupted;
  int conflicts = 0;
  int idle_polls = 0;
  bool first = true;
  // This pass observes directly (see ApplyOptions::observations).
  bool fresh = options.observations && options.start_fresh;
  for (int round = 0; round < options.max_rounds; ++round) {
    auto now = ctx.clock();
    if (now >= ctx.deadline) {
      result.status = DeadlineExceededError(
          "apply did not converge within " +
          std::to_string(duration_cast<std::chrono::seconds>(options.timeout).count()) +
          "s (raise --timeout to wait longer)");
      co_return result;
    }
    ctx.wait.timeout = std::min(options.wait.timeout,
                                duration_cast<milliseconds>(ctx.deadline - now));
    StatusOr<LiveState> live = InternalError("not observed");
    if (!options.observations && options.observe) {
      live = co_await options.observe(clients, intent);
    } else if (!options.observations) {
      live = co_await Observe(clients, intent);
    } else if (fresh) {
      live = co_await options.observations->ObserveFresh(intent);
    } else {
      live = co_await options.observations->Observe(intent);
    }
    if (!live.ok()) {
      if (IsTransient(live.status())) {
        --round;  // bounded by the transient budget and the deadline instead
        Emit(ctx, ApplyProgress::Kind::kConflict, nullptr,
             "reading live state failed (" + live.status().message() + "); retrying",
             milliseconds(0), live.status());
        Status paused = co_await BackOff(ctx.sleeper, next_backoff(live.status()), nullptr);
        if (!paused.ok()) {
          result.status = std::move(paused);
          co_return result;
        }
        continue;
      }
      result.status = live.status();
      co_return result;
    }
    live->verifications = result.verifications;
    DeriveVerifications(intent, *live);
    result.verifications = live->verifications;
    ctx.live = &*live;
    result.last_plan = options.planner ? options.planner(intent, *live) : ComputePlan(intent, *live);
    MarkReportOnly(result.last_plan, options.report_only);
    if (first) {
      result.first_plan = result.last_plan;
      first = false;
    }
    result.converged = result.last_plan.steps.empty();
    if (result.last_plan.report_only) co_return result;

    const Step* ready = FirstReadyStep(result.last_plan);
    if (options.observations && !fresh && (ready || result.last_plan.summary().waiting > 0)) {
      // Never act on a shared snapshot (up to max_age old, no raw documents):
      // read this intent's resources now and plan again; the rest of the
      // pass stays fresh.
      fresh = true;
      first = true;
      continue;
    }
    bool settling = ready && sent.count(ChangeFingerprint(*ready)) > 0;
    if (!ready || settling) {
      if ((settling || result.last_plan.summary().waiting > 0) &&
          idle_polls < options.max_idle_polls) {
        ++idle_polls;
        Emit(ctx, ApplyProgress::Kind::kIdle, nullptr,
             settling ? "step " + ready->id + " to show its change"
                      : "resources to settle before the next step",
             milliseconds(0));
        Status slept = co_await ctx.sleeper(options.idle_poll);
        if (!slept.ok()) {
          result.status = slept;
          co_return result;
        }
        continue;
      }
      if (settling) {
        result.failed_step = ready->id;
        result.status = FailedPreconditionError(
            "step " + ready->id + " still differs after its write was applied; not sending it "
            "again (another writer may be reverting it)");
      }
      co_return result;  // converged, or only blocked steps left
    }
    idle_polls = 0;
    if (auto it = interrupted.find(ready->id); it != interrupted.end()) {
      gcp::Operation op = it->second;
      interrupted.erase(it);
      Step waiting = *ready;
      Status waited = co_await WaitInterrupted(ctx, waiting, op);
      if (!waited.ok()) {
        result.failed_step = waiting.id;
        result.status = std::move(waited).Annotate("step " + waiting.id);
        co_return result;
      }
      --round;  // observe again; counts against the deadline, not the rounds
      continue;
    }
    Step step = *ready;
    if (options.on_step) options.on_step(step);
    auto started = ctx.clock();
    Emit(ctx, ApplyProgress::Kind::kStepStarted, &step, step.id, milliseconds(0));
    StepOutcome outcome = co_await Execute(ctx, step);
    // Whatever came of it, the shared snapshot no longer speaks for it.
    if (options.observations) options.observations->Invalidate(intent, step.resource);
    auto elapsed = duration_cast<milliseconds>(ctx.clock() - started);
    ctx.live = nullptr;
    if (outcome.status.ok() && outcome.replan) {
      // Pending work waited for, or an existing resource adopted: what to
      // do next comes from a fresh observation (counts as a round).
      transient = 0;
      continue;
    }
    if (!outcome.status.ok() && IsTransient(outcome.status)) {
      // The answer is lost or Google is struggling: whether the write took
      // effect is unknown. Never resend on this; observe again after a
      // backoff and let the fresh plan decide.
      --round;
      Emit(ctx, ApplyProgress::Kind::kConflict, &step,
           "outcome of " + step.id + " unknown (" + outcome.status.message() +
               "); re-reading before anything else",
           elapsed, outcome.status);
      bool gave_up = false;
      Status paused = co_await BackOff(ctx.sleeper, next_backoff(outcome.status), &gave_up);
      if (!paused.ok()) {
        if (gave_up) {
          result.failed_step = step.id;
          paused = std::move(paused).Annotate("step " + step.id);
        }
        result.status = std::move(paused);
        co_return result;
      }
      continue;
    }
    transient = 0;
    if (!outcome.status.ok()) {
      if (IsConflict(outcome.status) && ++conflicts <= options.max_conflicts) {
        // Nothing was applied (a 409 already waited for the running
        // operation); the re-observation picks up the new settingsVersion
        // or etag and the re-plan decides what is still needed.
        Emit(ctx, ApplyProgress::Kind::kConflict, &step,
             "re-reading " + step.id + " after " + std::string(outcome.status.reason().empty()
                                                                   ? "a conflict"
                                                                   : outcome.status.reason()),
             elapsed, outcome.status);
        continue;
      }
      Emit(ctx, ApplyProgress::Kind::kStepFinished, &step, step.id, elapsed, outcome.status);
      result.failed_step = step.id;
      result.status = std::move(outcome.status).Annotate("step " + step.id);
      co_return result;
    }
    Emit(ctx, ApplyProgress::Kind::kStepFinished, &step, step.id, elapsed);
    conflicts = 0;
    if (step.action != Action::kRun) sent.insert(ChangeFingerprint(step));
    result.executed.push_back(step.id);
    if (outcome.verification) result.verifications[step.resource.name] = *outcome.verification;
    if (step.resource.kind == ResourceKind::kJob && step.action == Action::kUpdate &&
        intent.policy.verify) {
      result.verifications[step.resource.name] = {JobVerification::State::kPending, "", ""};
    }
  }
  result.status = AbortedError("apply did not converge within " +
                               std::to_string(options.max_rounds) + " rounds");
  co_return result;
}

}  // namespace dbconnd::reconcilers
