#pragma once
// How `claud events` prints the stream: one line per event, or with --json one JSON object per
// line (views.proto's Event, documented in the README).

#include <ostream>

#include "events.pb.h"
#include "views.pb.h"

namespace claud::cli {

pb::view::Event to_view(const pb::Event& event);

/// Prints a batch: a snapshot's notice of what it replaces, then its events, one a line.
void print_event_batch(std::ostream& out, const pb::EventBatch& batch, bool json);

} // namespace claud::cli
