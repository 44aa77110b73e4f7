#include "storage/record_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

#include "storage/crc32c.hpp"
#include "storage/file_util.hpp"
#include "storage/storage_error.hpp"

namespace claud::storage {

namespace {

uint32_t load_le32(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{u[0]} | uint32_t{u[1]} << 8 | uint32_t{u[2]} << 16 | uint32_t{u[3]} << 24;
}

void store_le32(char* p, uint32_t value) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<char>((value >> (8 * i)) & 0xFFu);
}

// The checksum work the scan for a valid record after a bad one may do (about a second). Random
// binary bytes make a plausible length at roughly one offset in 2^32 / remaining, and each costs a
// checksum over up to the rest of the file: a multi-megabyte torn tail of such bytes could take
// minutes. Past the budget recovery stops and reports the damage instead of guessing.
constexpr uint64_t max_scan_checksum_bytes = uint64_t{1} << 30;

// Whether a complete record with a matching checksum starts at `offset`; `checksum_bytes` counts
// the bytes checksummed.
bool valid_record_at(std::string_view data, uint64_t offset, uint64_t* checksum_bytes = nullptr) {
  if (data.size() - offset < record_file::header_bytes)
    return false;
  uint32_t length = load_le32(data.data() + offset);
  if (length == 0 || length > record_file::max_record_bytes
      || length > data.size() - offset - record_file::header_bytes)
    return false;
  if (checksum_bytes != nullptr)
    *checksum_bytes += length;
  const char* payload = data.data() + offset + record_file::header_bytes;
  return crc32c(payload, length) == load_le32(data.data() + offset + 4);
}

enum class scan_result { none, found, gave_up };

// A torn append can only damage the end of the file, so a valid record anywhere after a bad one
// means the bad one was damaged in place. Most candidate offsets fail on the length check alone.
scan_result valid_record_after(std::string_view data, uint64_t offset) {
  uint64_t checksum_bytes = 0;
  for (uint64_t candidate = offset + 1; candidate + record_file::header_bytes < data.size();
       ++candidate) {
    if (valid_record_at(data, candidate, &checksum_bytes))
      return scan_result::found;
    if (checksum_bytes > max_scan_checksum_bytes)
      return scan_result::gave_up;
  }
  return scan_result::none;
}

bool only_zeros_from(std::string_view data, uint64_t offset) {
  return data.find_first_not_of('\0', offset) == std::string_view::npos;
}

// Parses `data` into records. Returns the length of the valid prefix; throws on corruption.
uint64_t parse_records(const std::string& path, std::string_view data,
                       std::vector<std::string>* records) {
  uint64_t offset = 0;
  while (offset < data.size()) {
    uint64_t remaining = data.size() - offset;
    if (remaining < record_file::header_bytes)
      return offset; // a header cut short: nothing can follow it
    uint32_t length = load_le32(data.data() + offset);
    std::string problem;
    if (length > record_file::max_record_bytes) {
      throw storage_error(fmt::format("corrupt record in {} at offset {} (length {} exceeds the "
                                      "limit of {} bytes); {}",
                                      path, offset, length, record_file::max_record_bytes,
                                      repair_advice));
    } else if (length == 0) {
      problem = "zero length";
    } else if (length > remaining - record_file::header_bytes) {
      problem = fmt::format("length {} but only {} bytes left", length,
                            remaining - record_file::header_bytes);
    } else if (!valid_record_at(data, offset)) {
      problem = "checksum mismatch";
    } else {
      records->emplace_back(data.substr(offset + record_file::header_bytes, length));
      offset += record_file::header_bytes + length;
      continue;
    }
    if (only_zeros_from(data, offset))
      return offset; // a torn tail
    switch (valid_record_after(data, offset)) {
    case scan_result::none:
      return offset; // a torn tail
    case scan_result::found:
      break;
    case scan_result::gave_up:
      problem += "; the bytes after it are too many to check for valid records";
      break;
    }
    throw storage_error(fmt::format("corrupt record in {} at offset {} ({}); {}", path, offset,
                                    problem, repair_advice));
  }
  return offset;
}

} // namespace

record_file::record_file(std::string path, unique_fd fd, uint64_t size_bytes,
                         uint64_t torn_tail_bytes)
    : path_(std::move(path)), fd_(std::move(fd)), size_bytes_(size_bytes),
      torn_tail_bytes_(torn_tail_bytes) {
  // nop
}

record_file record_file::open(const std::string& path, std::vector<std::string>* records) {
  records->clear();
  // O_EXCL first tells us whether we created the file, and so whether its directory entry still
  // has to be made durable.
  bool created = true;
  unique_fd fd{::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
  if (!fd.valid() && errno == EEXIST) {
    created = false;
    fd.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  }
  if (!fd.valid())
    file_util::throw_io_error("open", path, errno);
  if (created)
    file_util::sync_dir(file_util::parent_of(path));
  std::string data;
  if (int err = file_util::read_all(fd.get(), &data); err != 0)
    file_util::throw_io_error("read", path, err);
  uint64_t valid_bytes = parse_records(path, data, records);
  uint64_t torn_bytes = data.size() - valid_bytes;
  if (torn_bytes > 0) {
    // Cut durably now: appends that follow must never land behind leftover garbage.
    if (::ftruncate(fd.get(), static_cast<off_t>(valid_bytes)) != 0)
      file_util::throw_io_error("cut the torn tail of", path, errno);
    if (::fsync(fd.get()) != 0)
      file_util::throw_io_error("fsync", path, errno);
  }
  return record_file(path, std::move(fd), valid_bytes, torn_bytes);
}

std::vector<std::string> record_file::read(const std::string& path) {
  std::string data;
  if (!file_util::read_file(path, &data))
    file_util::throw_io_error("read", path, errno);
  std::vector<std::string> records;
  if (uint64_t valid_bytes = parse_records(path, data, &records); valid_bytes != data.size())
    throw storage_error(fmt::format("{} ends in {} bytes that are not a valid record; {}", path,
                                    data.size() - valid_bytes, repair_advice));
  return records;
}

std::string record_file::encode(std::string_view payload) {
  if (payload.empty() || payload.size() > max_record_bytes)
    throw std::invalid_argument(fmt::format("record payload of {} bytes: it must be 1..{} bytes",
                                            payload.size(), max_record_bytes));
  std::string out(header_bytes, '\0');
  store_le32(out.data(), static_cast<uint32_t>(payload.size()));
  store_le32(out.data() + 4, crc32c(payload.data(), payload.size()));
  out.append(payload);
  return out;
}

std::optional<std::string> record_file::decode(std::string_view bytes) {
  if (!valid_record_at(bytes, 0) || header_bytes + load_le32(bytes.data()) != bytes.size())
    return std::nullopt;
  return std::string(bytes.substr(header_bytes));
}

void record_file::check_usable() const {
  if (failed_)
    throw storage_error(fmt::format("{} is in an unknown state after an earlier I/O error; "
                                    "restart to recover it",
                                    path_));
}

void record_file::append(std::string_view payload) {
  check_usable();
  std::string record = encode(payload);
  int err = file_util::write_all(fd_.get(), record.data(), record.size(),
                                 static_cast<off_t>(size_bytes_));
  if (err != 0) {
    // A partial record left in place would turn the next append into corruption.
    if (::ftruncate(fd_.get(), static_cast<off_t>(size_bytes_)) != 0)
      failed_ = true;
    file_util::throw_io_error("append to", path_, err);
  }
  size_bytes_ += record.size();
}

void record_file::sync() {
  check_usable();
  if (::fdatasync(fd_.get()) != 0) {
    failed_ = true;
    file_util::throw_io_error("fsync", path_, errno);
  }
}

void record_file::truncate(uint64_t size_bytes) {
  check_usable();
  if (size_bytes > size_bytes_)
    throw std::invalid_argument(fmt::format("cannot truncate {} to {} bytes, it has only {}", path_,
                                            size_bytes, size_bytes_));
  if (::ftruncate(fd_.get(), static_cast<off_t>(size_bytes)) != 0)
    file_util::throw_io_error("truncate", path_, errno);
  size_bytes_ = size_bytes;
}

} // namespace claud::storage
