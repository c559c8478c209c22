#ifndef PINPIPE_CSYSTEMD_SHIM_H
#define PINPIPE_CSYSTEMD_SHIM_H
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#endif
