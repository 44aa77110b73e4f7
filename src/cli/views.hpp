#pragma once
// What the CLI prints: the stable `--json` documents (built from views.proto) and the tables.

#include <ostream>
#include <string>
#include <vector>

#include "cluster.pb.h"
#include "views.pb.h"
#include "wire.pb.h"

namespace claud::cli {

pb::view::Job to_view(const pb::Job& job);
pb::view::Node to_view(const pb::Node& node);
pb::view::Leader to_view(const pb::LeaderInfo& info);

/// One JSON document on one line, field names as in views.proto.
std::string to_json(const google::protobuf::Message& message);
/// A JSON array of messages, one document.
std::string to_json_array(const std::vector<const google::protobuf::Message*>& messages);

void print_job_table(std::ostream& out, const std::vector<pb::Job>& jobs);
void print_job_details(std::ostream& out, const pb::Job& job);
void print_node_table(std::ostream& out, const std::vector<pb::Node>& nodes);
void print_leader(std::ostream& out, const pb::LeaderInfo& info);

/// RFC 3339 UTC with milliseconds, e.g. 2026-11-23T10:15:30.123Z.
std::string format_time_ms(int64_t ms);

} // namespace claud::cli
