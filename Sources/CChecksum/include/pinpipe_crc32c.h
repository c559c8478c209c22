#ifndef PINPIPE_CRC32C_H
#define PINPIPE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli, the polynomial of S3's x-amz-checksum-crc32c) of `length` bytes, continuing from `crc`
/// (0 to start). Uses the SSE 4.2 crc32 instruction when the CPU has it, a table otherwise.
uint32_t pinpipe_crc32c(uint32_t crc, const void *bytes, size_t length);

#endif
