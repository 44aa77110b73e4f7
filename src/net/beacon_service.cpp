#include "net/beacon_service.hpp"

#include <asio.hpp>

#include <thread>
#include <variant>

#include <fmt/format.h>

#include "log/log.hpp"
#include "net/beacon_filter.hpp"

namespace claud::net {

namespace {

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string endpoint_text(const asio::ip::udp::endpoint& endpoint) {
  return host_port{endpoint.address().to_string(), endpoint.port()}.to_string();
}

} // namespace

struct beacon_service::impl {
  explicit impl(beacon_service_config cfg)
      : config(std::move(cfg)),
        filter({config.self.cluster(), config.self.node_id(), config.max_skew_ms}), socket(io),
        timer(io) {}

  /// Sends this node's beacon, then again after the interval.
  void send_beacon() {
    // Strictly increasing even when the clock steps back: receivers take only newer beacons.
    last_sent_at_ms = std::max(last_sent_at_ms + 1, wall_clock_ms());
    config.self.set_sent_at_ms(last_sent_at_ms);
    auto frame = std::make_shared<std::string>(encode_beacon(config.self, config.secret));
    socket.async_send_to(asio::buffer(*frame), destination,
                         [this, frame](const asio::error_code& error, size_t) {
                           if (!error)
                             return;
                           ++send_failures;
                           if (should_log(send_logged_at))
                             log::warn("discovery", "cannot send a beacon",
                                       {{"to", endpoint_text(destination)},
                                        {"error", error.message()},
                                        {"failures", std::to_string(send_failures)}});
                         });
    timer.expires_after(config.interval);
    timer.async_wait([this](const asio::error_code& error) {
      if (!error)
        send_beacon();
    });
  }

  void receive() {
    socket.async_receive_from(asio::buffer(buffer), sender,
                              [this](const asio::error_code& error, size_t size) {
                                if (error == asio::error::operation_aborted)
                                  return;
                                if (!error)
                                  judge(size);
                                receive();
                              });
  }

  /// Takes or drops the datagram of `size` bytes in `buffer` from `sender`.
  void judge(size_t size) {
    auto decoded = decode_beacon(buffer.data(), size, config.secret);
    std::optional<beacon_drop> dropped;
    bool news = false;
    if (auto* why = std::get_if<beacon_drop>(&decoded)) {
      filter.count(*why);
      dropped = *why;
    } else {
      auto verdict = filter.admit(std::get<pb::Beacon>(decoded), wall_clock_ms());
      if (verdict.own)
        return;
      dropped = verdict.dropped;
      news = verdict.news;
    }
    if (dropped) {
      const auto kind = static_cast<size_t>(*dropped);
      if (should_log(drop_logged_at[kind]))
        log::warn("discovery", "dropped a beacon",
                  {{"from", endpoint_text(sender)},
                   {"why", to_string(*dropped)},
                   {"dropped", std::to_string(filter.dropped()[kind])}});
      return;
    }
    if (news && config.on_news)
      config.on_news(std::get<pb::Beacon>(decoded), endpoint_text(sender));
  }

  /// Whether a line last logged at `at` may be logged again now (then `at` is now).
  bool should_log(std::chrono::steady_clock::time_point& at) {
    auto now = std::chrono::steady_clock::now();
    if (at != std::chrono::steady_clock::time_point{} && now - at < config.log_interval)
      return false;
    at = now;
    return true;
  }

  beacon_service_config config;
  asio::io_context io;
  // Touched only on the service's thread (and by the constructor before it starts).
  beacon_filter filter;
  uint64_t send_failures = 0;
  std::chrono::steady_clock::time_point send_logged_at;
  std::array<std::chrono::steady_clock::time_point, beacon_drop_kinds> drop_logged_at{};
  asio::ip::udp::socket socket;
  asio::ip::udp::endpoint destination;
  asio::ip::udp::endpoint sender;
  std::array<unsigned char, max_beacon_bytes + 1> buffer{}; // one more: a longer one is malformed
  asio::steady_timer timer;
  int64_t last_sent_at_ms = 0;
  std::thread thread;
};

beacon_service::beacon_service(beacon_service_config config)
    : impl_(std::make_unique<impl>(std::move(config))) {
  auto& d = *impl_;
  const auto& where = d.config.destination;
  asio::error_code error;
  asio::ip::udp::resolver resolver{d.io};
  auto found = resolver.resolve(asio::ip::udp::v4(), where.host, std::to_string(where.port), error);
  if (error || found.empty())
    throw std::runtime_error(fmt::format("--discovery {}: cannot resolve {}: {}", where.to_string(),
                                         where.host, error.message()));
  d.destination = found.begin()->endpoint();
  d.socket.open(asio::ip::udp::v4(), error);
  if (!error)
    d.socket.set_option(asio::socket_base::reuse_address(true), error);
  if (!error)
    d.socket.set_option(asio::socket_base::broadcast(true), error);
  if (!error)
    d.socket.bind({asio::ip::address_v4::any(), where.port}, error);
  if (error)
    throw std::runtime_error(fmt::format("--discovery {}: cannot listen for beacons on UDP port "
                                         "{}: {}",
                                         where.to_string(), where.port, error.message()));
  d.send_beacon();
  d.receive();
  d.thread = std::thread{[&d] { d.io.run(); }};
}

beacon_service::~beacon_service() {
  impl_->io.stop();
  impl_->thread.join();
}

} // namespace claud::net
