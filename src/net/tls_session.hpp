#pragma once
// tls_session: one connection's TLS, as the read/write policy of a CAF stream (the shape of
// caf::policy::tcp and of CAF's OpenSSL module). The handshake runs inside the first reads and
// writes; when it completes, the peer's certificate (already verified against the cluster CA)
// gives its identity, and a peer whose role this process does not talk to is refused. A failed
// handshake is logged with the peer's address, before any claud message is read; so is one that
// has not finished by its deadline (a peer that connects and stays silent would otherwise hold
// the connection, and the network thread polling it, for as long as it likes).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <caf/io/network/native_socket.hpp>
#include <caf/io/network/rw_state.hpp>

#include "net/basp_gate.hpp"
#include "net/tls_context.hpp"

namespace claud::net {

class tls_session {
public:
  /// `accepting`: this end accepted the connection (TLS server) rather than opened it.
  /// The handshake must finish within `handshake_timeout`.
  tls_session(const tls_context& context, caf::io::network::native_socket fd, bool accepting,
              basp_gate& gate, std::chrono::milliseconds handshake_timeout);
  ~tls_session();
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  caf::io::network::rw_state read_some(size_t& result, void* buf, size_t len);
  caf::io::network::rw_state write_some(size_t& result, const void* buf, size_t len);
  /// Whether OpenSSL holds at least `threshold` decrypted bytes (the socket may show none).
  bool must_read_more(size_t threshold) const;

private:
  /// Advances the handshake; success while it goes on or once it is done.
  bool handshake();
  caf::io::network::rw_state result_of(int ret, size_t& result);
  void refuse(const std::string& why);

  const tls_context& context_;
  ssl_st* ssl_;
  caf::io::network::native_socket fd_;
  basp_gate& gate_;
  std::chrono::milliseconds handshake_timeout_;
  std::chrono::steady_clock::time_point handshake_deadline_;
  bool established_ = false;
  bool refused_ = false;
};

/// The stream policy: forwards to the connection's session.
struct tls_policy {
  std::shared_ptr<tls_session> session;

  caf::io::network::rw_state read_some(size_t& result, caf::io::network::native_socket, void* buf,
                                       size_t len) {
    return session->read_some(result, buf, len);
  }
  caf::io::network::rw_state write_some(size_t& result, caf::io::network::native_socket,
                                        const void* buf, size_t len) {
    return session->write_some(result, buf, len);
  }
  bool must_read_more(caf::io::network::native_socket, size_t threshold) const {
    return session->must_read_more(threshold);
  }
};

} // namespace claud::net
