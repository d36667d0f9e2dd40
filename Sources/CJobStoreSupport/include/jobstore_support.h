#ifndef KHATA_JOBSTORE_SUPPORT_H
#define KHATA_JOBSTORE_SUPPORT_H

/// Turns off SQLite's memory statistics, whose global mutex is taken on every allocation; call
/// before the first connection opens. Returns SQLite's result code (0 for success, 21 when
/// SQLite is already initialized).
int khata_sqlite_disable_memory_statistics(void);

#endif
