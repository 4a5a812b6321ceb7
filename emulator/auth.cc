#include "emulator/auth.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <boost/json/parse.hpp>
#include <memory>

#include "common/base64.h"

namespace dbconnd::emulator {

namespace json = boost::json;

// JWT segments: URL alphabet, padding left out (RFC 7515 section 2).
constexpr Base64DecodeOptions kJwtSegment{.url_alphabet = true, .padding_optional = true};

namespace {

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
struct KeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
struct MdFree { void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); } };
struct X509Free { void operator()(X509* x) const { X509_free(x); } };

std::unique_ptr<EVP_PKEY, KeyFree> LoadKey(std::string_view pem) {
  auto read = [&](int which) -> EVP_PKEY* {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return nullptr;
    if (which == 0) return PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
    if (which == 1) {
      std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
      return cert ? X509_get_pubkey(cert.get()) : nullptr;
    }
    return PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  };
  for (int which = 0; which < 3; ++which) {
    if (EVP_PKEY* k = read(which)) return std::unique_ptr<EVP_PKEY, KeyFree>(k);
  }
  return nullptr;
}

StatusOr<json::object> DecodePart(std::string_view part) {
  auto raw = Base64Decode(part, kJwtSegment);
  if (!raw) return UnauthenticatedError("JWT segment is not base64url");
  boost::system::error_code ec;
  json::value v = json::parse(*raw, ec);
  if (ec || !v.is_object()) return UnauthenticatedError("JWT segment is not a JSON object");
  return v.as_object();
}

}  // namespace

Status CheckPublicKey(std::string_view pem) {
  return LoadKey(pem) ? OkStatus() : InvalidArgumentError("public_key_pem is not a PEM public key");
}

StatusOr<json::object> PeekClaims(std::string_view jwt) {
  auto d1 = jwt.find('.');
  auto d2 = d1 == std::string_view::npos ? d1 : jwt.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return UnauthenticatedError("assertion is not a JWT");
  return DecodePart(jwt.substr(d1 + 1, d2 - d1 - 1));
}

StatusOr<json::object> VerifyRs256(std::string_view jwt, std::string_view public_key_pem) {
  auto d1 = jwt.find('.');
  auto d2 = d1 == std::string_view::npos ? d1 : jwt.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return UnauthenticatedError("assertion is not a JWT");
  auto header = DecodePart(jwt.substr(0, d1));
  if (!header.ok()) return header.status();
  const auto* alg = header->if_contains("alg");
  if (!alg || !alg->is_string() || alg->as_string() != "RS256") {
    return UnauthenticatedError("JWT alg must be RS256");
  }
  auto sig_bytes = Base64Decode(jwt.substr(d2 + 1), kJwtSegment);
  if (!sig_bytes || sig_bytes->empty()) return UnauthenticatedError("JWT signature is not base64url");
  const std::string& sig = *sig_bytes;
  auto key = LoadKey(public_key_pem);
  if (!key) return UnauthenticatedError("registered key does not parse");
  std::unique_ptr<EVP_MD_CTX, MdFree> ctx(EVP_MD_CTX_new());
  std::string_view signed_part = jwt.substr(0, d2);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(signed_part.data()),
                       signed_part.size()) != 1) {
    return UnauthenticatedError("Invalid JWT Signature.");
  }
  return DecodePart(jwt.substr(d1 + 1, d2 - d1 - 1));
}

std::string MintToken() {
  unsigned char buf[24];
  RAND_bytes(buf, sizeof buf);
  static const char* kHex = "0123456789abcdef";
  std::string out = "ya29.emu.";
  for (unsigned char b : buf) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

}  // namespace dbconnd::emulator
