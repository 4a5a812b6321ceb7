// The files shown in docs/CONFIG.md are the files users copy: every fenced
// block marked ```yaml intent is loaded by the real loader and must be valid
// with no warning, each connection path has its example, and the links into
// CONFIG.md's sections (from README.md and from CONFIG.md itself) land on a
// heading that exists. So the docs cannot drift from the loader.

#include <catch2/catch.hpp>

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config/loader.h"
#include "test_util.h"

namespace dbconnd::config {
namespace {

std::string ReadDoc(const char* rel) {
  std::ifstream in(std::string(DBCONND_SOURCE_DIR) + "/" + rel, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Block {
  int line = 0;         // 1-based line of the opening fence
  std::string section;  // the nearest heading above it
  std::string text;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Fenced blocks whose info string is exactly "yaml intent".
std::vector<Block> IntentBlocks(const std::string& md) {
  std::vector<Block> out;
  std::string section;
  const auto lines = Lines(md);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].starts_with("#")) section = lines[i];
    if (lines[i] != "```yaml intent") continue;
    Block b{static_cast<int>(i) + 1, section, ""};
    size_t j = i + 1;
    for (; j < lines.size() && !lines[j].starts_with("```"); ++j) b.text += lines[j] + "\n";
    REQUIRE(j < lines.size());  // an unclosed fence is a broken page
    out.push_back(std::move(b));
    i = j;
  }
  return out;
}

// GitHub's heading anchor: lowercase, spaces to '-', everything but
// letters, digits, '-' and '_' dropped.
std::string Slug(std::string heading) {
  size_t start = heading.find_first_not_of('#');
  heading = heading.substr(start == std::string::npos ? heading.size() : start);
  while (!heading.empty() && heading.front() == ' ') heading.erase(0, 1);
  std::string out;
  for (unsigned char c : heading) {
    if (std::isalnum(c)) {
      out += static_cast<char>(std::tolower(c));
    } else if (c == ' ' || c == '-') {
      out += '-';
    } else if (c == '_') {
      out += '_';
    }
  }
  return out;
}

std::set<std::string> Anchors(const std::string& md) {
  std::set<std::string> out;
  bool in_fence = false;
  for (const auto& l : Lines(md)) {
    if (l.starts_with("```")) in_fence = !in_fence;
    if (!in_fence && l.starts_with("#")) out.insert(Slug(l));
  }
  return out;
}

// Every "<prefix>ANCHOR)" in `md`.
std::vector<std::string> LinkedAnchors(const std::string& md, const std::string& prefix) {
  std::vector<std::string> out;
  for (size_t pos = md.find(prefix); pos != std::string::npos; pos = md.find(prefix, pos + 1)) {
    size_t start = pos + prefix.size();
    size_t end = md.find(')', start);
    if (end == std::string::npos) break;
    out.push_back(md.substr(start, end - start));
  }
  return out;
}

TEST_CASE("every ```yaml intent block in docs/CONFIG.md loads without error or warning", "[config][docs]") {
  const std::string md = ReadDoc("docs/CONFIG.md");
  const auto blocks = IntentBlocks(md);
  REQUIRE(blocks.size() >= 7);
  for (const auto& b : blocks) {
    const std::string name = "docs/CONFIG.md:" + std::to_string(b.line);
    LoadResult r = LoadString(b.text, name);
    INFO(name << " (" << b.section << ")\n" << b.text << testing::Dump(r));
    CHECK(r.ok());
    CHECK(r.error_count() == 0);
    CHECK(r.warning_count() == 0);
    REQUIRE(r.state != nullptr);
    CHECK(r.state->intents.size() == 1);
  }
}

TEST_CASE("docs/CONFIG.md shows every connection path with a file that declares it", "[config][docs]") {
  const std::string md = ReadDoc("docs/CONFIG.md");
  const auto blocks = IntentBlocks(md);
  auto in_section = [&](std::string_view heading) -> const Block* {
    for (const auto& b : blocks) {
      if (b.section == heading) return &b;
    }
    return nullptr;
  };
  auto loaded = [](const Block* b) -> std::shared_ptr<const DesiredState> {
    REQUIRE(b != nullptr);
    LoadResult r = LoadString(b->text, "block.yaml");
    INFO(b->text << testing::Dump(r));
    REQUIRE(r.ok());
    REQUIRE(r.state->intents.size() == 1);
    return r.state;
  };
  auto first = [](const std::shared_ptr<const DesiredState>& s) -> const Intent& { return *s->intents.front(); };

  SECTION("Cloud SQL socket") {
    auto s = loaded(in_section("### Path: Cloud SQL socket"));
    const Intent& i = first(s);
    REQUIRE_FALSE(i.workloads.empty());
    CHECK(i.workloads[0].method == ConnectionMethod::kCloudSqlSocket);
  }
  SECTION("private IP through a connector with ipCidrRange") {
    auto s = loaded(in_section("### Path: private IP through a connector"));
    const Intent& i = first(s);
    REQUIRE(i.connector);
    CHECK_FALSE(i.connector->ip_cidr_range.empty());
    CHECK_FALSE(i.connector->subnet);
    REQUIRE_FALSE(i.workloads.empty());
    CHECK(i.workloads[0].method == ConnectionMethod::kPrivateIp);
    CHECK_FALSE(i.workloads[0].direct_vpc);
  }
  SECTION("private IP through a Shared VPC connector: subnet, throughput, machine type, allowReplace") {
    auto s = loaded(in_section("### Path: private IP through a Shared VPC connector"));
    const Intent& i = first(s);
    REQUIRE(i.connector);
    REQUIRE(i.connector->subnet);
    CHECK_FALSE(i.connector->subnet->project_id.empty());
    CHECK(i.connector->by_throughput());
    CHECK(i.connector->machine_type != "e2-micro");
    CHECK(i.policy.allow_replace);
    CHECK(i.workloads.at(0).method == ConnectionMethod::kPrivateIp);
  }
  SECTION("private IP through Direct VPC egress") {
    auto s = loaded(in_section("### Path: private IP through Direct VPC egress"));
    const Intent& i = first(s);
    CHECK_FALSE(i.connector);
    REQUIRE_FALSE(i.workloads.empty());
    CHECK(i.workloads[0].method == ConnectionMethod::kPrivateIp);
    CHECK(i.workloads[0].direct_vpc);
  }
  SECTION("Private Service Connect") {
    auto s = loaded(in_section("### Path: Private Service Connect"));
    const Intent& i = first(s);
    REQUIRE(i.instance.psc);
    CHECK(i.instance.psc->enabled);
    CHECK_FALSE(i.instance.psc->allowed_consumer_projects.empty());
    REQUIRE_FALSE(i.workloads.empty());
    CHECK(i.workloads[0].method == ConnectionMethod::kPsc);
    CHECK(i.workloads[0].psc);
  }
  SECTION("public IP with authorized networks") {
    auto s = loaded(in_section("### Path: public IP with authorized networks"));
    const Intent& i = first(s);
    REQUIRE(i.instance.public_ip);
    CHECK(i.instance.public_ip->enabled);
    CHECK_FALSE(i.instance.public_ip->authorized_networks.empty());
    CHECK(i.workloads.at(0).method == ConnectionMethod::kPublicIp);
  }
  SECTION("hardening: connectorEnforcement REQUIRED with every workload on the socket") {
    auto s = loaded(in_section("### Hardening: connectorEnforcement: REQUIRED"));
    const Intent& i = first(s);
    REQUIRE(i.instance.connector_enforcement);
    CHECK(*i.instance.connector_enforcement == ConnectorEnforcement::kRequired);
    REQUIRE_FALSE(i.workloads.empty());
    for (const auto& w : i.workloads) CHECK(w.method == ConnectionMethod::kCloudSqlSocket);
  }
}

TEST_CASE("links into docs/CONFIG.md sections land on a heading", "[config][docs]") {
  const std::string config = ReadDoc("docs/CONFIG.md");
  const std::string readme = ReadDoc("README.md");
  const auto anchors = Anchors(config);
  const auto from_readme = LinkedAnchors(readme, "docs/CONFIG.md#");
  const auto from_config = LinkedAnchors(config, "](#");
  // README's table of paths links to each path's section.
  CHECK(from_readme.size() >= 7);
  CHECK(from_config.size() >= 7);
  for (const auto& a : from_readme) {
    INFO("README.md links to docs/CONFIG.md#" << a);
    CHECK(anchors.count(a) == 1);
  }
  for (const auto& a : from_config) {
    INFO("docs/CONFIG.md links to #" << a);
    CHECK(anchors.count(a) == 1);
  }
}

}  // namespace
}  // namespace dbconnd::config
