#pragma once
// The pieces the CLI's views are made of: JSON values that are null when unknown, and the short
// texts its tables show.

#include <cstdint>
#include <string>

#include <google/protobuf/struct.pb.h>

#include "cluster.pb.h"

namespace claud::cli {

google::protobuf::Value null_value();
google::protobuf::Value number_or_null(bool present, double number);
/// The text, or null when it is empty.
google::protobuf::Value string_or_null(const std::string& text);
/// RFC 3339 UTC, or null for 0 (not happened).
google::protobuf::Value time_or_null(int64_t ms);

/// "3", "sig9" or "-" (not ended, or ended without an exit: lost, failed to start).
std::string exit_text(bool has_exit_code, int32_t exit_code, int32_t term_signal);
std::string exit_text(const pb::Job& job);
std::string or_dash(const std::string& text);

/// alive, down, or drain (alive, but `claud drain` keeps new jobs away).
std::string node_state_text(pb::NodeState state, bool draining);
/// How long ago the leader last heard from a node: "0.4s", "12s", "3m"; "-" if not connected.
std::string heard_text(const pb::Node& node);
/// "disk=ssd,zone=a" (sorted by key: a protobuf map has no order), or "-".
std::string labels_text(const pb::Node& node);
/// A short duration for a column: "0.4s", "12s", "3m", "5h", "2d".
std::string age_text(int64_t ms);

} // namespace claud::cli
