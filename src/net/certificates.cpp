#include "net/certificates.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace claud::net {

namespace {

using key_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using cert_ptr = std::unique_ptr<X509, decltype(&X509_free)>;

const char* const role_names[] = {"master", "client", "reader", "slave"};

void require(bool ok, const char* what) {
  if (!ok)
    throw certificate_error(fmt::format("cannot {}: {}", what, last_openssl_error()));
}

key_ptr new_key() {
  key_ptr key{EVP_EC_gen("P-256"), &EVP_PKEY_free};
  require(key != nullptr, "make an EC P-256 key");
  return key;
}

/// Opens `path` for writing with `mode`, refusing to replace a file: certificates and keys are
/// made once, and overwriting a CA's key would orphan every certificate it signed.
std::FILE* create_file(const std::string& path, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0)
    throw certificate_error(
        errno == EEXIST
            ? fmt::format("{} already exists; remove it or choose another directory", path)
            : fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  return ::fdopen(fd, "w");
}

void write_key(const std::string& path, EVP_PKEY* key) {
  auto* file = create_file(path, 0600);
  bool ok = PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  ok = std::fclose(file) == 0 && ok;
  require(ok, "write the key");
}

void write_certificate(const std::string& path, X509* cert) {
  auto* file = create_file(path, 0644);
  bool ok = PEM_write_X509(file, cert) == 1;
  ok = std::fclose(file) == 0 && ok;
  require(ok, "write the certificate");
}

/// What `read` (PEM_read_X509, PEM_read_PrivateKey) finds in the file at `path`, named `what`
/// in the error when it finds nothing.
template<class Pointer, class Read>
Pointer read_pem(const std::string& path, const char* what, Read read,
                 void (*free)(typename Pointer::element_type*)) {
  std::unique_ptr<std::FILE, decltype(&std::fclose)> file{std::fopen(path.c_str(), "r"),
                                                          &std::fclose};
  if (!file)
    throw certificate_error(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  Pointer found{read(file.get(), nullptr, nullptr, nullptr), free};
  if (!found)
    throw certificate_error(fmt::format("{} holds no {}: {}", path, what, last_openssl_error()));
  return found;
}

cert_ptr read_certificate(const std::string& path) {
  return read_pem<cert_ptr>(path, "PEM certificate", PEM_read_X509, X509_free);
}

key_ptr read_key(const std::string& path) {
  check_private_key_file(path);
  return read_pem<key_ptr>(path, "PEM private key", PEM_read_PrivateKey, EVP_PKEY_free);
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  auto* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext)
    throw certificate_error(
        fmt::format("invalid certificate extension {}: {}", value, last_openssl_error()));
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

/// A certificate for `key` with a random serial, valid from an hour ago (clocks differ) for
/// `lifetime`, whose subject is O=claud, OU=unit, CN=name.
cert_ptr new_certificate(EVP_PKEY* key, const std::string& unit, const std::string& name,
                         std::chrono::hours lifetime) {
  cert_ptr cert{X509_new(), &X509_free};
  require(cert != nullptr, "make a certificate");
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  require(RAND_bytes(serial, sizeof serial) == 1, "draw a serial number");
  serial[0] &= 0x7f; // positive
  auto* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(lifetime.count()) * 3600);
  X509_set_pubkey(cert.get(), key);
  auto* subject = X509_get_subject_name(cert.get());
  auto add = [&](const char* field, const std::string& value) {
    require(X509_NAME_add_entry_by_txt(subject, field, MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(value.c_str()), -1,
                                       -1, 0)
                == 1,
            "name the certificate's subject");
  };
  add("O", "claud");
  add("OU", unit);
  add("CN", name);
  return cert;
}

/// Names become file names and certificate subjects: keep them to what is safe in both.
void check_name(const std::string& name, const char* what) {
  bool ok = !name.empty() && name.size() <= 64 && name.front() != '.' && name.front() != '-';
  for (unsigned char c : name)
    ok = ok && (std::isalnum(c) || c == '-' || c == '_' || c == '.');
  if (!ok)
    throw certificate_error(fmt::format("{} \"{}\" must be 1 to 64 letters, digits, '-', '_' or "
                                        "'.', not starting with '.' or '-'",
                                        what, name));
}

std::string subject_field(const X509* cert, int nid) {
  auto* subject = X509_get_subject_name(cert);
  int index = X509_NAME_get_index_by_NID(subject, nid, -1);
  if (index < 0)
    return {};
  auto* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<size_t>(ASN1_STRING_length(data)));
}

} // namespace

std::string last_openssl_error() {
  char text[256] = "unknown OpenSSL error";
  if (auto code = ERR_get_error())
    ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return text;
}

const char* to_string(peer_role role) {
  return role_names[static_cast<int>(role)];
}

peer_role parse_peer_role(const std::string& text) {
  for (int i = 0; i < 4; ++i)
    if (text == role_names[i])
      return static_cast<peer_role>(i);
  throw std::invalid_argument(
      fmt::format("unknown role \"{}\"; use master, slave, client or reader", text));
}

void make_certificate_authority(const std::string& dir, const std::string& cluster_name,
                                std::chrono::hours lifetime) {
  check_name(cluster_name, "the cluster name");
  auto key = new_key();
  auto cert = new_certificate(key.get(), "ca", cluster_name + " CA", lifetime);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  require(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "sign the CA certificate");
  write_key(dir + "/ca-key.pem", key.get());
  write_certificate(dir + "/ca.pem", cert.get());
}

std::string issue_certificate(const std::string& dir, const certificate_request& request) {
  check_name(request.name, "the name");
  auto ca = read_certificate(dir + "/ca.pem");
  auto ca_key = read_key(dir + "/ca-key.pem");
  auto key = new_key();
  auto cert = new_certificate(key.get(), to_string(request.role), request.name, request.lifetime);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get()));
  add_extension(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature,keyAgreement");
  // Every node both accepts and opens connections.
  add_extension(cert.get(), ca.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  std::string alt_names;
  for (const auto& ip : request.ip_addresses)
    alt_names += (alt_names.empty() ? "IP:" : ",IP:") + ip;
  for (const auto& dns : request.dns_names)
    alt_names += (alt_names.empty() ? "DNS:" : ",DNS:") + dns;
  if (!alt_names.empty())
    add_extension(cert.get(), ca.get(), NID_subject_alt_name, alt_names);
  require(X509_sign(cert.get(), ca_key.get(), EVP_sha256()) > 0, "sign the certificate");
  auto path = dir + "/" + request.name + ".pem";
  write_key(dir + "/" + request.name + "-key.pem", key.get());
  write_certificate(path, cert.get());
  return path;
}

void check_private_key_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw certificate_error(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  if (!S_ISREG(st.st_mode))
    throw certificate_error(fmt::format("{} is not a regular file", path));
  if ((st.st_mode & 077) != 0)
    throw certificate_error(fmt::format("the private key {} may be read by others (mode {:04o}); "
                                        "run chmod 600 {}",
                                        path, st.st_mode & 07777, path));
}

certificate_holder read_certificate_holder(const std::string& path) {
  return holder_of_certificate(read_certificate(path).get());
}

certificate_holder holder_of_certificate(const x509_st* certificate) {
  auto unit = subject_field(certificate, NID_organizationalUnitName);
  auto name = subject_field(certificate, NID_commonName);
  for (int i = 0; i < 4; ++i)
    if (unit == role_names[i])
      return {static_cast<peer_role>(i), name};
  throw certificate_error(fmt::format("the certificate of \"{}\" names no claud role (its OU is "
                                      "\"{}\"); issue it with `claud tls cert`",
                                      name, unit));
}

} // namespace claud::net
