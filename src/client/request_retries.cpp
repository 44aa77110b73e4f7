#include "client/request_retries.hpp"

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "claud/protocol.hpp"

namespace claud {

namespace {

/// No leader yet, a leader change that discarded the write, or one that left its outcome unknown.
bool retryable(const caf::error& err) {
  return has_code(err, errc::unavailable) || has_code(err, errc::not_leader)
         || has_code(err, errc::outcome_unknown);
}

/// The master went away (its pending requests get no answer) or froze.
bool connection_lost(const caf::error& err) {
  return err == caf::sec::request_receiver_down || err == caf::sec::request_timeout;
}

} // namespace

std::string new_idempotency_key() {
  std::random_device random;
  return fmt::format("c-{:08x}{:08x}{:08x}{:08x}", random(), random(), random(), random());
}

request_retries::request_retries(std::chrono::milliseconds budget, clock::time_point start)
    : budget_(budget), deadline_(start + budget) {}

request_retries::decision request_retries::after(const caf::error& err, clock::time_point now) {
  decision out;
  const bool lost = connection_lost(err);
  if (!has_code(err, errc::unavailable))
    no_leader_since_.reset();
  else if (!no_leader_since_)
    no_leader_since_ = now;
  // A master outside the membership, or cut off from it, learns of no leader: another one may.
  out.ask_another = lost || has_code(err, errc::not_member)
                    || (no_leader_since_ && now - *no_leader_since_ >= no_leader_patience);
  if (out.ask_another)
    no_leader_since_.reset();
  maybe_applied_ = maybe_applied_ || lost || has_code(err, errc::outcome_unknown);
  out.unreachable = lost;
  out.maybe_applied = maybe_applied_;
  if (!retryable(err) && !out.ask_another) {
    out.message = error_message(err);
    return out;
  }
  if (now + backoff_ > deadline_) {
    out.message = fmt::format("{}; gave up after {:g} s of retries", error_message(err),
                              static_cast<double>(budget_.count()) / 1000);
    out.exhausted = true;
    return out;
  }
  out.retry = true;
  out.backoff = backoff_;
  backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds{500});
  return out;
}

} // namespace claud
