#pragma once
// guarded_multiplexer: CAF's default network backend, with guards on every connection.
//
// Size: no connection may make this process reserve more than `claud.max-message-bytes` for one
// message before its bytes arrive. CAF 0.17's BASP broker reads a 32-byte header, then asks for
// exactly the payload length the header announces, and the stream reserves (and zero-fills) that
// much at once: one connection announcing 0xFFFFFFF0 bytes grew a node by 2-3.6 GiB, and BASP has
// no limit of its own. A read larger than the limit drops the peer instead (logged): the socket is
// shut, CAF reads at most another header, sees the end and closes the connection its usual way.
//
// Count: an address may hold at most `claud.max-connections-per-address` accepted connections
// (connection_limit); one more is closed as soon as it is accepted.
//
// Identity: with `claud.tls.*` set, every connection, accepted or opened, is mutual TLS
// (tls_session) and what its peer sends passes basp_gate first. Every path CAF has to a socket
// (publish, connect_atom to the middleman, remote_actor) comes here, so none bypasses either
// guard. CAF's OpenSSL module is not used: its connections skip this backend's scribes, build a
// TLS context per connection, and cannot tell who the peer is.

#include <cstddef>
#include <memory>

#include <caf/io/network/default_multiplexer.hpp>

#include "net/connection_limit.hpp"
#include "net/peer_identities.hpp"
#include "net/tls_context.hpp"

namespace claud::net {

/// The setting, in actor_system_config::content, that bounds one message from a peer.
constexpr const char* max_message_bytes_key = "claud.max-message-bytes";
/// Its default. A snapshot of the state (every job kept, with its history) and a `claud jobs`
/// answer travel as one message each, so a cluster that keeps more than about 100,000 jobs needs
/// a larger --max-message-size on every node.
constexpr size_t default_max_message_bytes = size_t{256} << 20;
/// The setting that bounds the connections one peer address may hold open (0: no bound, as in a
/// client, which accepts none).
constexpr const char* max_connections_per_address_key = "claud.max-connections-per-address";
/// The setting that bounds a TLS handshake, in milliseconds.
constexpr const char* tls_handshake_timeout_key = "claud.tls.handshake-timeout-ms";
constexpr int64_t default_tls_handshake_timeout_ms = 10000;

class guarded_multiplexer : public caf::io::network::default_multiplexer {
public:
  /// Constructed by the middleman (`cfg.load<caf::io::middleman, guarded_multiplexer>()`). The
  /// TLS files must have been checked (a tls_context made from them) before: a bad file here
  /// ends the process.
  explicit guarded_multiplexer(caf::actor_system* system);
  ~guarded_multiplexer() override;

  /// An accepted connection.
  caf::io::scribe_ptr new_scribe(caf::io::network::native_socket fd) override;
  /// A connection this process opens.
  caf::expected<caf::io::scribe_ptr> new_tcp_scribe(const std::string& host,
                                                    uint16_t port) override;

  /// Who the peers are; nullptr without TLS.
  peer_identities* identities() {
    return identities_.get();
  }

private:
  /// `hold`: the accepted connection's place under the connection limit (nullptr: over it, and
  /// the scribe closes the connection at once); for a connection this process opens, nullptr.
  caf::io::scribe_ptr make_scribe(caf::io::network::native_socket fd, bool accepted,
                                  std::shared_ptr<void> hold);

  size_t max_message_bytes_;
  connection_limit connections_;
  std::chrono::milliseconds tls_handshake_timeout_;
  std::unique_ptr<tls_context> tls_;
  std::unique_ptr<peer_identities> identities_;
};

} // namespace claud::net
