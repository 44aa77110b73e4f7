#pragma once
// connection_limit: how many accepted connections one peer address may hold open at once. A
// process that opens connections and never closes them (or a flood of them) would otherwise hold
// a file descriptor, a CAF scribe and, with TLS, a session each, until the node runs out. A
// connection over the limit is closed as soon as it is accepted; the refusals are logged at most
// every 10 s per address, with how many there were. Thread-safe: connections are admitted on the
// network thread, but their scribes may be released on any.

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace claud::net {

class connection_limit {
public:
  using clock = std::chrono::steady_clock;

  /// `per_address`: the most connections one address may hold; 0 bounds nothing.
  explicit connection_limit(size_t per_address);

  /// A hold on one of `address`'s connections, released with the last copy of the pointer; or
  /// nullptr when `address` holds all it may (a refusal: logged now or summed into a later line).
  std::shared_ptr<void> admit(const std::string& address, clock::time_point now = clock::now());

  /// Connections `address` holds now.
  size_t open(const std::string& address) const;

private:
  struct counts {
    std::mutex mutex;
    std::map<std::string, size_t> open;
    struct refusals {
      clock::time_point logged{};
      size_t since_logged = 0;
    };
    std::map<std::string, refusals> refused; // an address leaves it once its connections do
  };

  size_t per_address_;
  std::shared_ptr<counts> counts_; // shared with the holds, which may outlive this object
};

} // namespace claud::net
