#ifndef CMEMORY_HINTS_H
#define CMEMORY_HINTS_H

/// Cache hints for the ledger's state, which Swift cannot express: the compiler builtin is not
/// importable, so it is wrapped here. Hints only: no ordering, no atomicity, no effect on values.

/// A read prefetch hint for the cache line holding `address`.
static inline void khata_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// A write prefetch hint for the cache line holding `address`.
static inline void khata_prefetch_for_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
