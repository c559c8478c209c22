#ifndef PINPIPE_CYAML_SHIM_H
#define PINPIPE_CYAML_SHIM_H
#include <yaml.h>
#endif
