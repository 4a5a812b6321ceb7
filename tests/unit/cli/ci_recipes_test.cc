// The CI recipes in examples/ci/ and the GitOps overlay: each parses, and
// every `dbconnd <command> <flags>` they run exists in this very CLI (asked
// from the CLI11 app, not from a list kept by hand), so a renamed flag breaks
// this test instead of a user's pipeline.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "config/loader.h"
#include "config/yaml_json.h"
#include "cli/cli.h"
#include "cli/plan_output.h"

namespace dbconnd::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kRoot = DBCONND_SOURCE_DIR;
const fs::path kCi = kRoot / "examples/ci";
const fs::path kGitops = kRoot / "deploy/kubernetes/overlays/gitops";

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  INFO(p.string());
  REQUIRE(in.good());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

json::value Parse(const fs::path& p) {
  auto v = config::YamlToJson(Read(p));
  INFO(p.string() << ": " << (v.ok() ? "" : v.status().message()));
  REQUIRE(v.ok());
  REQUIRE(v->is_object());
  return *v;
}

void Strings(const json::value& v, std::vector<std::string>& out) {
  if (v.is_string()) {
    out.emplace_back(v.as_string());
  } else if (v.is_array()) {
    for (const auto& x : v.as_array()) Strings(x, out);
  } else if (v.is_object()) {
    for (const auto& [k, x] : v.as_object()) Strings(x, out);
  }
}

struct Invocation {
  std::string command;
  std::vector<std::string> flags;  // as written, before any '='
  std::vector<std::string> words;  // every token after the command
};

// Every `dbconnd SUBCOMMAND ...` in a shell text, up to a shell separator.
std::vector<Invocation> Invocations(const std::string& text) {
  std::string joined;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '\n') {
      ++i;
      joined += ' ';
    } else {
      joined += text[i];
    }
  }
  std::vector<Invocation> out;
  std::istringstream lines(joined);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::vector<std::string> tokens;
    for (std::string w; words >> w;) {
      if (w.size() >= 2 && (w.front() == '"' || w.front() == '\'') && w.back() == w.front()) {
        w = w.substr(1, w.size() - 2);
      }
      tokens.push_back(w);
    }
    for (size_t i = 0; i + 1 < tokens.size(); ++i) {
      if (tokens[i] != "dbconnd") continue;
      Invocation inv;
      inv.command = tokens[i + 1];
      for (size_t j = i + 2; j < tokens.size(); ++j) {
        const std::string& t = tokens[j];
        if (t == "|" || t == "||" || t == "&&" || t == ";" || t[0] == '>' || t[0] == '<' ||
            t.rfind("2>", 0) == 0) {
          break;
        }
        inv.words.push_back(t);
        if (t.size() > 1 && t[0] == '-') inv.flags.push_back(t.substr(0, t.find('=')));
      }
      out.push_back(inv);
    }
  }
  return out;
}

// What the CLI does not know in `inv`: "" when all of it exists.
std::string Unknown(CLI::App& app, const Invocation& inv) {
  CLI::App* sub = nullptr;
  try {
    sub = app.get_subcommand(inv.command);
  } catch (const CLI::Error&) {
    return "no command `dbconnd " + inv.command + "`";
  }
  for (const auto& f : inv.flags) {
    if (sub->get_option_no_throw(f) == nullptr) {
      return "`dbconnd " + inv.command + "` has no flag " + f;
    }
  }
  return "";
}

std::vector<Invocation> RecipeInvocations(const fs::path& p) {
  std::vector<std::string> strings;
  Strings(Parse(p), strings);
  std::vector<Invocation> all;
  for (const auto& s : strings) {
    for (auto& inv : Invocations(s)) all.push_back(std::move(inv));
  }
  return all;
}

bool Uses(const std::vector<Invocation>& all, const std::string& command,
          const std::vector<std::string>& words) {
  for (const auto& inv : all) {
    if (inv.command != command) continue;
    bool ok = true;
    for (const auto& w : words) {
      ok = ok && std::find(inv.words.begin(), inv.words.end(), w) != inv.words.end();
    }
    if (ok) return true;
  }
  return false;
}

TEST_CASE("ci recipes: the checker finds commands and flags the CLI lacks", "[ci]") {
  std::ostringstream out, err;
  CommandContext ctx{&out, &err, kExitOk};
  auto app = BuildApp(ctx);
  auto good = Invocations("set -e\ndbconnd plan -o markdown \\\n  --no-color \"$D\" > plan.md");
  REQUIRE(good.size() == 1);
  CHECK(good[0].flags == std::vector<std::string>{"-o", "--no-color"});
  CHECK(Unknown(*app, good[0]).empty());
  auto bad_flag = Invocations("dbconnd apply --auto-approve intents/");
  REQUIRE(bad_flag.size() == 1);
  CHECK(Unknown(*app, bad_flag[0]) == "`dbconnd apply` has no flag --auto-approve");
  auto bad_command = Invocations("x && dbconnd import --project p");
  REQUIRE(bad_command.size() == 1);
  CHECK_FALSE(Unknown(*app, bad_command[0]).empty());
  CHECK(Unknown(*app, Invocations("dbconnd export --project=p --output-dir d")[0]).empty());
}

TEST_CASE("ci recipes: every recipe parses and uses only commands and flags dbconnd has", "[ci]") {
  std::ostringstream out, err;
  CommandContext ctx{&out, &err, kExitOk};
  auto app = BuildApp(ctx);
  size_t recipes = 0;
  for (const auto& e : fs::directory_iterator(kCi)) {
    const auto ext = e.path().extension();
    if (ext != ".yml" && ext != ".yaml") continue;
    ++recipes;
    for (const auto& inv : RecipeInvocations(e.path())) {
      INFO(e.path().filename().string() << ": dbconnd " << inv.command);
      CHECK(Unknown(*app, inv) == "");
    }
  }
  CHECK(recipes >= 4);
}

TEST_CASE("ci recipes: GitHub Actions validates, comments the plan once, applies on main", "[ci]") {
  const fs::path p = kCi / "github-actions.yml";
  json::value wf = Parse(p);
  CHECK(wf.at("on").as_object().contains("pull_request"));
  const auto& jobs = wf.at("jobs").as_object();
  std::vector<std::string> plan_strings, apply_strings;
  Strings(jobs.at("plan"), plan_strings);
  Strings(jobs.at("apply"), apply_strings);
  std::vector<Invocation> plan, apply;
  for (const auto& s : plan_strings) {
    for (auto& i : Invocations(s)) plan.push_back(i);
  }
  for (const auto& s : apply_strings) {
    for (auto& i : Invocations(s)) apply.push_back(i);
  }
  CHECK(Uses(plan, "validate", {}));
  CHECK(Uses(plan, "plan", {"-o", "markdown"}));
  CHECK(Uses(apply, "apply", {"--yes"}));
  CHECK_FALSE(Uses(plan, "apply", {}));
  // One comment: the script looks for the marker the Markdown output starts with.
  bool finds_marker = false;
  for (const auto& s : plan_strings) {
    if (s.find(kMarkdownMarker) != std::string::npos &&
        s.find("updateComment") != std::string::npos) {
      finds_marker = true;
    }
  }
  CHECK(finds_marker);
  const auto& apply_job = jobs.at("apply").as_object();
  REQUIRE(apply_job.contains("concurrency"));
  CHECK(!apply_job.at("concurrency").at("group").as_string().empty());
  CHECK(apply_job.at("concurrency").at("cancel-in-progress").as_string() == "false");
  CHECK(std::string(apply_job.at("if").as_string()).find("refs/heads/main") != std::string::npos);
}

TEST_CASE("ci recipes: GitLab CI does the same with one note and a resource group", "[ci]") {
  const fs::path p = kCi / "gitlab-ci.yml";
  json::value ci = Parse(p);
  const auto& doc = ci.as_object();
  auto all = RecipeInvocations(p);
  CHECK(Uses(all, "validate", {}));
  CHECK(Uses(all, "plan", {"-o", "markdown"}));
  CHECK(Uses(all, "apply", {"--yes"}));
  REQUIRE(doc.contains("apply"));
  CHECK(doc.at("apply").as_object().contains("resource_group"));
  std::vector<std::string> comment;
  Strings(doc.at("plan-comment"), comment);
  bool finds_marker = false;
  for (const auto& s : comment)
    finds_marker = finds_marker || s.find(kMarkdownMarker) != std::string::npos;
  CHECK(finds_marker);
}

TEST_CASE("ci recipes: Argo CD and Flux point at the GitOps overlay", "[ci]") {
  json::value argo = Parse(kCi / "argocd-application.yaml");
  CHECK(fs::exists(kRoot / std::string(argo.at("spec").at("source").at("path").as_string()) /
                   "kustomization.yaml"));
  json::value flux = Parse(kCi / "flux-kustomization.yaml");
  CHECK(fs::exists(kRoot / std::string(flux.at("spec").at("path").as_string()) /
                   "kustomization.yaml"));
}

TEST_CASE("gitops overlay: the ConfigMap the daemon mounts is generated from intents/", "[ci]") {
  json::value k = Parse(kGitops / "kustomization.yaml");
  json::value base_cm = Parse(kRoot / "deploy/kubernetes/base/configmap.yaml");
  const std::string mounted(base_cm.at("metadata").at("name").as_string());
  const json::value* gen = nullptr;
  for (const auto& g : k.at("configMapGenerator").as_array()) {
    if (g.at("name").as_string() == mounted) gen = &g;
  }
  REQUIRE(gen != nullptr);
  CHECK(gen->at("behavior").as_string() == "replace");
  // Every file listed exists under intents/, and every intent file is listed.
  std::set<std::string> listed, present;
  for (const auto& f : gen->at("files").as_array()) listed.insert(std::string(f.as_string()));
  for (const auto& e : fs::directory_iterator(kGitops / "intents")) {
    present.insert("intents/" + e.path().filename().string());
  }
  CHECK(listed == present);
  // And they are valid intents.
  config::LoadResult r = config::LoadPaths({(kGitops / "intents").string()});
  for (const auto& d : r.diagnostics) INFO(config::FormatDiagnostic(d));
  CHECK(r.ok());
  CHECK(r.state->intents.size() >= 1);
}

}  // namespace
}  // namespace dbconnd::cli
