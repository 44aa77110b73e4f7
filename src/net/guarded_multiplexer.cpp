#include "net/guarded_multiplexer.hpp"

#include <sys/socket.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/basp/header.hpp>
#include <caf/io/network/interfaces.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/io/scribe.hpp>
#include <caf/policy/tcp.hpp>

#include "log/log.hpp"
#include "net/basp_gate.hpp"
#include "net/tls_session.hpp"

namespace claud::net {

namespace {

using caf::io::network::native_socket;

/// The plain TCP policy, as CAF's own scribes use it (caf::policy::tcp is all static).
struct tcp_policy {
  caf::io::network::rw_state read_some(size_t& result, native_socket fd, void* buf, size_t len) {
    return caf::policy::tcp::read_some(result, fd, buf, len);
  }
  caf::io::network::rw_state write_some(size_t& result, native_socket fd, const void* buf,
                                        size_t len) {
    return caf::policy::tcp::write_some(result, fd, buf, len);
  }
  bool must_read_more(native_socket fd, size_t threshold) const {
    return caf::policy::tcp::must_read_more(fd, threshold);
  }
};

/// One connection: CAF's scribe_impl over a stream of `Policy`, plus the guards. Runs on the
/// multiplexer's thread, like every scribe.
template<class Policy>
class guarded_scribe : public caf::io::scribe {
public:
  /// `hold` keeps the connection's place under the per-address limit; `over_limit`: it has none,
  /// and the connection is closed as soon as CAF starts it (connection_limit logged why).
  guarded_scribe(caf::io::network::default_multiplexer& mx, native_socket fd, size_t limit,
                 std::unique_ptr<basp_gate> gate, Policy policy, std::shared_ptr<void> hold,
                 bool over_limit)
      : scribe(caf::io::network::conn_hdl_from_socket(fd)), limit_(limit), hold_(std::move(hold)),
        dropped_(over_limit), gate_(std::move(gate)), stream_(mx, fd, std::move(policy)) {
    if (over_limit)
      ::shutdown(fd, SHUT_RDWR);
  }

  // The BASP broker asks for each payload's length right after its header; the stream resizes its
  // buffer to it before the next read.
  void configure_read(caf::io::receive_policy::config config) override {
    if (dropped_ || config.second > limit_) {
      if (!dropped_)
        drop("announced an oversized message of " + std::to_string(config.second)
             + " bytes (the limit is " + std::to_string(limit_) + ")");
      config = caf::io::receive_policy::exactly(caf::io::basp::header_size);
    }
    stream_.configure_read(config);
    if (!launched_) {
      launched_ = true;
      stream_.start(this);
      stream_.force_empty_write(this); // starts a TLS handshake; a no-op write for TCP
    }
  }

  bool consume(caf::execution_unit* ctx, const void* buf, size_t size) override {
    if (dropped_)
      return true;
    if (gate_) {
      // `buf` is this stream's own read buffer, which the gate may rewrite.
      auto refused = gate_->check(static_cast<char*>(const_cast<void*>(buf)), size);
      if (!refused.empty()) {
        drop(refused);
        return true;
      }
    }
    return scribe::consume(ctx, buf, size);
  }

  void ack_writes(bool enable) override {
    stream_.ack_writes(enable);
  }
  std::vector<char>& wr_buf() override {
    return stream_.wr_buf();
  }
  std::vector<char>& rd_buf() override {
    return stream_.rd_buf();
  }
  void graceful_shutdown() override {
    stream_.graceful_shutdown();
    detach(&stream_.backend(), false);
  }
  void flush() override {
    stream_.flush(this);
  }
  std::string addr() const override {
    auto x = caf::io::network::remote_addr_of_fd(stream_.fd());
    return x ? *x : std::string{};
  }
  uint16_t port() const override {
    auto x = caf::io::network::remote_port_of_fd(stream_.fd());
    return x ? *x : 0;
  }
  void add_to_loop() override {
    stream_.activate(this);
  }
  void remove_from_loop() override {
    stream_.passivate();
  }

private:
  /// Logs why and shuts the socket: the stream's next read sees the end of the stream, and CAF
  /// closes the connection through its usual path.
  void drop(const std::string& why) {
    dropped_ = true;
    log::warn("net", "dropping a peer",
              {{"peer", addr() + ":" + std::to_string(port())}, {"why", why}});
    ::shutdown(stream_.fd(), SHUT_RDWR);
  }

  size_t limit_;
  std::shared_ptr<void> hold_;
  bool dropped_ = false;
  bool launched_ = false;
  std::unique_ptr<basp_gate> gate_; // outlives the stream, whose TLS session refers to it
  caf::io::network::stream_impl<Policy> stream_;
};

/// The TLS files named in `cfg`'s content (all empty when TLS is off).
tls_files tls_files_of(const caf::actor_system_config& cfg) {
  return {caf::get_or(cfg, tls_ca_key, std::string{}),
          caf::get_or(cfg, tls_cert_key, std::string{}),
          caf::get_or(cfg, tls_key_key, std::string{})};
}

} // namespace

guarded_multiplexer::guarded_multiplexer(caf::actor_system* system)
    : default_multiplexer(system),
      max_message_bytes_(
          caf::get_or(system->config(), max_message_bytes_key, default_max_message_bytes)),
      connections_(caf::get_or(system->config(), max_connections_per_address_key, size_t{0})),
      tls_handshake_timeout_(caf::get_or(system->config(), tls_handshake_timeout_key,
                                         default_tls_handshake_timeout_ms)) {
  auto files = tls_files_of(system->config());
  if (files.ca.empty() && files.cert.empty() && files.key.empty())
    return;
  tls_ = std::make_unique<tls_context>(files);
  identities_ = std::make_unique<peer_identities>();
}

guarded_multiplexer::~guarded_multiplexer() = default;

caf::io::scribe_ptr guarded_multiplexer::new_scribe(native_socket fd) {
  auto address = caf::io::network::remote_addr_of_fd(fd);
  return make_scribe(fd, true, connections_.admit(address ? *address : std::string{"?"}));
}

caf::expected<caf::io::scribe_ptr> guarded_multiplexer::new_tcp_scribe(const std::string& host,
                                                                       uint16_t port) {
  auto fd = caf::io::network::new_tcp_connection(host, port);
  if (!fd)
    return std::move(fd.error());
  return make_scribe(*fd, false, nullptr);
}

caf::io::scribe_ptr guarded_multiplexer::make_scribe(native_socket fd, bool accepted,
                                                     std::shared_ptr<void> hold) {
  static_cast<void>(caf::io::network::keepalive(fd, true)); // as default_multiplexer does
  const bool over_limit = accepted && !hold;
  if (!tls_)
    return caf::make_counted<guarded_scribe<tcp_policy>>(*this, fd, max_message_bytes_, nullptr,
                                                         tcp_policy{}, std::move(hold), over_limit);
  auto gate = std::make_unique<basp_gate>(*identities_);
  auto session = std::make_shared<tls_session>(*tls_, fd, accepted, *gate, tls_handshake_timeout_);
  return caf::make_counted<guarded_scribe<tls_policy>>(*this, fd, max_message_bytes_,
                                                       std::move(gate), tls_policy{session},
                                                       std::move(hold), over_limit);
}

} // namespace claud::net
