#include "net/tls_context.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace claud::net {

tls_context::tls_context(const tls_files& files) {
  if (files.ca.empty() || files.cert.empty() || files.key.empty())
    throw certificate_error("TLS needs all three of --tls-ca, --tls-cert and --tls-key (make them "
                            "with `claud tls ca` and `claud tls cert`)");
  check_private_key_file(files.key);
  self_ = read_certificate_holder(files.cert);
  ctx_ = SSL_CTX_new(TLS_method());
  if (!ctx_)
    throw certificate_error("cannot set up TLS: " + last_openssl_error());
  SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION);
  if (SSL_CTX_load_verify_locations(ctx_, files.ca.c_str(), nullptr) != 1)
    throw certificate_error(
        fmt::format("cannot load the cluster CA {}: {}", files.ca, last_openssl_error()));
  if (SSL_CTX_use_certificate_chain_file(ctx_, files.cert.c_str()) != 1)
    throw certificate_error(
        fmt::format("cannot load the certificate {}: {}", files.cert, last_openssl_error()));
  if (SSL_CTX_use_PrivateKey_file(ctx_, files.key.c_str(), SSL_FILETYPE_PEM) != 1)
    throw certificate_error(
        fmt::format("cannot load the key {}: {}", files.key, last_openssl_error()));
  if (SSL_CTX_check_private_key(ctx_) != 1)
    throw certificate_error(
        fmt::format("the key {} does not belong to the certificate {}", files.key, files.cert));
  // Both ends present a certificate signed by the cluster CA, or the handshake fails.
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

tls_context::~tls_context() {
  SSL_CTX_free(ctx_);
}

bool tls_context::accepts(peer_role role) const {
  return self_.role == peer_role::master || role == peer_role::master;
}

ssl_st* tls_context::new_ssl() const {
  return SSL_new(ctx_);
}

} // namespace claud::net
