#include "common/base64.h"

#include <openssl/evp.h>

namespace dbconnd {
namespace {

std::string Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  if (data.empty()) return out;
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

bool IsAlphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

std::string Base64Encode(std::string_view data) { return Encode(data); }

std::string Base64UrlEncode(std::string_view data) {
  std::string out = Encode(data);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text, Base64DecodeOptions options) {
  // Normalise to the standard alphabet, padded, validating as we go.
  std::string std_text;
  std_text.reserve(text.size() + 3);
  std::size_t pad = 0;
  for (char c : text) {
    if (options.skip_whitespace && (c == ' ' || c == '\n' || c == '\r' || c == '\t')) continue;
    if (c == '=') {
      ++pad;
      std_text.push_back(c);
      continue;
    }
    if (pad > 0) return std::nullopt;  // data after padding
    if (options.url_alphabet) {
      if (c == '-') c = '+';
      else if (c == '_') c = '/';
      else if (c == '+' || c == '/') return std::nullopt;
    }
    if (!IsAlphabet(c)) return std::nullopt;
    std_text.push_back(c);
  }
  if (pad > 2) return std::nullopt;
  const std::size_t data_chars = std_text.size() - pad;
  if (data_chars % 4 == 1) return std::nullopt;  // 6 bits cannot end a byte
  if (pad == 0 && std_text.size() % 4 != 0) {
    if (!options.padding_optional) return std::nullopt;
    pad = 4 - std_text.size() % 4;
    std_text.append(pad, '=');
  }
  if (std_text.size() % 4 != 0) return std::nullopt;  // wrong amount of padding
  if (std_text.empty()) return std::string();
  std::string out(std_text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(std_text.data()),
                                static_cast<int>(std_text.size()));
  if (n < 0 || static_cast<std::size_t>(n) != out.size()) return std::nullopt;
  out.resize(out.size() - pad);
  return out;
}

}  // namespace dbconnd
