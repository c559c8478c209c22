#ifndef PINPIPE_CZLIB_SHIM_H
#define PINPIPE_CZLIB_SHIM_H
#include <zlib.h>
#endif
