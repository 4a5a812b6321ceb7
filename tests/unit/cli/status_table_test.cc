#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "../reconcilers/fakes.h"
#include "controller/controller.h"
#include "cli/status_table.h"
#include "tests/unit/controller/test_util.h"

namespace dbconnd::cli {
using controller::Controller;
using controller::ControllerOptions;
namespace {

TEST_CASE("dbconnd status renders the controller's /status as a table") {
  boost::asio::io_context io;
  reconcilers::testing::FakeCloud cloud{reconcilers::testing::SeedLive()};
  ControllerOptions o;
  o.observe = true;
  auto c = Controller::Create(io.get_executor(), cloud.clients(), o, nullptr, nullptr);
  auto state = config::DesiredState::Of({reconcilers::testing::SeedIntent()});
  c->SetDesiredState(state, 4);
  c->SetConfigErrors({"/etc/dbconnd/x.yaml:3:1: error: spec: unknown key"});
  c->Start();
  REQUIRE(controller::testutil::RunUntil(io, [&] { return !c->Statuses().empty() && !c->Statuses()[0].last_reconcile.empty(); }));
  auto doc = boost::json::parse(c->StatusJson()).as_object();
  std::string table = RenderStatusTable(doc, true);
  INFO(table);
  CHECK(table.find("generation 4") != std::string::npos);
  CHECK(table.find("observe only") != std::string::npos);
  CHECK(table.find("ConfigInvalid") != std::string::npos);
  CHECK(table.find("x.yaml:3:1") != std::string::npos);
  CHECK(table.find("NAME") != std::string::npos);
  CHECK(table.find("saleor ") != std::string::npos);
  CHECK(table.find("Observing") != std::string::npos);
  CHECK(table.find("  instance/saleor-db-demo") != std::string::npos);
  CHECK(table.find(reconcilers::testing::kPassword) == std::string::npos);
  CHECK_FALSE(AllReady(doc));
  auto empty = boost::json::parse(R"({"intents":[{"name":"a","conditions":[{"type":"Ready","status":"True"}]}]})").as_object();
  CHECK(AllReady(empty));
}

}  // namespace
}  // namespace dbconnd::cli
