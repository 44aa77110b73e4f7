#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "raft.pb.h"

// The snapshot files of DATA/raft (file_log_store.hpp): snap-<index, 20 digits>.pb, written whole
// and atomically (snap-<index>.pb.tmp, fsync, rename, directory fsync), so a complete file is the
// only thing a crash can leave under the final name. The content is one record (record_file.hpp:
// length, CRC-32C, payload) whose payload is the format byte 0x01 followed by a serialized
// pb::Snapshot. Any damage is corruption, never a torn tail: reading it throws.
namespace claud::storage::snapshot_file {

/// "snap-00000000000000000042.pb" for 42.
std::string name(uint64_t index);

/// The index named by a snapshot file, or nullopt when `name` is not exactly snap-<20 digits>.pb.
std::optional<uint64_t> parse_name(std::string_view name);

/// Whether `name` is one of the snapshot files (snap-*), final, temporary or malformed.
bool is_snapshot_name(std::string_view name);

/// Whether `name` is what an interrupted write() leaves: snap-*.pb.tmp.
bool is_temp_name(std::string_view name);

/// The bytes of the file for `snapshot`. Throws std::logic_error when it is above the record limit
/// (record_file::max_record_bytes): the state machine must stay below it.
std::string encode(const pb::Snapshot& snapshot);

/// Writes the file made by encode() to `path` atomically; throws storage_error.
void write(const std::string& path, const std::string& bytes);

/// Reads the snapshot in `path`, which must hold index `expected_index` (the one in its name).
/// Throws storage_error naming the file when it is unreadable, damaged or of an unknown format.
pb::Snapshot read(const std::string& path, uint64_t expected_index);

} // namespace claud::storage::snapshot_file
