#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "os/unique_fd.hpp"

namespace claud::storage {

/// One append-only file of checksummed records, the unit of every durable file in the data dir.
///
/// On disk each record is
///
///     [u32 payload length, little endian][u32 CRC-32C of the payload, little endian][payload]
///
/// back to back from offset 0, with no file header. Payloads are never empty: an all-zero header
/// would otherwise be a valid empty record and could not be told apart from the zero bytes a crash
/// leaves when the file size reached the disk before its data did.
///
/// Recovery (open) reads every record and classifies the first bad one at offset O:
///  - a torn tail — what an interrupted append leaves — is cut off (ftruncate to O, then fsync):
///    fewer than 8 header bytes left, only zero bytes from O on, or a record that is cut short or
///    fails its checksum while no valid record starts anywhere after O;
///  - anything else is corruption and open throws storage_error naming the file and O. That covers
///    a bad record followed by a valid one (a torn write cannot do that, a flipped bit can), a
///    length above max_record_bytes, and a bad record followed by more random-looking bytes than
///    the scan for valid records can check in about a second. We never guess past damaged data:
///    the node stops.
/// The one thing recovery cannot tell from a torn tail is damage to the last record; losing it is
/// safe only because callers treat nothing as durable before sync() returned.
///
/// Not thread-safe. After sync() threw, or an append() whose partial record could not be cut off
/// again, the file is in an unknown state and every later call throws: the caller must stop and
/// recover by reopening (a failed fsync cannot be retried, the kernel may have dropped the pages).
class record_file {
public:
  /// Bigger records are corruption on read and a programmer error on append.
  static constexpr uint32_t max_record_bytes = 64u << 20;
  static constexpr uint64_t header_bytes = 8;

  /// Opens or creates `path` and reads every record into *records (replacing its content), cutting
  /// a torn tail. A newly created file is made durable by an fsync of its directory. Throws
  /// storage_error on corruption or I/O errors.
  static record_file open(const std::string& path, std::vector<std::string>* records);

  /// Every record of `path`, read without changing it, for a file this process wrote whole or
  /// holds open (its torn tail, if any, was cut when it was opened): throws storage_error for any
  /// damage, a torn tail included, and for I/O errors.
  static std::vector<std::string> read(const std::string& path);

  /// The bytes one record takes on disk: header then payload. Also used to write a whole record
  /// file atomically (see file_util::write_file_atomically).
  static std::string encode(std::string_view payload);

  /// The payload when `bytes` are exactly one valid record (what encode returned), nullopt
  /// otherwise. For files written whole and atomically, where a torn tail cannot happen and any
  /// damage is corruption.
  static std::optional<std::string> decode(std::string_view bytes);

  record_file(record_file&& other) noexcept = default;
  record_file& operator=(record_file&& other) noexcept = default;
  record_file(const record_file&) = delete;
  record_file& operator=(const record_file&) = delete;
  ~record_file() = default; // closes the fd; unsynced data is neither lost nor promised

  /// Writes one record at the end with write(2); durable only after sync(). Throws
  /// std::invalid_argument for an empty or too large payload, storage_error on I/O errors (after
  /// cutting off whatever part of the record was written, if it can).
  void append(std::string_view payload);

  /// fdatasync: every record appended and every truncate before this is durable when it returns.
  void sync();

  uint64_t size_bytes() const {
    return size_bytes_;
  }

  /// Drops everything from byte `size_bytes` on; it must be a record boundary at or below
  /// size_bytes() (std::invalid_argument if above). Durable after sync().
  void truncate(uint64_t size_bytes);

  const std::string& path() const {
    return path_;
  }

  /// How many bytes open() cut off as a torn tail (0 when the file ended cleanly), for logs.
  uint64_t torn_tail_bytes() const {
    return torn_tail_bytes_;
  }

private:
  record_file(std::string path, unique_fd fd, uint64_t size_bytes, uint64_t torn_tail_bytes);

  void check_usable() const;

  std::string path_;
  unique_fd fd_;
  uint64_t size_bytes_ = 0;
  uint64_t torn_tail_bytes_ = 0;
  bool failed_ = false; // an I/O error left the file in an unknown state
};

} // namespace claud::storage
