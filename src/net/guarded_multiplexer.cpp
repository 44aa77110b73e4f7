#include "net/guarded_multiplexer.hpp"

#include <sys/socket.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/basp/header.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/io/network/scribe_impl.hpp>

#include "log/log.hpp"

namespace claud::net {

namespace {

/// A connection that is dropped, instead of reserving the memory, when a read larger than the
/// limit is asked for. Runs on the multiplexer's thread, like every scribe.
class guarded_scribe : public caf::io::network::scribe_impl {
public:
  guarded_scribe(caf::io::network::default_multiplexer& mx, caf::io::network::native_socket fd,
                 size_t limit)
      : scribe_impl(mx, fd), limit_(limit) {}

  // The BASP broker asks for each payload's length right after its header; the stream resizes its
  // buffer to it before the next read.
  void configure_read(caf::io::receive_policy::config config) override {
    if (dropped_ || config.second > limit_) {
      if (!dropped_) {
        dropped_ = true;
        log::warn("net", "dropping a peer that announced an oversized message",
                  {{"peer", addr() + ":" + std::to_string(port())},
                   {"bytes", std::to_string(config.second)},
                   {"limit", std::to_string(limit_)}});
        // The stream's next read sees the end of the stream, and CAF closes the connection.
        ::shutdown(stream_.fd(), SHUT_RDWR);
      }
      config = caf::io::receive_policy::exactly(caf::io::basp::header_size);
    }
    scribe_impl::configure_read(config);
  }

private:
  size_t limit_;
  bool dropped_ = false;
};

} // namespace

guarded_multiplexer::guarded_multiplexer(caf::actor_system* system)
    : default_multiplexer(system),
      max_message_bytes_(
          caf::get_or(system->config(), max_message_bytes_key, default_max_message_bytes)) {}

caf::io::scribe_ptr guarded_multiplexer::new_scribe(caf::io::network::native_socket fd) {
  static_cast<void>(caf::io::network::keepalive(fd, true)); // as default_multiplexer does
  return caf::make_counted<guarded_scribe>(*this, fd, max_message_bytes_);
}

} // namespace claud::net
