#include "net/connection_limit.hpp"

#include "log/log.hpp"

namespace claud::net {

connection_limit::connection_limit(size_t per_address)
    : per_address_(per_address), counts_(std::make_shared<counts>()) {}

std::shared_ptr<void> connection_limit::admit(const std::string& address, clock::time_point now) {
  std::lock_guard<std::mutex> lock(counts_->mutex);
  auto& open = counts_->open[address];
  if (per_address_ != 0 && open >= per_address_) {
    auto& refused = counts_->refused[address];
    ++refused.since_logged;
    if (refused.logged == clock::time_point{} || now - refused.logged >= std::chrono::seconds{10}) {
      log::warn("net", "refused connections",
                {{"peer", address},
                 {"count", std::to_string(refused.since_logged)},
                 {"why", "it holds " + std::to_string(open)
                             + " connections already (--max-connections-per-address)"}});
      refused.logged = now;
      refused.since_logged = 0;
    }
    return nullptr;
  }
  ++open;
  // Points at the counts (never deleted through it) so that a hold tests true.
  return std::shared_ptr<void>(counts_.get(), [counts = counts_, address](void*) {
    std::lock_guard<std::mutex> lock(counts->mutex);
    auto i = counts->open.find(address);
    if (i != counts->open.end() && --i->second == 0) {
      counts->open.erase(i);
      counts->refused.erase(address);
    }
  });
}

size_t connection_limit::open(const std::string& address) const {
  std::lock_guard<std::mutex> lock(counts_->mutex);
  auto i = counts_->open.find(address);
  return i == counts_->open.end() ? 0 : i->second;
}

} // namespace claud::net
