#pragma once
// guarded_multiplexer: CAF's default network backend, except that no connection may make this
// process reserve more than `claud.max-message-bytes` for one message before its bytes arrive.
//
// CAF 0.17's BASP broker reads a 32-byte header, then asks for exactly the payload length the
// header announces, and the stream reserves (and zero-fills) that much at once: one connection
// announcing 0xFFFFFFF0 bytes grew a node by 2-3.6 GiB, and BASP has no limit of its own. Every
// scribe (a TCP connection, accepted or opened) of this backend refuses a read larger than the
// limit: it logs the peer, shuts the socket, and reads at most another header, so CAF closes the
// connection through its usual path. The check costs one comparison per read.
//
// Memory is bounded per connection (the limit), not in total; TLS (caf_openssl makes its own
// scribes) would need the same guard.

#include <cstddef>

#include <caf/io/network/default_multiplexer.hpp>

namespace claud::net {

/// The setting, in actor_system_config::content, that bounds one message from a peer.
constexpr const char* max_message_bytes_key = "claud.max-message-bytes";
/// Its default. A snapshot of the state (every job kept, with its history) and a `claud jobs`
/// answer travel as one message each, so a cluster that keeps more than about 100,000 jobs needs
/// a larger --max-message-size on every node.
constexpr size_t default_max_message_bytes = size_t{256} << 20;

class guarded_multiplexer : public caf::io::network::default_multiplexer {
public:
  /// Constructed by the middleman (`cfg.load<caf::io::middleman, guarded_multiplexer>()`).
  explicit guarded_multiplexer(caf::actor_system* system);

  caf::io::scribe_ptr new_scribe(caf::io::network::native_socket fd) override;

private:
  size_t max_message_bytes_;
};

} // namespace claud::net
