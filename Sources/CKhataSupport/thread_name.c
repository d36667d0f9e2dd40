// pthread_setname_np needs _GNU_SOURCE, which Swift's Glibc module does not define.
#define _GNU_SOURCE
#include <pthread.h>

#include "CKhataSupport.h"

void khata_set_thread_name(const char *name) {
    char truncated[16];
    int index = 0;
    for (; index < 15 && name[index] != 0; index++) truncated[index] = name[index];
    truncated[index] = 0;
    pthread_setname_np(pthread_self(), truncated);
}
