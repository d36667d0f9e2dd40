#include <sqlite3.h>
#include "jobstore_support.h"

// sqlite3_config is variadic, which Swift cannot call.
int khata_sqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
