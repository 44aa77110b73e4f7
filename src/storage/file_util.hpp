#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Small POSIX helpers shared by the files of this folder. Every function that throws throws
// storage_error with a one-line message naming the path and what to do.
namespace claud::storage::file_util {

/// The text of an errno value ("No space left on device"), thread-safe unlike strerror.
std::string errno_text(int err);

/// What a user can do about an I/O error `err`: free space, fix permissions or check the disk.
std::string advice_for(int err);

/// Throws storage_error "cannot <action> <path> (<errno text>); <advice>".
[[noreturn]] void throw_io_error(std::string_view action, const std::string& path, int err);

/// Creates `path` and its missing parents (mkdir -p). Returns 0 or the errno of the step that
/// failed; callers word the error, because only they know what the directory is for.
int make_dirs(const std::string& path);

/// The directory part of `path` ("." when there is none).
std::string parent_of(const std::string& path);

/// fsync(2) on a directory, so that files created, renamed or removed in it survive a crash.
void sync_dir(const std::string& dir);

/// Writes all of `data` at `offset` with pwrite, retrying short writes and EINTR. Returns 0 or
/// errno.
int write_all(int fd, const char* data, size_t size, off_t offset);

/// Reads the whole of an open file from offset 0. Returns 0 or errno.
int read_all(int fd, std::string* content);

/// Reads the whole file at `path`. Returns false when it does not exist; throws on other errors.
bool read_file(const std::string& path, std::string* content);

/// The names in directory `dir`, without "." and "..", in no particular order.
std::vector<std::string> list_dir(const std::string& dir);

/// "<prefix><index as 20 digits, zero-padded><suffix>", the name of a file that holds the raft log
/// or a snapshot from or up to `index` (log-00000000000000000042.seg).
std::string numbered_name(std::string_view prefix, uint64_t index, std::string_view suffix);

/// The index in a name made by numbered_name with the same prefix and suffix, or nullopt when
/// `name` is not exactly such a name.
std::optional<uint64_t> parse_numbered_name(std::string_view name, std::string_view prefix,
                                            std::string_view suffix);

/// Replaces `path` with `content` so that a crash leaves either the old or the new file, never a
/// mix: write <path>.tmp, fsync it, rename it over `path`, fsync the directory.
void write_file_atomically(const std::string& path, std::string_view content);

} // namespace claud::storage::file_util
