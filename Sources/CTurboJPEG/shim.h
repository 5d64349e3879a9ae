#ifndef BATCHAUG_CTURBOJPEG_SHIM_H
#define BATCHAUG_CTURBOJPEG_SHIM_H
// libjpeg-turbo's TurboJPEG API: JPEG headers, decoding with DCT scaling (and encoding, for tests).
#include <turbojpeg.h>
#endif
