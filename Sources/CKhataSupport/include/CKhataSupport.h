#ifndef CKHATA_SUPPORT_H
#define CKHATA_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli) of `length` bytes, continuing from `crc` (pass 0 to start).
/// Uses the SSE4.2 instruction when the CPU has it and a table otherwise; both give the same value.
uint32_t khata_crc32c(uint32_t crc, const void *bytes, size_t length);

/// Seals `count` consecutive records of `record_size` bytes: the CRC-32C of bytes
/// 4..<record_size of each record is stored little-endian in its first 4 bytes. Several records
/// are checksummed at once so that the CRC instruction's latency overlaps.
void khata_crc32c_seal_records(void *records, size_t count, size_t record_size);

/// Whether `khata_crc32c` runs on the hardware instruction (for reports and benchmarks).
int khata_crc32c_is_hardware(void);

/// Names the calling thread (at most 15 bytes are kept), as `top -H` and profilers show it.
void khata_set_thread_name(const char *name);

/// Atomic loads and stores on plain memory shared between the sequencer (the one writer) and
/// reader threads, for the engine's publication policy (`ReleaseAcquire`). Swift's `Atomic` lives
/// only in stored properties, not in raw tables, so the C11 builtins are wrapped here. A release
/// store publishes everything written before it to a thread whose acquire load sees the stored
/// value.
static inline uint64_t khata_load_acquire_u64(const uint64_t *address) {
    return __atomic_load_n(address, __ATOMIC_ACQUIRE);
}

static inline void khata_store_release_u64(uint64_t *address, uint64_t value) {
    __atomic_store_n(address, value, __ATOMIC_RELEASE);
}

static inline uint64_t khata_load_relaxed_u64(const uint64_t *address) {
    return __atomic_load_n(address, __ATOMIC_RELAXED);
}

static inline void khata_store_relaxed_u64(uint64_t *address, uint64_t value) {
    __atomic_store_n(address, value, __ATOMIC_RELAXED);
}

static inline uint32_t khata_load_acquire_u32(const uint32_t *address) {
    return __atomic_load_n(address, __ATOMIC_ACQUIRE);
}

static inline void khata_store_release_u32(uint32_t *address, uint32_t value) {
    __atomic_store_n(address, value, __ATOMIC_RELEASE);
}

static inline uint8_t khata_load_acquire_u8(const uint8_t *address) {
    return __atomic_load_n(address, __ATOMIC_ACQUIRE);
}

static inline void khata_store_release_u8(uint8_t *address, uint8_t value) {
    __atomic_store_n(address, value, __ATOMIC_RELEASE);
}

static inline void *khata_load_acquire_pointer(void *const *address) {
    return __atomic_load_n(address, __ATOMIC_ACQUIRE);
}

static inline void khata_store_release_pointer(void **address, void *value) {
    __atomic_store_n(address, value, __ATOMIC_RELEASE);
}

/// A full fence between a seqlock's version bump and the data it guards (and back).
static inline void khata_fence_acquire(void) { __atomic_thread_fence(__ATOMIC_ACQUIRE); }
static inline void khata_fence_release(void) { __atomic_thread_fence(__ATOMIC_RELEASE); }

#endif
