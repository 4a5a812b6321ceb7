// Cost of hostile values on the display path: redacting and
// capping a 1 MiB env value, diffing and rendering 10,000 authorized
// networks, and parsing a reply nested 100 levels deep (refused by
// Boost.JSON's default max_depth of 32, as every gcp/ parse uses it).
// Goal: each well under the 100 ms a stalled loop may cost.
//
//   redact_bench [iterations=20]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include <boost/json.hpp>

#include "common/db_url.h"
#include "common/redact.h"
#include "reconcilers/diff.h"

namespace {

double MsPerRun(int iterations, const std::function<void()>& fn) {
  fn();  // warm-up
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) fn();
  const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
  return took.count() / iterations;
}

volatile std::size_t g_sink = 0;

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 20;
  const std::string letters(1 << 20, 'a');
  const std::string url = "postgresql://app:" + letters + "@10.0.0.3:5432/db";
  std::string dsn;
  while (dsn.size() < (1u << 20)) dsn += "host=x password='a b\\'c' ";
  std::string schemes;
  while (schemes.size() < (1u << 20)) schemes += "a://b";

  std::printf("%-52s %10s\n", "case", "ms/run");
  auto row = [&](const char* name, const std::function<void()>& fn) {
    std::printf("%-52s %10.3f\n", name, MsPerRun(iterations, fn));
  };
  row("Redact 40 kB of letters (once a SIGSEGV in std::regex)",
      [&] { g_sink = g_sink + dbconnd::Redact(letters.substr(0, 40000)).size(); });
  row("Redact 1 MiB of letters", [&] { g_sink = g_sink + dbconnd::Redact(letters).size(); });
  row("Redact a URL with a 1 MiB password", [&] { g_sink = g_sink + dbconnd::Redact(url).size(); });
  row("Redact 1 MiB of libpq password='...' pairs",
      [&] { g_sink = g_sink + dbconnd::Redact(dsn).size(); });
  row("Redact 1 MiB of a://b://...", [&] { g_sink = g_sink + dbconnd::Redact(schemes).size(); });
  row("HasLiteralPassword on a 1 MiB URL",
      [&] { g_sink = g_sink + dbconnd::HasLiteralPassword(url); });
  row("ParseDbUrl on a 1 MiB URL",
      [&] { g_sink = g_sink + dbconnd::ParseDbUrl(url)->password.size(); });
  row("RedactForDisplay 1 MiB (redact + cap to 200)",
      [&] { g_sink = g_sink + dbconnd::RedactForDisplay(letters).size(); });

  dbconnd::gcp::SqlInstance live;
  live.name = "db";
  for (int i = 0; i < 10000; ++i) {
    dbconnd::gcp::AclEntry e;
    e.value = "10." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + ".0/24";
    e.name = "net-" + std::to_string(i);
    live.authorized_networks.push_back(e);
  }
  dbconnd::gcp::SqlInstance desired = live;
  desired.authorized_networks.clear();
  row("DiffInstance: prune 10,000 authorized networks", [&] {
    g_sink = g_sink + dbconnd::reconcilers::DiffInstance(desired, live).size();
  });

  dbconnd::gcp::RunWorkload live_job;
  live_job.name = "migrate";
  live_job.containers.push_back({});
  live_job.containers[0].env.push_back({"DATABASE_URL", letters, std::nullopt});
  dbconnd::gcp::RunWorkload want_job = live_job;
  want_job.containers[0].env[0].value = "postgresql://app@10.0.0.3/db";
  row("DiffWorkload: 1 MiB DATABASE_URL drift", [&] {
    auto ch = dbconnd::reconcilers::DiffWorkload(want_job, live_job);
    g_sink = g_sink + ch.size() + (ch.empty() ? 0 : ch[0].before.size());
  });

  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 100; ++i) deep += "}";
  boost::system::error_code ec;
  (void)boost::json::parse(deep, ec);
  std::printf("JSON nested 100 deep, default parse: %s\n",
              ec ? ("refused (" + ec.message() + ")").c_str() : "accepted");
  row("json::parse of a reply nested 100 levels", [&] {
    boost::system::error_code e;
    g_sink = g_sink + boost::json::parse(deep, e).is_null();
  });
  return 0;
}
