#include "storage/snapshot_file.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "storage/file_util.hpp"
#include "storage/record_file.hpp"
#include "storage/storage_error.hpp"

namespace claud::storage::snapshot_file {

namespace {

constexpr char format_v1 = '\x01';
constexpr std::string_view prefix = "snap-";
constexpr std::string_view suffix = ".pb";
constexpr std::string_view temp_suffix = ".pb.tmp";

} // namespace

std::string name(uint64_t index) {
  return file_util::numbered_name(prefix, index, suffix);
}

bool is_snapshot_name(std::string_view name) {
  return name.compare(0, prefix.size(), prefix) == 0;
}

std::optional<uint64_t> parse_name(std::string_view name) {
  return file_util::parse_numbered_name(name, prefix, suffix);
}

bool is_temp_name(std::string_view name) {
  return name.size() >= prefix.size() + temp_suffix.size()
         && name.substr(0, prefix.size()) == prefix
         && name.substr(name.size() - temp_suffix.size()) == temp_suffix;
}

std::string encode(const pb::Snapshot& snapshot) {
  std::string payload = format_v1 + snapshot.SerializeAsString();
  if (payload.size() > record_file::max_record_bytes)
    throw std::logic_error(fmt::format("snapshot at index {} is {} bytes, above the {} byte "
                                       "record limit; the state machine must stay smaller",
                                       snapshot.index(), payload.size(),
                                       record_file::max_record_bytes));
  return record_file::encode(payload);
}

void write(const std::string& path, const std::string& bytes) {
  file_util::write_file_atomically(path, bytes);
}

pb::Snapshot read(const std::string& path, uint64_t expected_index) {
  std::string bytes;
  if (!file_util::read_file(path, &bytes))
    throw storage_error(fmt::format("snapshot {} disappeared while the log store was opened; "
                                    "check that no other process uses the data dir",
                                    path));
  auto payload = record_file::decode(bytes);
  if (!payload)
    throw storage_error(fmt::format("corrupt snapshot {} ({} bytes, not one record with a valid "
                                    "checksum); {}",
                                    path, bytes.size(), repair_advice));
  if ((*payload)[0] != format_v1)
    throw storage_error(fmt::format("snapshot {} has an unknown format (version byte {}); it was "
                                    "written by a newer claud or is corrupt — run that claud or {}",
                                    path, static_cast<int>((*payload)[0]), repair_advice));
  pb::Snapshot snapshot;
  if (!snapshot.ParseFromArray(payload->data() + 1, static_cast<int>(payload->size() - 1)))
    throw storage_error(fmt::format("cannot parse the snapshot in {}; {}", path, repair_advice));
  if (snapshot.index() != expected_index)
    throw storage_error(fmt::format("snapshot {} holds index {}, not the index in its name; {}",
                                    path, snapshot.index(), repair_advice));
  return snapshot;
}

} // namespace claud::storage::snapshot_file
