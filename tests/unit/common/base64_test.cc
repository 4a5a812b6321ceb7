// dbconnd::Base64*: RFC 4648's test vectors both ways, the URL alphabet
// without padding, and refusal of everything malformed.
#include "common/base64.h"

#include <catch2/catch.hpp>
#include <string>

namespace dbconnd {
namespace {

TEST_CASE("base64: RFC 4648 section 10 vectors", "[common][base64]") {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    INFO(plain);
    CHECK(Base64Encode(plain) == encoded);
    auto back = Base64Decode(encoded);
    REQUIRE(back);
    CHECK(*back == plain);
  }
}

TEST_CASE("base64: binary data round-trips exactly, no padding bytes", "[common][base64]") {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t len = 0; len <= all.size(); len += 17) {
    const std::string data = all.substr(0, len);
    auto std_back = Base64Decode(Base64Encode(data));
    REQUIRE(std_back);
    CHECK(*std_back == data);
    auto url_back = Base64Decode(Base64UrlEncode(data), {.url_alphabet = true, .padding_optional = true});
    REQUIRE(url_back);
    CHECK(*url_back == data);
  }
}

TEST_CASE("base64: URL alphabet without padding, as JWT segments are", "[common][base64]") {
  const std::string data = "\xfb\xff\xbf";  // encodes to "+/+/" in the standard alphabet
  CHECK(Base64Encode(data) == "+/+/");
  CHECK(Base64UrlEncode(data) == "-_-_");
  CHECK(Base64UrlEncode("f") == "Zg");
  auto jwt = Base64Decode("Zg", {.url_alphabet = true, .padding_optional = true});
  REQUIRE(jwt);
  CHECK(*jwt == "f");
  CHECK_FALSE(Base64Decode("Zg"));                               // padding required by default
  CHECK_FALSE(Base64Decode("-_-_"));                             // URL letters need the option
  CHECK_FALSE(Base64Decode("+/+/", {.url_alphabet = true}));     // and then exclude + and /
}

TEST_CASE("base64: malformed text is refused", "[common][base64]") {
  for (const char* bad : {"Z", "Zg=", "Zg===", "Z===", "Zg==Zg==", "Zm9v!", "Zm 9v", "====", "Zm9\n"}) {
    INFO(bad);
    CHECK_FALSE(Base64Decode(bad));
  }
}

TEST_CASE("base64: line-wrapped text when asked (PEM data in kubeconfig)", "[common][base64]") {
  auto wrapped = Base64Decode("Zm9v\nYmFy\r\n", {.skip_whitespace = true});
  REQUIRE(wrapped);
  CHECK(*wrapped == "foobar");
  CHECK_FALSE(Base64Decode("Zm9v\nYmFy"));
}

}  // namespace
}  // namespace dbconnd
