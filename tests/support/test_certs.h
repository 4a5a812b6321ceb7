#pragma once
// A throwaway CA and a server certificate it signs, generated in memory with
// OpenSSL for tests that need HTTPS on loopback (a kubeconfig's server must
// be https://). Keys are P-256; validity is one day.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace dbconnd::testing {

struct TestIdentity {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{nullptr, EVP_PKEY_free};
  std::unique_ptr<X509, decltype(&X509_free)> cert{nullptr, X509_free};
  std::string cert_pem;
  std::string key_pem;
};

namespace internal {
inline std::string DrainBio(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}
}  // namespace internal

// A CA when `issuer` is null, else a server certificate for `san`
// (e.g. "IP:127.0.0.1,DNS:localhost") signed by `issuer`.
inline TestIdentity MakeTestIdentity(const std::string& cn, const TestIdentity* issuer,
                                     const std::string& san = "") {
  static long serial = 1;
  TestIdentity id;
  id.key.reset(EVP_EC_gen("P-256"));
  if (!id.key) throw std::runtime_error("EVP_EC_gen failed");
  id.cert.reset(X509_new());
  X509* x = id.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, id.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert.get()) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer->cert.get() : x, x, nullptr, nullptr, 0);
  auto add = [&](int nid, const std::string& value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr) throw std::runtime_error("bad certificate extension " + value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  };
  if (issuer == nullptr) {
    add(NID_basic_constraints, "critical,CA:TRUE");
    add(NID_key_usage, "critical,keyCertSign,cRLSign");
    add(NID_subject_key_identifier, "hash");
  } else {
    add(NID_basic_constraints, "critical,CA:FALSE");
    add(NID_key_usage, "critical,digitalSignature");
    add(NID_ext_key_usage, "serverAuth");
    add(NID_subject_alt_name, san);
  }
  if (X509_sign(x, issuer ? issuer->key.get() : id.key.get(), EVP_sha256()) <= 0) {
    throw std::runtime_error("X509_sign failed");
  }
  BIO* cb = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cb, x);
  id.cert_pem = internal::DrainBio(cb);
  BIO* kb = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(kb, id.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  id.key_pem = internal::DrainBio(kb);
  return id;
}

}  // namespace dbconnd::testing
