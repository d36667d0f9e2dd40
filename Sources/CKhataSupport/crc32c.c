// CRC-32C as used by the segment format (docs/FORMAT.md): reflected polynomial 0x82F63B78,
// initial value and final xor 0xFFFFFFFF, so that crc("123456789") == 0xE3069283.
#include "CKhataSupport.h"

#include <string.h>

static uint32_t crc_table[256];
static int crc_table_ready = 0;

static void build_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
        crc_table[n] = c;
    }
    __atomic_store_n(&crc_table_ready, 1, __ATOMIC_RELEASE);
}

static uint32_t crc32c_table(uint32_t crc, const unsigned char *p, size_t length) {
    if (!__atomic_load_n(&crc_table_ready, __ATOMIC_ACQUIRE)) {
        build_table();  // Idempotent: two racing builders write identical values.
    }
    while (length--) {
        crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    }
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *p, size_t length) {
    uint64_t c = crc;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        length -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (length--) {
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    }
    return c32;
}
#endif

int khata_crc32c_is_hardware(void) {
#if defined(__x86_64__)
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
#else
    return 0;
#endif
}

uint32_t khata_crc32c(uint32_t crc, const void *bytes, size_t length) {
    const unsigned char *p = (const unsigned char *)bytes;
    crc = ~crc;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2")) {
        return ~crc32c_sse42(crc, p, length);
    }
#endif
    return ~crc32c_table(crc, p, length);
}

static inline void store_le32(unsigned char *p, uint32_t value) {
    p[0] = (unsigned char)value;
    p[1] = (unsigned char)(value >> 8);
    p[2] = (unsigned char)(value >> 16);
    p[3] = (unsigned char)(value >> 24);
}

#if defined(__x86_64__)
// Four independent CRC chains, one per record: the crc32 instruction has a latency of three
// cycles and a throughput of one, so interleaving keeps it busy.
__attribute__((target("sse4.2")))
static void seal_records_sse42(unsigned char *records, size_t count, size_t record_size) {
    size_t index = 0;
    for (; index + 4 <= count; index += 4) {
        unsigned char *r0 = records + index * record_size;
        unsigned char *r1 = r0 + record_size, *r2 = r1 + record_size, *r3 = r2 + record_size;
        uint64_t c0 = 0xFFFFFFFFu, c1 = 0xFFFFFFFFu, c2 = 0xFFFFFFFFu, c3 = 0xFFFFFFFFu;
        uint32_t w0, w1, w2, w3;
        memcpy(&w0, r0 + 4, 4); memcpy(&w1, r1 + 4, 4); memcpy(&w2, r2 + 4, 4); memcpy(&w3, r3 + 4, 4);
        c0 = __builtin_ia32_crc32si((uint32_t)c0, w0);
        c1 = __builtin_ia32_crc32si((uint32_t)c1, w1);
        c2 = __builtin_ia32_crc32si((uint32_t)c2, w2);
        c3 = __builtin_ia32_crc32si((uint32_t)c3, w3);
        for (size_t offset = 8; offset + 8 <= record_size; offset += 8) {
            uint64_t q0, q1, q2, q3;
            memcpy(&q0, r0 + offset, 8); memcpy(&q1, r1 + offset, 8);
            memcpy(&q2, r2 + offset, 8); memcpy(&q3, r3 + offset, 8);
            c0 = __builtin_ia32_crc32di(c0, q0);
            c1 = __builtin_ia32_crc32di(c1, q1);
            c2 = __builtin_ia32_crc32di(c2, q2);
            c3 = __builtin_ia32_crc32di(c3, q3);
        }
        store_le32(r0, ~(uint32_t)c0);
        store_le32(r1, ~(uint32_t)c1);
        store_le32(r2, ~(uint32_t)c2);
        store_le32(r3, ~(uint32_t)c3);
    }
    for (; index < count; index++) {
        unsigned char *r = records + index * record_size;
        store_le32(r, khata_crc32c(0, r + 4, record_size - 4));
    }
}
#endif

void khata_crc32c_seal_records(void *records, size_t count, size_t record_size) {
    unsigned char *base = (unsigned char *)records;
#if defined(__x86_64__)
    if (record_size % 8 == 0 && record_size >= 16 && __builtin_cpu_supports("sse4.2")) {
        seal_records_sse42(base, count, record_size);
        return;
    }
#endif
    for (size_t index = 0; index < count; index++) {
        unsigned char *r = base + index * record_size;
        store_le32(r, khata_crc32c(0, r + 4, record_size - 4));
    }
}
