#include "config/emit.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace dbconnd::config {
namespace {

constexpr size_t kMaxComment = 1000;  // per comment, before wrapping
constexpr size_t kCommentWidth = 96;

bool SafePlainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '/' || c == '@' || c == '$' || c == '-';
}

// Words YAML 1.1 or 1.2 reads as something other than a string.
bool SpecialWord(std::string_view s) {
  static constexpr std::array<std::string_view, 22> kWords = {
      "true", "false", "yes",  "no",    "on",  "off", "y",  "n",   "null", "~",    ".nan",
      ".inf", "-.inf", "True", "False", "Yes", "No",  "On", "Off", "Null", "NULL", "TRUE"};
  if (std::find(kWords.begin(), kWords.end(), s) != kWords.end()) return true;
  std::string lower(s);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return lower == "true" || lower == "false" || lower == "yes" || lower == "no" || lower == "on" ||
         lower == "off" || lower == "null";
}

bool LooksNumeric(std::string_view s) {
  // What some YAML parser may read as an int, float, octal, hex, sexagesimal
  // or timestamp: quote it. "10.8.0.0/28" and "db-1" stay plain.
  if (s.size() >= 5 && s[4] == '-' &&
      std::all_of(s.begin(), s.begin() + 4, [](char c) { return c >= '0' && c <= '9'; })) {
    return true;
  }
  char c = s.front();
  if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.')) return false;
  return std::all_of(s.begin(), s.end(), [](char x) {
    return std::string_view("0123456789.+-_:eExXoObB").find(x) != std::string_view::npos;
  });
}

// One comment, wrapped at spaces to kCommentWidth columns. Leading spaces
// are kept on the first line (indented list items in a comment).
std::string Comment(std::string_view indent, std::string_view line) {
  std::string text(line.substr(0, kMaxComment));
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  if (text.empty()) return std::string(indent) + "#\n";
  size_t lead = text.find_first_not_of(' ');
  const std::string cont = std::string(indent) + "# " + std::string(lead, ' ') + "  ";
  std::string out = std::string(indent) + "# ";
  size_t col = out.size();
  size_t i = 0;
  bool first_word = true;
  out += text.substr(0, lead);
  col += lead;
  i = lead;
  while (i < text.size()) {
    size_t end = text.find(' ', i);
    if (end == std::string::npos) end = text.size();
    std::string word = text.substr(i, end - i);
    if (!first_word && col + 1 + word.size() > kCommentWidth) {
      out += "\n" + cont;
      col = cont.size();
      first_word = true;
    }
    if (!first_word) {
      out += ' ';
      ++col;
    }
    out += word;
    col += word.size();
    first_word = false;
    i = end;
    while (i < text.size() && text[i] == ' ') ++i;
  }
  return out + "\n";
}

void Comments(std::string& out, std::string_view indent, const std::vector<std::string>& lines) {
  for (const auto& l : lines) out += Comment(indent, l);
}

void Key(std::string& out, std::string_view indent, std::string_view key,
         const std::string& value) {
  out += std::string(indent) + std::string(key) + ": " + EmitYamlScalar(value) + "\n";
}
void KeyBool(std::string& out, std::string_view indent, std::string_view key, bool value) {
  out += std::string(indent) + std::string(key) + ": " + (value ? "true" : "false") + "\n";
}
void KeyInt(std::string& out, std::string_view indent, std::string_view key, int value) {
  out += std::string(indent) + std::string(key) + ": " + std::to_string(value) + "\n";
}

std::string Duration(std::chrono::seconds d) {
  long long s = d.count();
  if (s > 0 && s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s > 0 && s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

void EmitInstance(std::string& out, const Instance& in) {
  out += "  instance:\n";
  Key(out, "    ", "name", in.name);
  if (in.ssl_mode) Key(out, "    ", "sslMode", std::string(ToString(*in.ssl_mode)));
  if (in.iam_authentication) KeyBool(out, "    ", "iamAuthentication", *in.iam_authentication);
  if (in.connector_enforcement) {
    Key(out, "    ", "connectorEnforcement", std::string(ToString(*in.connector_enforcement)));
  }
  if (in.public_ip) {
    out += "    publicIp:\n";
    KeyBool(out, "      ", "enabled", in.public_ip->enabled);
    if (!in.public_ip->authorized_networks.empty()) {
      out += "      authorizedNetworks:\n";
      for (const auto& n : in.public_ip->authorized_networks) {
        out += "        - name: " + EmitYamlScalar(n.name) + "\n";
        Key(out, "          ", "cidr", n.cidr);
        if (!n.expires.empty()) Key(out, "          ", "expires", n.expires);
      }
    }
  }
  if (in.private_ip) {
    const auto& p = *in.private_ip;
    out += "    privateIp:\n";
    Key(out, "      ", "network", p.network);
    const auto& sa = p.services_access;
    const bool prefix_given = sa.cidr.empty() && sa.prefix_length != 16;
    if (!sa.range_name.empty() || !sa.cidr.empty() || prefix_given) {
      out += "      servicesAccess:\n";
      if (!sa.range_name.empty()) Key(out, "        ", "rangeName", sa.range_name);
      if (!sa.cidr.empty()) Key(out, "        ", "cidr", sa.cidr);
      if (prefix_given) KeyInt(out, "        ", "prefixLength", sa.prefix_length);
    }
  }
  if (in.psc) {
    out += "    psc:\n";
    out += std::string("      enabled: ") + (in.psc->enabled ? "true" : "false") + "\n";
    if (!in.psc->allowed_consumer_projects.empty()) {
      out += "      allowedConsumerProjects:\n";
      for (const auto& p : in.psc->allowed_consumer_projects) out += "        - " + EmitYamlScalar(p) + "\n";
    }
  }
}

void EmitConnector(std::string& out, const Connector& c) {
  const Connector defaults;
  out += "  connector:\n";
  Key(out, "    ", "name", c.name);
  if (c.subnet) {
    out += "    subnet:\n";
    Key(out, "      ", "name", c.subnet->name);
    if (!c.subnet->project_id.empty()) Key(out, "      ", "projectId", c.subnet->project_id);
  } else {
    Key(out, "    ", "network", c.network);
    Key(out, "    ", "ipCidrRange", c.ip_cidr_range);
  }
  if (c.by_throughput()) {
    KeyInt(out, "    ", "minThroughput", c.min_throughput);
    KeyInt(out, "    ", "maxThroughput", c.max_throughput);
  } else {
    if (c.min_instances != defaults.min_instances)
      KeyInt(out, "    ", "minInstances", c.min_instances);
    if (c.max_instances != defaults.max_instances)
      KeyInt(out, "    ", "maxInstances", c.max_instances);
  }
  if (c.machine_type != defaults.machine_type) Key(out, "    ", "machineType", c.machine_type);
}

void EmitWorkload(std::string& out, const Workload& w) {
  const Workload defaults;
  out += std::string("    - ") + (w.kind == WorkloadKind::kJob ? "job" : "service") + ": " +
         EmitYamlScalar(w.name) + "\n";
  Key(out, "      ", "method", std::string(ToString(w.method)));
  if (!w.container.empty()) Key(out, "      ", "container", w.container);
  if (w.url_env != defaults.url_env) Key(out, "      ", "urlEnv", w.url_env);
  if (w.egress != defaults.egress) Key(out, "      ", "egress", std::string(ToString(w.egress)));
  if (w.direct_vpc) {
    out += "      directVpc:\n";
    Key(out, "        ", "network", w.direct_vpc->network);
    if (!w.direct_vpc->subnetwork.empty()) Key(out, "        ", "subnetwork", w.direct_vpc->subnetwork);
    if (!w.direct_vpc->tags.empty()) {
      out += "        tags:\n";
      for (const auto& t : w.direct_vpc->tags) out += "          - " + EmitYamlScalar(t) + "\n";
    }
  }
  if (w.psc) {
    out += "      psc:\n";
    Key(out, "        ", "endpoint", w.psc->endpoint);
    Key(out, "        ", "address", w.psc->address);
    Key(out, "        ", "network", w.psc->network);
    if (!w.psc->subnetwork.empty()) Key(out, "        ", "subnetwork", w.psc->subnetwork);
  }
  out += "      database:\n";
  Key(out, "        ", "name", w.database.name);
  Key(out, "        ", "user", w.database.user);
  if (!w.database.password_secret.empty()) {
    Key(out, "        ", "passwordSecret", w.database.password_secret);
  }
  if (w.database.password_env != defaults.database.password_env) {
    Key(out, "        ", "passwordEnv", w.database.password_env);
  }
}

void EmitPolicy(std::string& out, const Policy& p, const std::vector<std::string>& comments) {
  const Policy d;
  std::string body;
  if (p.mode != d.mode) Key(body, "    ", "mode", std::string(ToString(p.mode)));
  if (p.prune_authorized_networks != d.prune_authorized_networks) {
    KeyBool(body, "    ", "pruneAuthorizedNetworks", p.prune_authorized_networks);
  }
  if (p.allow_world_open != d.allow_world_open)
    KeyBool(body, "    ", "allowWorldOpen", p.allow_world_open);
  if (p.paused != d.paused) KeyBool(body, "    ", "paused", p.paused);
  if (p.allow_irreversible != d.allow_irreversible) {
    KeyBool(body, "    ", "allowIrreversible", p.allow_irreversible);
  }
  if (p.allow_replace != d.allow_replace) KeyBool(body, "    ", "allowReplace", p.allow_replace);
  if (p.verify != d.verify) KeyBool(body, "    ", "verify", p.verify);
  if (p.resync_interval != d.resync_interval) {
    Key(body, "    ", "resyncInterval", Duration(p.resync_interval));
  }
  if (body.empty() && comments.empty()) return;
  Comments(out, "  ", comments);
  if (body.empty()) return;
  out += "  policy:\n" + body;
}

}  // namespace

std::string EmitYamlScalar(const std::string& value) {
  bool plain = !value.empty() && !SpecialWord(value) && !LooksNumeric(value) &&
               std::all_of(value.begin(), value.end(), SafePlainChar);
  if (plain) return value;
  YAML::Emitter e;
  e.SetOutputCharset(YAML::EscapeNonAscii);
  e << YAML::DoubleQuoted << value;
  return e.c_str();
}

std::string EmitIntentYaml(const Intent& intent, const EmitComments& comments) {
  std::string out;
  Comments(out, "", comments.header);
  out += std::string("apiVersion: ") + kApiVersion + "\n";
  out += std::string("kind: ") + kKind + "\n";
  out += "metadata:\n";
  Key(out, "  ", "name", intent.name);
  out += "spec:\n";
  Key(out, "  ", "project", intent.project);
  if (!intent.project_number.empty()) Key(out, "  ", "projectNumber", intent.project_number);
  Key(out, "  ", "region", intent.region);
  Comments(out, "  ", comments.instance);
  EmitInstance(out, intent.instance);
  Comments(out, "  ", comments.connector);
  if (intent.connector) EmitConnector(out, *intent.connector);
  if (!intent.workloads.empty()) {
    out += "  workloads:\n";
    for (size_t i = 0; i < intent.workloads.size(); ++i) {
      if (i < comments.workloads.size()) Comments(out, "    ", comments.workloads[i]);
      EmitWorkload(out, intent.workloads[i]);
    }
  }
  Comments(out, "  ", comments.workloads_end);
  EmitPolicy(out, intent.policy, comments.policy);
  return out;
}

}  // namespace dbconnd::config
