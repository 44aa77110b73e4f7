#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "os/unique_fd.hpp"

namespace claud::proc {

/// A pipe for a job's stdout or stderr: the child gets `write_end` (blocking, so a job that writes
/// faster than its output is stored waits instead of losing it), the pump `read_end`
/// (non-blocking). Both close on exec and are above 2, so spawn's dup2 onto 0, 1 and 2 never
/// overwrites one it still needs. Throws std::system_error when out of descriptors.
struct output_pipe {
  unique_fd read_end;
  unique_fd write_end;
};
output_pipe make_output_pipe();

/// What a slave's job stream stores by default (--max-output).
constexpr uint64_t default_max_output_bytes = uint64_t{64} << 20;

// Copies what jobs write to their stdout and stderr pipes into files, on one background thread,
// and creates a file only when its first byte arrives. Most short jobs write nothing, and on ext4
// creating a job's two empty files cost the slave more CPU than starting the job (inode
// allocation skips recently deleted inodes one by one on a busy disk).
//
// Each stream stores at most `max_bytes`: the first half in its file as it comes, the last half in
// a ring beside it (<path>.tail, overwritten in turn). When the stream ends, the ring is appended
// to the file in order, after a line saying how many bytes between them were dropped, and
// removed: a runaway job cannot fill the slave's disk, and what it wrote first and last is kept.
//
// A stream ends when every writer has closed the pipe: the job and whatever it left running that
// inherited the descriptor. Then `on_drained(token, error)` is called on the pump's thread, after
// the last byte was written; `error` is empty, or one line saying why some output could not be
// stored (a full disk): the rest of that stream was read and discarded, so the job never blocks
// on a pump that cannot write.
class output_pump {
public:
  using drained_callback = std::function<void(uint64_t token, const std::string& error)>;

  /// Starts the thread. The callback must not throw or destroy the pump. `max_bytes` bounds what
  /// each stream stores (at least 2).
  explicit output_pump(drained_callback on_drained, uint64_t max_bytes = default_max_output_bytes);

  /// Stops and joins the thread. Streams still open are closed without a callback; their writers
  /// get EPIPE (or SIGPIPE) on their next write.
  ~output_pump();

  output_pump(const output_pump&) = delete;
  output_pump& operator=(const output_pump&) = delete;

  /// Copies everything written to the pipe of `read_end` into the file at `path`, created (or
  /// truncated, mode 0644) when the first byte arrives. Thread safe. Throws std::system_error if
  /// the pipe cannot be watched.
  void add(unique_fd read_end, std::string path, uint64_t token);

  /// Streams added whose end has not been reported yet.
  size_t open_streams() const;

private:
  struct stream {
    unique_fd pipe;
    unique_fd file;
    std::string path;
    uint64_t token = 0;
    std::string error;
    uint64_t head_bytes = 0; // stored in the file so far
    unique_fd tail;          // the ring, once the head is full
    uint64_t tail_bytes = 0; // written to the ring in all (it holds the last of them)
  };

  void run();
  /// Copies what the pipe holds now; false once the stream has ended.
  bool copy_available(stream& s, char* buffer, size_t size);
  void store(stream& s, const char* data, size_t size);
  void store_tail(stream& s, const char* data, size_t size);
  /// Appends the ring to the file, after the line about what was dropped, and removes it.
  void close_tail(stream& s, char* buffer, size_t size);
  void finish(stream* s, char* buffer, size_t size);

  uint64_t head_capacity() const {
    return max_bytes_ / 2;
  }
  uint64_t tail_capacity() const {
    return max_bytes_ - max_bytes_ / 2;
  }

  drained_callback on_drained_;
  uint64_t max_bytes_;
  unique_fd epoll_;
  unique_fd wake_fd_;
  mutable std::mutex mutex_;
  std::unordered_map<const stream*, std::unique_ptr<stream>> streams_;
  std::thread thread_;
};

} // namespace claud::proc
