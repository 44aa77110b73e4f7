#include "actors/snapshot_writer.hpp"

#include <exception>

#include <malloc.h>

#include <caf/all.hpp>

#include "actors/internal_atoms.hpp"
#include "claud/protocol.hpp" // pb::Snapshot in a message

namespace claud {

snapshot_writer::~snapshot_writer() {
  if (thread_.joinable())
    thread_.join();
}

void snapshot_writer::write(replica::snapshot_request request, caf::actor_addr to) {
  if (thread_.joinable())
    thread_.join();
  thread_ = std::thread([request = std::move(request), to = std::move(to)] {
    // A weak address: the thread must not keep its actor alive (the actor's end joins it).
    auto send = [&](auto&&... xs) {
      if (auto actor = caf::actor_cast<caf::actor>(to))
        caf::anon_send(actor, snapshot_written_atom::value, std::forward<decltype(xs)>(xs)...);
    };
    try {
      send(request.write());
      // Writing one takes and frees buffers of the state's size, on every thread's malloc arena
      // the state's records were made on; glibc gives back only the top of each arena by itself.
      // Trimming here, off the raft loop, returns the freed pages in between to the system.
      ::malloc_trim(0);
    } catch (const std::exception& e) {
      // A storage_error, or a state above the snapshot record limit (encode's logic_error): on
      // this thread an escaping exception would end the process without a word, so the actor
      // stops the master with the reason instead.
      send(std::string{e.what()});
    }
  });
}

} // namespace claud
