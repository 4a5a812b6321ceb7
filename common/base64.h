#pragma once
// Base64 (RFC 4648) through OpenSSL's EVP block functions, the one copy the
// client, the emulator and the kubeconfig reader share. Decoding validates
// in one linear pass before OpenSSL sees the text, so the result is exact
// (no padding bytes) and anything malformed is refused, never guessed at.

#include <optional>
#include <string>
#include <string_view>

namespace dbconnd {

// Standard alphabet with '=' padding (HTTP Basic, Google's `bytes` fields).
std::string Base64Encode(std::string_view data);
// URL alphabet ('-', '_'), no padding (JWT segments).
std::string Base64UrlEncode(std::string_view data);

struct Base64DecodeOptions {
  bool url_alphabet = false;     // '-' and '_' instead of '+' and '/'
  bool padding_optional = false; // accept a missing trailing '=' (JWT segments)
  bool skip_whitespace = false;  // ignore spaces and line breaks (PEM-style wrapping)
};

// Null when `text` is not base64 under `options`.
std::optional<std::string> Base64Decode(std::string_view text, Base64DecodeOptions options = {});

}  // namespace dbconnd
