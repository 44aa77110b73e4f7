#pragma once

#include <unistd.h>

#include <utility>

namespace claud {

// Owns one file descriptor and closes it once, so that every early return and every exception
// releases what was opened (output files, log segments, directories, pidfds, sockets). Shared by
// the folders that talk to the operating system (storage, proc, net).
class unique_fd {
public:
  unique_fd() noexcept = default;

  explicit unique_fd(int fd) noexcept : fd_(fd) {
    // nop
  }

  unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {
    // nop
  }

  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other)
      reset(other.release());
    return *this;
  }

  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;

  ~unique_fd() {
    reset();
  }

  int get() const noexcept {
    return fd_;
  }

  bool valid() const noexcept {
    return fd_ >= 0;
  }

  int release() noexcept {
    return std::exchange(fd_, -1);
  }

  // close() is not retried on EINTR: on Linux the descriptor is released even then, and a retry
  // could close a descriptor another thread has just been given. Its other errors are ignored on
  // purpose: durability is only ever promised by an fsync that succeeded.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
  }

private:
  int fd_ = -1;
};

} // namespace claud
