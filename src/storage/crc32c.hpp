#pragma once

#include <cstddef>
#include <cstdint>

namespace claud::storage {

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every record on disk.
/// Pass the previous result as `crc` to continue over more bytes:
/// crc32c(b, nb, crc32c(a, na)) == crc32c(a followed by b). crc32c("123456789") == 0xE3069283.
/// A portable table implementation (slicing-by-8, about 1-2 GB/s): recovery reads at most a few
/// segments, so hardware instructions are not worth a CPU dispatch here.
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

} // namespace claud::storage
