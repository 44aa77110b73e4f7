#pragma once
// tls_context: this process's side of mutual TLS, loaded once when its actor system starts: the
// cluster CA it trusts, its own certificate and key, and from the certificate its role. Every
// connection's session (tls_session) is made from it; CAF's OpenSSL module instead builds a new
// context, reading every file again, for each connection, and cannot tell who the peer is.

#include <string>

#include "net/certificates.hpp"

struct ssl_ctx_st;
struct ssl_st;

namespace claud::net {

/// The files of mutual TLS; all three empty means no TLS.
struct tls_files {
  std::string ca;   // the cluster CA's certificate (PEM)
  std::string cert; // this process's certificate, signed by it
  std::string key;  // its private key: readable by its owner only
};

/// The settings, in actor_system_config::content, that name the files.
constexpr const char* tls_ca_key = "claud.tls.ca";
constexpr const char* tls_cert_key = "claud.tls.cert";
constexpr const char* tls_key_key = "claud.tls.key";

class tls_context {
public:
  /// Throws certificate_error (one line: which file, what is wrong, what to do).
  explicit tls_context(const tls_files& files);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  /// Who this process is, by its own certificate.
  const certificate_holder& self() const {
    return self_;
  }

  /// Whether a peer of `role` may connect: masters talk to everyone, everyone else to masters.
  bool accepts(peer_role role) const;

  /// A new session for one connection (SSL_new).
  ssl_st* new_ssl() const;

private:
  ssl_ctx_st* ctx_ = nullptr;
  certificate_holder self_;
};

} // namespace claud::net
