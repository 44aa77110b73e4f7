#pragma once
// Writes a master's snapshots on a thread of its own — building the bytes, encoding, fsync — so
// the raft actor never waits for them: with 100,000 jobs in the state that is tens of
// milliseconds a snapshot the log would otherwise stall for. The replica asks for one snapshot at
// a time (replica::snapshot_request) and the next only once the last is handed back, so one
// thread at a time suffices. Not a detached actor: those can hang CAF 0.17's shutdown
// (CAF-NOTES.md); the thread is joined when the writer goes, with its actor's state.

#include <thread>

#include <caf/actor_addr.hpp>

#include "replica/replica.hpp"

namespace claud {

class snapshot_writer {
public:
  snapshot_writer() = default;
  snapshot_writer(const snapshot_writer&) = delete;
  snapshot_writer& operator=(const snapshot_writer&) = delete;
  ~snapshot_writer();

  /// Writes `request` on the writer's thread, then sends `to` (snapshot_written_atom, pb::Snapshot)
  /// or, when writing failed, (snapshot_written_atom, std::string error). Waits first for the
  /// write before it, which has answered already.
  void write(replica::snapshot_request request, caf::actor_addr to);

private:
  std::thread thread_;
};

} // namespace claud
