#ifndef PINPIPE_CLIBPQ_SHIM_H
#define PINPIPE_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
