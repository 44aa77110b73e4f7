#include "net/tls_session.hpp"

#include <signal.h>

#include <caf/io/network/interfaces.hpp>
#include <caf/io/network/native_socket.hpp>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log/log.hpp"

namespace claud::net {

using caf::io::network::rw_state;

namespace {

/// OpenSSL writes to the socket with write(2), which raises SIGPIPE on a closed connection.
/// claud's nodes and CLI ignore SIGPIPE; a program that links the client library may not, so the
/// signal is held back around OpenSSL's calls there (as CAF's OpenSSL module does).
class sigpipe_guard {
public:
  sigpipe_guard() {
    struct sigaction current {};
    active_ = ::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler != SIG_IGN;
    if (!active_)
      return;
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &saved_);
  }
  ~sigpipe_guard() {
    if (!active_)
      return;
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    timespec zero{};
    while (sigtimedwait(&pipe, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
  }

private:
  bool active_ = false;
  sigset_t saved_;
};

std::string peer_address(caf::io::network::native_socket fd) {
  auto host = caf::io::network::remote_addr_of_fd(fd);
  auto port = caf::io::network::remote_port_of_fd(fd);
  return fmt::format("{}:{}", host ? *host : "?", port ? *port : 0);
}

} // namespace

tls_session::tls_session(const tls_context& context, caf::io::network::native_socket fd,
                         bool accepting, basp_gate& gate,
                         std::chrono::milliseconds handshake_timeout)
    : context_(context), ssl_(context.new_ssl()), fd_(fd), gate_(gate),
      handshake_timeout_(handshake_timeout),
      handshake_deadline_(std::chrono::steady_clock::now() + handshake_timeout) {
  if (!ssl_ || SSL_set_fd(ssl_, fd) != 1)
    throw std::runtime_error("cannot start a TLS session: " + last_openssl_error());
  if (accepting)
    SSL_set_accept_state(ssl_);
  else
    SSL_set_connect_state(ssl_);
}

tls_session::~tls_session() {
  SSL_free(ssl_);
}

void tls_session::refuse(const std::string& why) {
  refused_ = true;
  log::warn("net", "refused a connection", {{"peer", peer_address(fd_)}, {"why", why}});
}

bool tls_session::handshake() {
  int ret = SSL_do_handshake(ssl_);
  if (ret != 1) {
    int error = SSL_get_error(ssl_, ret);
    // Until the handshake is done the network thread polls this connection for writability,
    // so this runs often enough to keep the deadline.
    if ((error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE)
        && std::chrono::steady_clock::now() >= handshake_deadline_) {
      refuse(
          fmt::format("its TLS handshake did not finish within {} ms", handshake_timeout_.count()));
      return false;
    }
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE)
      return true;
    auto verified = SSL_get_verify_result(ssl_);
    refuse(verified != X509_V_OK ? fmt::format("its certificate is not trusted: {}",
                                               X509_verify_cert_error_string(verified))
                                 : fmt::format("TLS handshake failed: {}",
                                               error == SSL_ERROR_SYSCALL ? "connection closed"
                                                                          : last_openssl_error()));
    return false;
  }
  established_ = true;
  X509* certificate = SSL_get1_peer_certificate(ssl_);
  if (!certificate) {
    refuse("it presented no certificate");
    return false;
  }
  try {
    auto holder = holder_of_certificate(certificate);
    X509_free(certificate);
    if (!context_.accepts(holder.role)) {
      refuse(fmt::format("a {} (\"{}\") may talk only to masters", to_string(holder.role),
                         holder.name));
      return false;
    }
    gate_.set_peer(peer_identity{holder.role, holder.name});
  } catch (const certificate_error& e) {
    X509_free(certificate);
    refuse(e.what());
    return false;
  }
  return true;
}

rw_state tls_session::result_of(int ret, size_t& result) {
  if (ret > 0) {
    result = static_cast<size_t>(ret);
    return rw_state::success;
  }
  result = 0;
  switch (SSL_get_error(ssl_, ret)) {
  case SSL_ERROR_WANT_READ:
  case SSL_ERROR_WANT_WRITE:
    return rw_state::success; // poll again
  default:
    ERR_clear_error();
    return rw_state::failure;
  }
}

rw_state tls_session::read_some(size_t& result, void* buf, size_t len) {
  result = 0;
  sigpipe_guard guard;
  if (refused_ || (!established_ && !handshake()))
    return rw_state::failure;
  if (!established_ || len == 0)
    return rw_state::success;
  return result_of(SSL_read(ssl_, buf, static_cast<int>(len)), result);
}

rw_state tls_session::write_some(size_t& result, const void* buf, size_t len) {
  result = 0;
  sigpipe_guard guard;
  if (refused_ || (!established_ && !handshake()))
    return rw_state::failure;
  if (!established_)
    return len == 0 ? rw_state::indeterminate : rw_state::success;
  if (len == 0)
    return rw_state::indeterminate;
  return result_of(SSL_write(ssl_, buf, static_cast<int>(len)), result);
}

bool tls_session::must_read_more(size_t threshold) const {
  return static_cast<size_t>(SSL_pending(ssl_)) >= threshold;
}

} // namespace claud::net
