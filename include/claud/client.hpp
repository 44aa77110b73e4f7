#pragma once
// A blocking client of a claud cluster, for the CLI and for programs that drive claud. It owns a
// small CAF actor system and talks to the `api` actor of a master (see protocol.hpp for the
// messages, which actor scripts can also send directly to `api_handle()`).

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "claud/protocol.hpp"
#include "cluster.pb.h"
#include "events.pb.h"
#include "wire.pb.h"

namespace claud {

/// One line a user can act on; `unreachable()` tells a cluster that could not be reached at all
/// from a request the cluster refused, and `maybe_applied()` a write that one of its tries may
/// have left in a leader's log (its outcome was unknown, or its master went away), so that a
/// later refusal ("no leader") does not mean it was not applied.
class client_error : public std::runtime_error {
public:
  client_error(std::string message, bool unreachable = false, bool maybe_applied = false)
      : std::runtime_error(std::move(message)), unreachable_(unreachable),
        maybe_applied_(maybe_applied) {}
  bool unreachable() const {
    return unreachable_;
  }
  bool maybe_applied() const {
    return maybe_applied_;
  }

private:
  bool unreachable_;
  bool maybe_applied_;
};

struct client_options {
  std::vector<std::string> addresses;               // HOST:PORT of masters, tried in order
  std::chrono::milliseconds connect_timeout{1000};  // reaching one master
  std::chrono::milliseconds attempt_timeout{3000};  // one try at one master
  std::chrono::milliseconds request_timeout{10000}; // all tries, through failovers
  // One round of a wait: a master answers a held wait within its --wait-poll-ms (at most
  // max_wait_poll). A round unanswered by then means the master died (its pending requests get no
  // error) or froze, and the wait is asked again, through another master if need be.
  std::chrono::milliseconds wait_round_timeout = max_wait_poll + std::chrono::milliseconds{1000};
  // An event subscription that hears nothing this long (its master sends at least a keepalive
  // every second) moves to another master, resuming where it was.
  std::chrono::milliseconds event_silence{3000};
  // Mutual TLS (see configure_tls): the cluster CA, this user's certificate and key; all empty
  // for a cluster without TLS.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
};

/// What an event subscription asks for: a filter (events.proto: empty passes everything) and
/// where to start. Without `from`, a snapshot of what the filter selects comes first.
struct event_request {
  pb::EventFilter filter;
  std::optional<uint64_t> from; // resume after this index, the last one seen
};

/// Called with each batch of the stream, in log order (snapshots too, see pb::EventBatch); the
/// stream ends when it returns false.
using event_handler = std::function<bool(const pb::EventBatch&)>;

/// How far a wait has come: told after each batch of events about its jobs.
struct wait_progress {
  size_t total = 0;        // the jobs waited for
  size_t ended = 0;        // of them, ended for good
  size_t unsuccessful = 0; // of the ended, those that did not succeed
  size_t running = 0;      // placed or running, as last seen
};
using wait_observer = std::function<void(const wait_progress&)>;

/// Reads go through the leader by default and see every acknowledged write (linearizable);
/// `local` reads answer from the state of the master the client reached, at once, maybe behind.
enum class read_mode { linearizable, local };

class client {
public:
  /// Connects to the first master that answers; throws client_error naming every address tried.
  explicit client(client_options options);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// The address this client is connected to.
  const std::string& address() const;

  pb::Job submit(const pb::JobSpec& spec);
  pb::Job status(const std::string& job_id, read_mode mode = read_mode::linearizable);
  /// Subscribes to the event stream and calls `handler` with each batch until it returns false.
  /// Follows the cluster through failures: when its master dies, freezes or drops it, the
  /// subscription moves to another master from the last index seen, so no event is lost or
  /// repeated (a master that no longer holds those events sends a snapshot, marked missed_from).
  /// Throws client_error when no master serves it for request_timeout.
  void events(const event_request& request, const event_handler& handler);
  /// Ends the events() call running in another thread (or, if none is, the next one) soon after,
  /// as if its handler had returned false. Thread-safe; the one call of this class that is.
  void stop_events();
  /// Blocks until the job has ended and returns its final record.
  pb::Job wait(const std::string& job_id);
  /// Blocks until every job has ended and returns their final records, in the order given;
  /// follows the jobs on the event stream (one subscription per max_jobs_per_wait jobs), telling
  /// `observer` (if set) how far it has come after each batch.
  std::vector<pb::Job> wait_all(const std::vector<std::string>& job_ids,
                                const wait_observer& observer = {});
  std::vector<pb::Job> jobs(read_mode mode = read_mode::linearizable);
  std::vector<pb::Node> nodes(read_mode mode = read_mode::linearizable);
  pb::Job kill(const std::string& job_id);
  /// Stops (or, with draining false, resumes) placements on a node; `migrate` also moves its jobs.
  pb::Node drain(const std::string& node_id, bool draining, bool migrate);
  pb::LogChunk logs(const pb::LogRequest& request);
  /// Adds a master (ADD_LEARNER, by HOST:PORT) or removes one (REMOVE, by HOST:PORT or node id);
  /// the masters once the change is committed.
  pb::LeaderInfo change_masters(const pb::MembershipChange& change);
  pb::LeaderInfo leader(read_mode mode = read_mode::linearizable);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace claud
